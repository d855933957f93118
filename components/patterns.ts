/**
 * The EventBridge patterns of the css stack, as plain functions of plain values tested on their
 * own against moto's EventBridge matcher: the push that starts a sync
 * (test/unit/patterns.test.ts), and the failed command that pages a person
 * (test/unit/stack-alerts.test.ts).
 */
import { isDocumentName, isRepositoryName } from "../common/naming";

/**
 * Matches ECR's "ECR Image Action" events for a successful PUSH to one of `sourceRepositories`
 * that carries a non-empty `image-tag`.
 *
 * Why `anything-but [""]` on image-tag: ECR sends one event per manifest it stores. A multi-arch
 * push stores each per-platform manifest by digest first, and those events have no `image-tag`
 * field; only the index pushed under the tag has one. EventBridge never matches a pattern field
 * against a field the event lacks (only `exists: false` does), so `anything-but [""]` means
 * "present and not empty" — the untagged per-platform events are skipped and the tagged push, whose
 * copy carries every platform, triggers exactly one sync. `exists: true` alone would let an empty
 * tag through.
 */
export function pushEventPattern(sourceRepositories: string[]): Record<string, unknown> {
  if (!Array.isArray(sourceRepositories) || sourceRepositories.length === 0) {
    throw new Error(
      `sourceRepositories: expected a non-empty list of ECR repository names, got ${JSON.stringify(sourceRepositories)}`,
    );
  }
  const seen = new Set<string>();
  sourceRepositories.forEach((name, index) => {
    if (!isRepositoryName(name)) {
      throw new Error(
        `sourceRepositories[${index}]: ${JSON.stringify(name)} is not a valid ECR repository name`,
      );
    }
    if (seen.has(name)) {
      throw new Error(
        `sourceRepositories[${index}]: ${JSON.stringify(name)} is listed twice; list each repository once`,
      );
    }
    seen.add(name);
  });
  return {
    source: ["aws.ecr"],
    "detail-type": ["ECR Image Action"],
    detail: {
      "action-type": ["PUSH"],
      result: ["SUCCESS"],
      "repository-name": [...seen].sort(),
      "image-tag": [{ "anything-but": [""] }],
    },
  };
}

/** The command statuses that page a person. Success, and the transient ones, do not. */
export const FAILED_COMMAND_STATUSES = ["Cancelled", "Failed", "TimedOut"] as const;

/**
 * Matches SSM's command-level status events ("EC2 Command Status-change Notification", detail
 * `document-name` and `status`) for commands of `documentNames` that ended Failed, TimedOut or
 * Cancelled. One event per command (the invocation-level events would repeat it per instance).
 */
export function commandFailureEventPattern(documentNames: string[]): Record<string, unknown> {
  if (!Array.isArray(documentNames) || documentNames.length === 0) {
    throw new Error(
      `documentNames: expected a non-empty list of SSM document names, got ${JSON.stringify(documentNames)}`,
    );
  }
  documentNames.forEach((name, index) => {
    if (typeof name !== "string" || !isDocumentName(name)) {
      throw new Error(
        `documentNames[${index}]: ${JSON.stringify(name)} is not an SSM document name (3–128 of letters, digits, _ . -)`,
      );
    }
  });
  return {
    source: ["aws.ssm"],
    "detail-type": ["EC2 Command Status-change Notification"],
    detail: {
      "document-name": [...new Set(documentNames)].sort(),
      status: [...FAILED_COMMAND_STATUSES],
    },
  };
}

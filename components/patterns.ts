/**
 * The EventBridge pattern that starts a sync: a successful, tagged push to one of the mapped
 * source repositories. A plain function of plain values, tested on its own
 * (test/unit/patterns.test.ts, including against moto's EventBridge matcher).
 */
import { isRepositoryName } from "./naming";

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
      throw new Error(`sourceRepositories[${index}]: ${JSON.stringify(name)} is not a valid ECR repository name`);
    }
    if (seen.has(name)) {
      throw new Error(`sourceRepositories[${index}]: ${JSON.stringify(name)} is listed twice; list each repository once`);
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

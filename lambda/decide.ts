import type { SendCommandCommandInput } from "@aws-sdk/client-ssm";
import type { EventBridgeEvent } from "aws-lambda";
import {
  ECR_IMAGE_TAG_MAX_LENGTH,
  IMAGE_TAG_MAX_LENGTH,
  isImageDigest,
  isImageTag,
  isOverlongImageTag,
  isRepositoryName,
  isUtcTimestamp,
} from "../common/naming";
import { shown } from "../common/shown";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS, SYNC_PARAMETERS } from "../common/ssm-command";
import type { SyncConfig } from "./config";

/** The `detail` of an "ECR Image Action" event, as AWS's ECR documentation shows it. */
export interface EcrImageActionDetail {
  readonly result: "SUCCESS" | "FAILURE";
  readonly "repository-name": string;
  readonly "image-digest": string;
  readonly "action-type": "PUSH" | "DELETE";
  /** Absent on an untagged push (the per-platform manifests of a multi-arch push). */
  readonly "image-tag"?: string;
  readonly "manifest-media-type"?: string;
  readonly "artifact-media-type"?: string;
}

export type EcrImageActionEvent = EventBridgeEvent<"ECR Image Action", EcrImageActionDetail>;

/** What one sync command copies: source repository:tag@digest → target repository:tag. */
export interface SyncRequest {
  readonly sourceRepository: string;
  readonly targetRepository: string;
  readonly tag: string;
  readonly digest: string;
  /**
   * The event's `time` (when ECR finished the push), when it is a valid ISO-8601 UTC time;
   * otherwise absent, and the copy runs without a latency figure. Never a reason to skip a push.
   */
  readonly pushedAt?: string;
}

/** The event's own values, for the log line; bounded in length, never trusted. */
export interface DecisionFields {
  readonly repository: string | null;
  readonly tag: string | null;
  readonly digest: string | null;
}

export type Decision =
  | {
      readonly decision: "send";
      readonly reason: string;
      readonly request: SyncRequest;
      readonly fields: DecisionFields;
    }
  | { readonly decision: "skipped"; readonly reason: string; readonly fields: DecisionFields }
  | { readonly decision: "unsupported"; readonly reason: string; readonly fields: DecisionFields }
  | { readonly decision: "invalid"; readonly reason: string; readonly fields: DecisionFields };

/** SendCommand's Comment allows at most 100 characters. */
export const COMMENT_MAX_LENGTH = 100;

const EXPECTED_DETAIL_TYPE = "ECR Image Action";
const EXPECTED_SOURCE = "aws.ecr";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value from the event as it may appear in a log line: strings kept (cut at 300), others shown. */
function loggable(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value.length > 300 ? `${value.slice(0, 297)}...` : value;
  return shown(value);
}

/**
 * Decides what one event means, without side effects. Only a successful PUSH of a tagged image
 * to a mapped repository, with a repository name, tag and digest that ECR itself would accept,
 * becomes a request; everything else is skipped (expected, nothing to do), unsupported (a real
 * push whose tag no image reference can carry, so no copy can name it) or invalid (the event is
 * not what ECR sends; retrying would not help).
 */
export function decide(event: unknown, repositoryMap: ReadonlyMap<string, string>): Decision {
  const detail = isRecord(event) && isRecord(event.detail) ? event.detail : undefined;
  const fields: DecisionFields = {
    repository: loggable(detail?.["repository-name"]),
    tag: loggable(detail?.["image-tag"]),
    digest: loggable(detail?.["image-digest"]),
  };
  const skipped = (reason: string): Decision => ({ decision: "skipped", reason, fields });
  const unsupported = (reason: string): Decision => ({ decision: "unsupported", reason, fields });
  const invalid = (reason: string): Decision => ({ decision: "invalid", reason, fields });

  if (!isRecord(event)) return invalid(`the event is not a JSON object (got ${shown(event)})`);
  if (event["detail-type"] !== EXPECTED_DETAIL_TYPE) {
    return invalid(`detail-type is ${shown(event["detail-type"])}, not "${EXPECTED_DETAIL_TYPE}"`);
  }
  if (event.source !== EXPECTED_SOURCE)
    return invalid(`source is ${shown(event.source)}, not "${EXPECTED_SOURCE}"`);
  if (detail === undefined) return invalid("the event has no detail object");

  const result = detail.result;
  const actionType = detail["action-type"];
  if (typeof result !== "string") return invalid(`detail.result is ${shown(result)}, not a string`);
  if (typeof actionType !== "string")
    return invalid(`detail.action-type is ${shown(actionType)}, not a string`);
  if (result !== "SUCCESS")
    return skipped(`result is ${shown(result)}: nothing was stored, so nothing to copy`);
  if (actionType === "DELETE") return skipped("a DELETE: deletions are not mirrored to the target");
  if (actionType !== "PUSH") return skipped(`action-type ${shown(actionType)} is not a PUSH`);

  const repository = detail["repository-name"];
  if (!isRepositoryName(repository)) {
    return invalid(`repository-name ${shown(repository)} is not a valid ECR repository name`);
  }
  const targetRepository = repositoryMap.get(repository);
  if (targetRepository === undefined) {
    return skipped(`repository ${shown(repository)} is not in REPOSITORY_MAP`);
  }

  const tag = detail["image-tag"];
  if (tag === undefined || tag === null || tag === "") {
    return skipped(
      "an untagged push (a platform manifest of a multi-arch image; its tagged index brings it along)",
    );
  }
  if (!isImageTag(tag) && !isOverlongImageTag(tag)) {
    return invalid(`image-tag ${shown(tag)} is not a valid image tag`);
  }

  const digest = detail["image-digest"];
  if (!isImageDigest(digest)) {
    return invalid(
      `image-digest ${shown(digest)} is not a sha256 digest (sha256: and 64 lowercase hex digits)`,
    );
  }
  // An overlong tag (common/naming.ts): ECR took it, no copy can name it. The copier's word for
  // such a tag, for the same reason (its reconcile's `unsupported` line).
  if (tag.length > IMAGE_TAG_MAX_LENGTH) {
    return unsupported(
      `the tag has ${tag.length} characters, longer than an image reference can carry (${IMAGE_TAG_MAX_LENGTH}; ECR accepts up to ${ECR_IMAGE_TAG_MAX_LENGTH}), so the image is not copied (push it under a shorter tag as well)`,
    );
  }

  // Only for the latency figure: a missing or malformed time is dropped, never a reason to skip.
  const pushedAt = isUtcTimestamp(event.time) ? event.time : undefined;
  return {
    decision: "send",
    reason: `a push to ${repository}, mapped to ${targetRepository}`,
    request: {
      sourceRepository: repository,
      targetRepository,
      tag,
      digest,
      ...(pushedAt ? { pushedAt } : {}),
    },
    fields,
  };
}

/** "ecr-sync kuali-coeus:2403.0001 -> coeus", cut to SendCommand's 100-character limit. */
export function commandComment(request: SyncRequest): string {
  const comment = `ecr-sync ${request.sourceRepository}:${request.tag} -> ${request.targetRepository}`;
  return comment.length > COMMENT_MAX_LENGTH ? `${comment.slice(0, COMMENT_MAX_LENGTH - 3)}...` : comment;
}

/** The SendCommand input for one request: one instance, the sync document, typed parameters. */
export function sendCommandInput(
  config: Pick<SyncConfig, "instanceId" | "documentName" | "logGroupName">,
  request: SyncRequest,
): SendCommandCommandInput {
  return {
    InstanceIds: [config.instanceId],
    DocumentName: config.documentName,
    Comment: commandComment(request),
    TimeoutSeconds: COMMAND_DELIVERY_TIMEOUT_SECONDS,
    Parameters: {
      [SYNC_PARAMETERS.sourceRepository]: [request.sourceRepository],
      [SYNC_PARAMETERS.targetRepository]: [request.targetRepository],
      [SYNC_PARAMETERS.tag]: [request.tag],
      [SYNC_PARAMETERS.digest]: [request.digest],
      // Left out without a valid push time: the document's default ("") then copies without latency.
      ...(request.pushedAt === undefined ? {} : { [SYNC_PARAMETERS.pushedAt]: [request.pushedAt] }),
    },
    CloudWatchOutputConfig: {
      CloudWatchOutputEnabled: true,
      CloudWatchLogGroupName: config.logGroupName,
    },
  };
}

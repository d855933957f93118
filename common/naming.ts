/**
 * ECR's naming rules, and the AWS names around them, in one place. The push trigger (lambda/),
 * the SSM document's allowedPatterns, the IAM policy helpers and the config checks
 * (components/config.ts) all validate against these, and so does the copier (ec2-scripts/copier
 * config.ts: repository, tag, digest, push time, registry, role ARN, region):
 * test/unit/contracts.test.ts runs them on a table of good and bad values.
 *
 * Sources: ECR CreateRepository `repositoryName` (2–256 characters,
 * `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`), the distribution
 * reference grammar for tags (`[\w][\w.-]{0,127}`, which skopeo enforces), and OCI digests
 * as ECR reports them (`sha256:` + 64 lowercase hex digits).
 */

/** Anchored pattern for an ECR repository name (length is checked separately). */
export const REPOSITORY_NAME_PATTERN = "^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$";
export const REPOSITORY_NAME_MIN_LENGTH = 2;
export const REPOSITORY_NAME_MAX_LENGTH = 256;

/** Anchored pattern for an image tag: 1–128 characters, no leading '.' or '-'. */
export const IMAGE_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

/**
 * The most characters a tag can have in an image reference, and the most ECR accepts. The two
 * differ: ECR's API takes an `imageTag` of 1–300 characters (API reference, ImageIdentifier:
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageIdentifier.html), while the
 * OCI distribution spec says a tag "MUST be at most 128 characters in length and MUST match
 * `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`" (spec.md, "Pulling manifests":
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests), which
 * skopeo enforces. So a tag of 129–300 characters can be pushed to ECR but not named in a copy:
 * the copier's reconcile reports such a tag `unsupported` (ec2-scripts/copier/reconcile.ts), and
 * so does the push trigger (lambda/decide.ts).
 */
export const IMAGE_TAG_MAX_LENGTH = 128;
export const ECR_IMAGE_TAG_MAX_LENGTH = 300;

/** Anchored pattern for an image digest as ECR reports it. */
export const IMAGE_DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$";

/** Anchored pattern for a 12-digit AWS account id. */
/** A 12-digit AWS account id, unanchored so that ARN patterns can embed it. */
export const ACCOUNT_ID = "[0-9]{12}";
export const ACCOUNT_ID_PATTERN = `^${ACCOUNT_ID}$`;

/** An EC2 instance id: `i-` and 8 (older instances) or 17 lowercase hex digits; unanchored. */
export const INSTANCE_ID = "i-(?:[0-9a-f]{8}|[0-9a-f]{17})";

/** The name of an SSM document of one's own account: 3–128 of letters, digits, _ . -; unanchored. */
export const DOCUMENT_NAME = "[\\w.-]{3,128}";

/** A CloudWatch Logs log group name: 1–512 of letters, digits, _ - / . #; unanchored. */
export const LOG_GROUP_NAME = "[\\w#/.-]{1,512}";

/** An AWS region name, unanchored so that ARN patterns can embed it (us-east-1, us-gov-west-1). */
export const REGION_NAME = "[a-z]{2}(?:-[a-z]+)+-[0-9]";
export const REGION_PATTERN = `^${REGION_NAME}$`;

/** Anchored pattern for an IAM role name: 1–64 of letters, digits and + = , . @ _ -. */
export const ROLE_NAME_PATTERN = "^[\\w+=,.@-]{1,64}$";

/** arn:aws:iam::ACCOUNT:role/[PATH/]NAME; groups: account, path, name. */
export const ROLE_ARN_PATTERN = "^arn:aws:iam::([0-9]{12}):role/((?:[\\w+=,.@-]+/)*)([\\w+=,.@-]{1,64})$";

/** One DNS label: letters, digits and '-', not at either end. */
const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";

/**
 * Anchored pattern for a registry as the copier takes it, host[:port] (ACCOUNT.dkr.ecr.REGION.amazonaws.com,
 * or 127.0.0.1:5000 in the local tests). The port has no leading zero; its range is checked separately.
 */
export const REGISTRY_PATTERN = `^${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::[1-9][0-9]{0,4})?$`;
export const REGISTRY_MAX_PORT = 65535;

/**
 * A point in time as EventBridge stamps an event (`time`, when ECR finished the push): ISO-8601
 * in UTC, seconds required, an optional fraction, and `Z`. Nothing else (no offset, no space, no
 * quote), so it is safe in the SSM document's command line. Unanchored, so that the document
 * can make it optional; UTC_TIMESTAMP_PATTERN is the anchored one.
 */
export const UTC_TIMESTAMP = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,9})?Z";
export const UTC_TIMESTAMP_PATTERN = `^${UTC_TIMESTAMP}$`;

const repositoryName = new RegExp(REPOSITORY_NAME_PATTERN);
const imageTag = new RegExp(IMAGE_TAG_PATTERN);
const imageDigest = new RegExp(IMAGE_DIGEST_PATTERN);
const accountId = new RegExp(ACCOUNT_ID_PATTERN);
const region = new RegExp(REGION_PATTERN);
const roleName = new RegExp(ROLE_NAME_PATTERN);
const roleArn = new RegExp(ROLE_ARN_PATTERN);
const registry = new RegExp(REGISTRY_PATTERN);
const utcTimestamp = new RegExp(UTC_TIMESTAMP_PATTERN);
/** IMAGE_TAG_PATTERN's characters, but IMAGE_TAG_MAX_LENGTH + 1 to ECR_IMAGE_TAG_MAX_LENGTH of them. */
const overlongImageTag = new RegExp(
  `^[A-Za-z0-9_][A-Za-z0-9_.-]{${IMAGE_TAG_MAX_LENGTH},${ECR_IMAGE_TAG_MAX_LENGTH - 1}}$`,
);

export function isRepositoryName(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length >= REPOSITORY_NAME_MIN_LENGTH &&
    value.length <= REPOSITORY_NAME_MAX_LENGTH &&
    repositoryName.test(value)
  );
}

export function isImageTag(value: unknown): value is string {
  return typeof value === "string" && imageTag.test(value);
}

/**
 * A tag ECR accepts that no image reference can carry: longer than IMAGE_TAG_MAX_LENGTH, at most
 * ECR_IMAGE_TAG_MAX_LENGTH, and otherwise an image tag's characters. Not a tag over 300 (ECR
 * refuses it, so an event carrying one is not ECR's), nor one with other characters (never passed
 * on, whatever its length): the push trigger keeps both invalid.
 */
export function isOverlongImageTag(value: unknown): value is string {
  return typeof value === "string" && overlongImageTag.test(value);
}

/**
 * A referrers tag: `sha256-HEX`, the tag under which a client keeps the index of an image's
 * referrers (signatures, SBOMs) where a registry has no referrers API (OCI distribution spec 1.1,
 * "Referrers Tag Schema"). An index of referrers, not an image.
 */
export function isReferrersTag(tag: string): boolean {
  return /^sha256-[0-9a-f]{64}$/.test(tag);
}

/** The referrers tag of image `digest` (sha256:HEX → sha256-HEX). */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** The image a referrers tag names (sha256-HEX → sha256:HEX). */
export function referrersSubject(tag: string): string {
  return tag.replace("-", ":");
}

export function isImageDigest(value: unknown): value is string {
  return typeof value === "string" && imageDigest.test(value);
}

/**
 * A UTC_TIMESTAMP_PATTERN string that is also a real date and time: no 2026-02-30, no second 60
 * (JavaScript's Date would roll either over; the copier's --pushed-at refuses both).
 */
export function isUtcTimestamp(value: unknown): value is string {
  if (typeof value !== "string" || !utcTimestamp.test(value)) return false;
  const parsed = new Date(value);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === value.slice(0, 19);
}

export function isAccountId(value: unknown): value is string {
  return typeof value === "string" && accountId.test(value);
}

export function isRegion(value: unknown): value is string {
  return typeof value === "string" && region.test(value);
}

export function isRoleName(value: unknown): value is string {
  return typeof value === "string" && roleName.test(value);
}

/** host[:port] with a port of 1–65535. */
export function isRegistry(value: unknown): value is string {
  if (typeof value !== "string" || !registry.test(value)) return false;
  const port = value.split(":")[1];
  return port === undefined || Number(port) <= REGISTRY_MAX_PORT;
}

/** The account and name of an IAM role ARN, or `undefined` when `value` is not one. */
export function parseRoleArn(value: unknown): { arn: string; accountId: string; name: string } | undefined {
  const match = typeof value === "string" ? roleArn.exec(value) : null;
  return match === null ? undefined : { arn: match[0], accountId: match[1], name: match[3] };
}

const instanceId = new RegExp(`^${INSTANCE_ID}$`);
const documentName = new RegExp(`^${DOCUMENT_NAME}$`);
/** What SendCommand's DocumentName takes: a document's name, or its ARN. */
const documentReference = new RegExp(
  `^(?:arn:aws:ssm:${REGION_NAME}:(?:${ACCOUNT_ID})?:document/)?${DOCUMENT_NAME}$`,
);
const logGroupName = new RegExp(`^${LOG_GROUP_NAME}$`);

export function isInstanceId(value: unknown): value is string {
  return typeof value === "string" && instanceId.test(value);
}

export function isDocumentName(value: unknown): value is string {
  return typeof value === "string" && documentName.test(value);
}

/** A document as SendCommand names it: its name, or its ARN (a shared document). */
export function isDocumentReference(value: unknown): value is string {
  return typeof value === "string" && documentReference.test(value);
}

export function isLogGroupName(value: unknown): value is string {
  return typeof value === "string" && logGroupName.test(value);
}

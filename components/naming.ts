/**
 * ECR's naming rules, in one place. The push trigger (lambda/), the SSM document's
 * allowedPatterns (components/) and the config checks (index.ts) all validate against these,
 * and ec2-scripts/ecr-sync.sh carries the same expressions in bash.
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

/** Anchored pattern for an image digest as ECR reports it. */
export const IMAGE_DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$";

/** Anchored pattern for a 12-digit AWS account id. */
export const ACCOUNT_ID_PATTERN = "^[0-9]{12}$";

const repositoryName = new RegExp(REPOSITORY_NAME_PATTERN);
const imageTag = new RegExp(IMAGE_TAG_PATTERN);
const imageDigest = new RegExp(IMAGE_DIGEST_PATTERN);
const accountId = new RegExp(ACCOUNT_ID_PATTERN);

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

export function isImageDigest(value: unknown): value is string {
  return typeof value === "string" && imageDigest.test(value);
}

export function isAccountId(value: unknown): value is string {
  return typeof value === "string" && accountId.test(value);
}

/**
 * The names of the sync document's parameters. The push trigger sends them, the SSM document
 * declares them, and the document passes each to ecr-sync.sh as the flag of the same meaning
 * (`--source-repository`, `--target-repository`, `--tag`, `--digest`).
 */
export const SYNC_PARAMETERS = {
  sourceRepository: "sourceRepository",
  targetRepository: "targetRepository",
  tag: "tag",
  digest: "digest",
} as const;

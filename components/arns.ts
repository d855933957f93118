/**
 * The ARN grammar of ecr-sync: how to build the ARNs the stacks name (repositoryArn, roleArn), and
 * the argument checks the policy documents (components/policies.ts) run on the ARNs they are fed.
 * Each check throws an Error naming the argument and the value, and says what a valid one looks like.
 */
import {
  ACCOUNT_ID,
  DOCUMENT_NAME,
  INSTANCE_ID,
  isAccountId,
  isRegion,
  isRepositoryName,
  isRoleName,
  parseRoleArn,
  LOG_GROUP_NAME,
  REGION_NAME,
} from "../common/naming";

/** The partition every ARN here is in: ecr-sync runs in the commercial partition only. */
export const PARTITION = "aws";
const REGION = REGION_NAME;
const ACCOUNT = ACCOUNT_ID;

/** arn:aws:ecr:REGION:ACCOUNT:repository/NAME (the name is checked against ECR's rules separately). */
const REPOSITORY_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:ecr:(${REGION}):(${ACCOUNT}):repository/(.+)$`);
/** arn:aws:logs:REGION:ACCOUNT:log-group:NAME, with or without the ":*" some tools append. */
const LOG_GROUP_ARN_PATTERN = new RegExp(
  `^(arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP_NAME})(?::\\*)?$`,
);
/** arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME (group 1: the account). */
const SCHEDULE_GROUP_ARN_PATTERN = new RegExp(
  `^arn:${PARTITION}:scheduler:${REGION}:(${ACCOUNT}):schedule-group/[\\w.-]{1,64}$`,
);

/** A kind of ARN the policies take: how to recognise one, and how an error names it. */
export interface ArnKind {
  readonly pattern: RegExp;
  /** "an SQS queue ARN": the name of one, with its article. */
  readonly one: string;
  /** What a valid one looks like, for the error message. */
  readonly shape: string;
}

function arnKind(one: string, shape: string, pattern: string): ArnKind {
  return { one, shape, pattern: new RegExp(`^arn:${PARTITION}:${pattern}$`) };
}

/** A document of this account, not an AWS-owned one (those have an empty account field). */
export const DOCUMENT_ARN = arnKind(
  "an SSM document ARN of this account",
  "arn:aws:ssm:REGION:ACCOUNT:document/NAME",
  `ssm:${REGION}:${ACCOUNT}:document/${DOCUMENT_NAME}`,
);
/** Instance ids have 8 or 17 hex digits; no wildcard. */
export const INSTANCE_ARN = arnKind(
  "an EC2 instance ARN",
  "arn:aws:ec2:REGION:ACCOUNT:instance/i-…",
  `ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE_ID}`,
);
export const QUEUE_ARN = arnKind(
  "an SQS queue ARN",
  "arn:aws:sqs:REGION:ACCOUNT:NAME",
  `sqs:${REGION}:${ACCOUNT}:[\\w-]{1,80}`,
);
export const TOPIC_ARN = arnKind(
  "an SNS topic ARN",
  "arn:aws:sns:REGION:ACCOUNT:NAME",
  `sns:${REGION}:${ACCOUNT}:[\\w-]{1,256}`,
);
/** A rule on the default bus. */
export const RULE_ARN = arnKind(
  "an EventBridge rule ARN",
  "arn:aws:events:REGION:ACCOUNT:rule/NAME",
  `events:${REGION}:${ACCOUNT}:rule/[\\w.-]{1,64}`,
);
export const ALARM_ARN = arnKind(
  "a CloudWatch alarm ARN",
  "arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME",
  `cloudwatch:${REGION}:${ACCOUNT}:alarm:[^:*]{1,255}`,
);

/** Sorted, each value once: lists in a document stay byte-identical whatever order they came in. */
export function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** A value as the argument checks quote it: strings JSON-quoted, in full. */
export function quoted(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

export function requireString(argument: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`${argument}: expected a non-empty string, got ${quoted(value)}`);
  }
  return value;
}

export function requireAccountId(argument: string, value: unknown): string {
  if (!isAccountId(value)) {
    throw new Error(`${argument}: ${quoted(value)} is not an AWS account id (12 digits)`);
  }
  return value;
}

export function requireRoleArn(argument: string, value: unknown): { arn: string; accountId: string } {
  const role = parseRoleArn(requireString(argument, value));
  if (role === undefined) {
    throw new Error(`${argument}: ${quoted(value)} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  }
  return role;
}

/** A non-empty list of role ARNs, sorted, each once. */
export function requireRoleArns(argument: string, values: unknown): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw new Error(`${argument}: expected a non-empty list of IAM role ARNs, got ${JSON.stringify(values)}`);
  }
  return sortedUnique(values.map((arn, index) => requireRoleArn(`${argument}[${index}]`, arn).arn));
}

/** A non-empty list of ECR repository ARNs, each once (a repeat is an error), sorted. */
export function requireRepositoryArns(argument: string, values: unknown): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw new Error(
      `${argument}: expected a non-empty list of ECR repository ARNs, got ${JSON.stringify(values)}`,
    );
  }
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const name = `${argument}[${index}]`;
    const match = REPOSITORY_ARN_PATTERN.exec(requireString(name, value));
    if (!match || !isRepositoryName(match[3])) {
      throw new Error(
        `${name}: ${quoted(value)} is not an ECR repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME, NAME as ECR allows it)`,
      );
    }
    if (seen.has(value))
      throw new Error(`${name}: ${quoted(value)} is listed twice; list each repository once`);
    seen.add(value);
  });
  return [...seen].sort();
}

/** A log group's ARN, returned without the trailing ":*" some tools add. */
export function requireLogGroupArn(argument: string, value: unknown): string {
  const match = LOG_GROUP_ARN_PATTERN.exec(requireString(argument, value));
  if (!match) {
    throw new Error(
      `${argument}: ${quoted(value)} is not a CloudWatch Logs log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)`,
    );
  }
  return match[1];
}

/** An EventBridge Scheduler schedule group's ARN, and the account it is in. */
export function requireScheduleGroupArn(
  argument: string,
  value: unknown,
): { arn: string; accountId: string } {
  const match = SCHEDULE_GROUP_ARN_PATTERN.exec(requireString(argument, value));
  if (!match) {
    throw new Error(
      `${argument}: ${quoted(value)} is not an EventBridge Scheduler schedule group ARN (arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME)`,
    );
  }
  return { arn: match[0], accountId: match[1] };
}

/** An EC2 instance's ARN (INSTANCE_ARN), and the account it is in. */
export function requireInstanceArn(argument: string, value: unknown): { arn: string; accountId: string } {
  const arn = requireArn(argument, value, INSTANCE_ARN);
  return { arn, accountId: arn.split(":")[4] };
}

export function requireArn(argument: string, value: unknown, kind: ArnKind): string {
  if (!kind.pattern.test(requireString(argument, value))) {
    throw new Error(`${argument}: ${quoted(value)} is not ${kind.one} (${kind.shape})`);
  }
  return value as string;
}

/** A non-empty list of ARNs of one kind, sorted, each once. */
export function requireArns(argument: string, values: unknown, kind: ArnKind): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    const many = `${kind.one.replace(/^an? /, "")}s`;
    throw new Error(
      `${argument}: expected a non-empty list of ${many} (${kind.shape}), got ${JSON.stringify(values)}`,
    );
  }
  return sortedUnique(values.map((value, index) => requireArn(`${argument}[${index}]`, value, kind)));
}

/** arn:aws:ecr:REGION:ACCOUNT:repository/NAME */
export function repositoryArn(accountId: string, region: string, name: string): string {
  requireAccountId("accountId", accountId);
  if (!isRegion(region)) {
    throw new Error(`region: ${quoted(region)} is not an AWS region name (e.g. us-east-1)`);
  }
  if (!isRepositoryName(name)) {
    throw new Error(`name: ${quoted(name)} is not a valid ECR repository name`);
  }
  return `arn:${PARTITION}:ecr:${region}:${accountId}:repository/${name}`;
}

/** arn:aws:iam::ACCOUNT:role/NAME */
export function roleArn(accountId: string, name: string): string {
  requireAccountId("accountId", accountId);
  if (!isRoleName(name)) {
    throw new Error(`name: ${quoted(name)} is not a valid IAM role name (1–64 of A-Z a-z 0-9 + = , . @ _ -)`);
  }
  return `arn:${PARTITION}:iam::${accountId}:role/${name}`;
}

/** arn:aws:iam::ACCOUNT:root: the account as a principal (its identity policies decide who in it may act). */
export function accountRootArn(accountId: string): string {
  return `arn:${PARTITION}:iam::${accountId}:root`;
}

/**
 * A general purpose bucket's name as S3 accepts it: 3 to 63 of lower-case letters, digits, `.` and
 * `-`, starting and ending with a letter or digit, no `..`, not shaped like an IP address
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). No `*` or `?`:
 * a bucket name written into a policy's Resource must not widen it.
 */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function requireBucketName(argument: string, value: unknown): string {
  if (typeof value !== "string" || !BUCKET_NAME.test(value)) {
    throw new Error(
      `${argument}: ${quoted(value)} is not an S3 bucket name (3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit)`,
    );
  }
  return value;
}

/** arn:aws:s3:::BUCKET: S3 bucket ARNs have neither region nor account. */
export function bucketArn(bucket: string): string {
  return `arn:${PARTITION}:s3:::${requireBucketName("bucket", bucket)}`;
}

/**
 * The copier's bundles live under this prefix of its bucket, one object per version, named by the
 * sha256 of its bytes (copierObjectKey): the worker may read this prefix and nothing else of S3.
 */
export const COPIER_KEY_PREFIX = "copier/";

/** `copier/<sha256>.cjs`: the key of the bundle whose bytes have that sha256 (64 lower-case hex digits). */
export function copierObjectKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256))
    throw new Error(`sha256: ${quoted(sha256)} is not a SHA-256 in hex (64 of 0-9 a-f)`);
  return `${COPIER_KEY_PREFIX}${sha256}.cjs`;
}

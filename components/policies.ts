/**
 * The IAM documents of ecr-sync, as plain functions of plain values: who may do what, and
 * nothing more. The components (SourceSync, TargetRole) feed them resolved ARNs and serialise the
 * result; the tests evaluate the result the way IAM does (test/unit/policies.test.ts) and have
 * moto's IAM parse it (test/integration/policy-grammar.test.ts).
 *
 * Every function checks its input and throws an Error naming the argument and the value, and
 * every document is deterministic: fixed statement order, fixed Sids, sorted actions and
 * resources, so a re-run renders byte-identical JSON and diffs stay quiet.
 *
 * Why each permission is here, and why a few sit on Resource "*": docs/decisions/0002-least-privilege.md.
 */
import {
  isAccountId,
  isRegion,
  isRepositoryName,
  isRoleName,
  parseRoleArn,
  REGION_NAME,
} from "../common/naming";

export type PrincipalValue =
  "*" | { AWS?: string | string[]; Service?: string | string[]; Federated?: string | string[] };

/** Condition operator → condition key → value(s), e.g. { ArnEquals: { "aws:PrincipalArn": "arn:…" } }. */
export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  Principal?: PrincipalValue;
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

const PARTITION = "aws";
const REGION = REGION_NAME;
const ACCOUNT = "[0-9]{12}";

/** arn:aws:ecr:REGION:ACCOUNT:repository/NAME (the name is checked against ECR's rules separately). */
const REPOSITORY_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:ecr:(${REGION}):(${ACCOUNT}):repository/(.+)$`);
/** arn:aws:logs:REGION:ACCOUNT:log-group:NAME, with or without the ":*" some tools append. */
const LOG_GROUP_ARN_PATTERN = new RegExp(
  `^(arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:[\\w#/.-]{1,512})(?::\\*)?$`,
);
/** A kind of ARN the policies take: how to recognise one, and how an error names it. */
interface ArnKind {
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
const DOCUMENT_ARN = arnKind(
  "an SSM document ARN of this account",
  "arn:aws:ssm:REGION:ACCOUNT:document/NAME",
  `ssm:${REGION}:${ACCOUNT}:document/[\\w.-]{3,128}`,
);
/** Instance ids have 8 or 17 hex digits; no wildcard. */
const INSTANCE_ARN = arnKind(
  "an EC2 instance ARN",
  "arn:aws:ec2:REGION:ACCOUNT:instance/i-…",
  `ec2:${REGION}:${ACCOUNT}:instance/i-(?:[0-9a-f]{8}|[0-9a-f]{17})`,
);
const QUEUE_ARN = arnKind(
  "an SQS queue ARN",
  "arn:aws:sqs:REGION:ACCOUNT:NAME",
  `sqs:${REGION}:${ACCOUNT}:[\\w-]{1,80}`,
);
const TOPIC_ARN = arnKind(
  "an SNS topic ARN",
  "arn:aws:sns:REGION:ACCOUNT:NAME",
  `sns:${REGION}:${ACCOUNT}:[\\w-]{1,256}`,
);
/** A rule on the default bus. */
const RULE_ARN = arnKind(
  "an EventBridge rule ARN",
  "arn:aws:events:REGION:ACCOUNT:rule/NAME",
  `events:${REGION}:${ACCOUNT}:rule/[\\w.-]{1,64}`,
);
const ALARM_ARN = arnKind(
  "a CloudWatch alarm ARN",
  "arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME",
  `cloudwatch:${REGION}:${ACCOUNT}:alarm:[^:*]{1,255}`,
);
/** arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME (group 1: the account). */
const SCHEDULE_GROUP_ARN_PATTERN = new RegExp(
  `^arn:${PARTITION}:scheduler:${REGION}:(${ACCOUNT}):schedule-group/[\\w.-]{1,64}$`,
);

/** ECR's pull actions: what skopeo needs to read an image (manifests, then layers). */
const ECR_PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
];
/** ECR's push actions: what skopeo needs to write an image (layers, then the manifest). */
const ECR_PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:CompleteLayerUpload",
  "ecr:InitiateLayerUpload",
  "ecr:PutImage",
  "ecr:UploadLayerPart",
];
/** What the copier asks ECR about a repository: does it exist, which tags and digests it holds. */
const ECR_DESCRIBE_ACTIONS = ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages"];

function getAuthorizationToken(): PolicyStatement {
  // GetAuthorizationToken authorizes a whole registry and takes no resource: "*" is the only valid value.
  return {
    Sid: "GetEcrAuthorizationToken",
    Effect: "Allow",
    Action: "ecr:GetAuthorizationToken",
    Resource: "*",
  };
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function document(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

function quoted(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function requireString(argument: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`${argument}: expected a non-empty string, got ${quoted(value)}`);
  }
  return value;
}

function requireAccountId(argument: string, value: unknown): string {
  if (!isAccountId(value)) {
    throw new Error(`${argument}: ${quoted(value)} is not an AWS account id (12 digits)`);
  }
  return value;
}

function requireRoleArn(argument: string, value: unknown): { arn: string; accountId: string } {
  const role = parseRoleArn(requireString(argument, value));
  if (role === undefined) {
    throw new Error(`${argument}: ${quoted(value)} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  }
  return role;
}

function requireRepositoryArns(argument: string, values: unknown): string[] {
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

function requireLogGroupArn(argument: string, value: unknown): string {
  const match = LOG_GROUP_ARN_PATTERN.exec(requireString(argument, value));
  if (!match) {
    throw new Error(
      `${argument}: ${quoted(value)} is not a CloudWatch Logs log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)`,
    );
  }
  return match[1];
}

function requireArn(argument: string, value: unknown, kind: ArnKind): string {
  if (!kind.pattern.test(requireString(argument, value))) {
    throw new Error(`${argument}: ${quoted(value)} is not ${kind.one} (${kind.shape})`);
  }
  return value as string;
}

function requireArns(argument: string, values: unknown, kind: ArnKind): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    const many = `${kind.one.replace(/^an? /, "")}s`;
    throw new Error(
      `${argument}: expected a non-empty list of ${many} (${kind.shape}), got ${JSON.stringify(values)}`,
    );
  }
  return sortedUnique(values.map((value, index) => requireArn(`${argument}[${index}]`, value, kind)));
}

/** Creating and writing the streams of one log group; the group itself is created by the stack. */
function writeLogStreams(sid: string, logGroupArn: string): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: `${logGroupArn}:log-stream:*`,
  };
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

/** The worker instance's role may be assumed by EC2 only (through the instance profile). */
export function workerTrustPolicy(): PolicyDocument {
  return document({
    Sid: "AssumeFromEc2",
    Effect: "Allow",
    Principal: { Service: "ec2.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
}

/**
 * The worker's own permissions: read the mapped source repositories, assume the target role,
 * and write the sync command's output to its log group. Nothing else.
 */
export function workerPolicy(a: {
  sourceRepositoryArns: string[];
  targetRoleArn: string;
  commandLogGroupArn: string;
}): PolicyDocument {
  const sources = requireRepositoryArns("sourceRepositoryArns", a?.sourceRepositoryArns);
  const target = requireRoleArn("targetRoleArn", a?.targetRoleArn);
  const logGroup = requireLogGroupArn("commandLogGroupArn", a?.commandLogGroupArn);
  return document(
    getAuthorizationToken(),
    {
      Sid: "PullAndListSourceRepositories",
      Effect: "Allow",
      Action: sortedUnique([...ECR_PULL_ACTIONS, ...ECR_DESCRIBE_ACTIONS]),
      Resource: sources,
    },
    {
      Sid: "AssumeTargetRole",
      Effect: "Allow",
      Action: "sts:AssumeRole",
      Resource: target.arn,
    },
    writeLogStreams("WriteCommandOutput", logGroup),
    {
      // The SSM agent looks up its stream (and the upload sequence token) before writing.
      // CloudWatch Logs has authorised this action against both forms of the group's ARN.
      Sid: "FindCommandOutputStreams",
      Effect: "Allow",
      Action: "logs:DescribeLogStreams",
      Resource: [logGroup, `${logGroup}:*`],
    },
    {
      // The SSM agent refuses to stream command output unless DescribeLogGroups shows it the
      // group. The action takes no resource; it lists group names and settings, never log data.
      Sid: "FindCommandOutputLogGroup",
      Effect: "Allow",
      Action: "logs:DescribeLogGroups",
      Resource: "*",
    },
  );
}

/**
 * What the SSM agent on the worker needs to be a managed node, receive Run Command messages and
 * serve Session Manager sessions: a subset of AmazonSSMManagedInstanceCore, listed explicitly.
 * None of these actions can be scoped to a resource that names only this instance.
 */
export function workerSsmAgentPolicy(): PolicyDocument {
  return document(
    {
      Sid: "RegisterAsManagedNode",
      Effect: "Allow",
      Action: "ssm:UpdateInstanceInformation",
      Resource: "*",
    },
    {
      Sid: "ReceiveRunCommandMessages",
      Effect: "Allow",
      Action: [
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
      ],
      Resource: "*",
    },
    {
      Sid: "OpenAgentChannels",
      Effect: "Allow",
      Action: [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ],
      Resource: "*",
    },
  );
}

/**
 * The legacy account's target role trusts the css account, but only when the caller is the worker
 * role (any session of it). A condition on aws:PrincipalArn, not the role ARN as principal: IAM
 * replaces a role principal with an opaque id when that role is deleted, so a re-created worker
 * role would lose access; the condition keeps matching by ARN and needs no ordering between stacks.
 */
export function targetRoleTrustPolicy(a: { sourceAccountId: string; workerRoleArn: string }): PolicyDocument {
  const sourceAccountId = requireAccountId("sourceAccountId", a?.sourceAccountId);
  const worker = requireRoleArn("workerRoleArn", a?.workerRoleArn);
  if (worker.accountId !== sourceAccountId) {
    throw new Error(
      `workerRoleArn: ${quoted(worker.arn)} is in account ${worker.accountId}, not in sourceAccountId ${sourceAccountId}; the worker role must belong to the source account`,
    );
  }
  return document({
    Sid: "AssumeFromSourceWorkerRoleOnly",
    Effect: "Allow",
    Principal: { AWS: `arn:${PARTITION}:iam::${sourceAccountId}:root` },
    Action: "sts:AssumeRole",
    Condition: { ArnEquals: { "aws:PrincipalArn": worker.arn } },
  });
}

/** The target role writes images into the mapped target repositories and reads them back; no delete, no create. */
export function targetRolePolicy(a: { targetRepositoryArns: string[] }): PolicyDocument {
  const targets = requireRepositoryArns("targetRepositoryArns", a?.targetRepositoryArns);
  return document(getAuthorizationToken(), {
    Sid: "PushAndReadTargetRepositories",
    Effect: "Allow",
    Action: sortedUnique([...ECR_PUSH_ACTIONS, ...ECR_PULL_ACTIONS, ...ECR_DESCRIBE_ACTIONS]),
    Resource: targets,
  });
}

/** The push trigger's role may be assumed by Lambda only. */
export function lambdaTrustPolicy(): PolicyDocument {
  return document({
    Sid: "AssumeFromLambda",
    Effect: "Allow",
    Principal: { Service: "lambda.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
}

/**
 * The push trigger sends the sync document to the worker and writes its own logs. SendCommand is
 * authorised against the document and against each target instance, so naming both as resources of
 * one statement allows exactly that pair: no other document (AWS-RunShellScript included), no other
 * instance.
 */
export function lambdaPolicy(a: {
  documentArn: string;
  instanceArn: string;
  logGroupArn: string;
}): PolicyDocument {
  const documentArn = requireArn("documentArn", a?.documentArn, DOCUMENT_ARN);
  const instanceArn = requireArn("instanceArn", a?.instanceArn, INSTANCE_ARN);
  const logGroup = requireLogGroupArn("logGroupArn", a?.logGroupArn);
  return document(
    {
      Sid: "SendSyncDocumentToWorker",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: sortedUnique([documentArn, instanceArn]),
    },
    writeLogStreams("WriteFunctionLogs", logGroup),
  );
}

// ---------------------------------------------------------------------------------------------
// Failures reach a person; gaps heal (issue 5). Why each permission: docs/decisions/0008-reconcile-schedule.md.

/**
 * Who may put messages into the dead-letter queue: EventBridge, only on behalf of the named rules
 * (a failed delivery to their targets), and the named roles (the push trigger's role, which Lambda
 * uses for its on-failure destination; the reconcile schedule's role, which Scheduler uses for its
 * dead-letter queue). Nobody else, and nothing but SendMessage.
 */
export function deadLetterQueuePolicy(a: {
  queueArn: string;
  ruleArns: string[];
  senderRoleArns: string[];
}): PolicyDocument {
  const queueArn = requireArn("queueArn", a?.queueArn, QUEUE_ARN);
  const rules = requireArns("ruleArns", a?.ruleArns, RULE_ARN);
  if (!Array.isArray(a?.senderRoleArns) || a.senderRoleArns.length === 0) {
    throw new Error(
      `senderRoleArns: expected a non-empty list of IAM role ARNs, got ${JSON.stringify(a?.senderRoleArns)}`,
    );
  }
  const roles = sortedUnique(
    a.senderRoleArns.map((arn, index) => requireRoleArn(`senderRoleArns[${index}]`, arn).arn),
  );
  return document(
    {
      Sid: "RulesDeliverFailedEvents",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: queueArn,
      Condition: { ArnEquals: { "aws:SourceArn": rules } },
    },
    {
      Sid: "RolesSendFailedInvocations",
      Effect: "Allow",
      Principal: { AWS: roles.length === 1 ? roles[0] : roles },
      Action: "sqs:SendMessage",
      Resource: queueArn,
    },
  );
}

/**
 * The push trigger's role may send to the dead-letter queue: Lambda delivers an event whose
 * asynchronous retries are exhausted to the on-failure destination with the function's role.
 */
export function deadLetterSendPolicy(a: { queueArn: string }): PolicyDocument {
  const queueArn = requireArn("queueArn", a?.queueArn, QUEUE_ARN);
  return document({
    Sid: "SendToDeadLetterQueue",
    Effect: "Allow",
    Action: "sqs:SendMessage",
    Resource: queueArn,
  });
}

/**
 * Who may publish to the alert topic: EventBridge only for the named rules (failed commands), and
 * CloudWatch only for the named alarms. Anything in the account with its own sns:Publish keeps
 * it (same-account access needs the identity policy only); no other account or service is named.
 */
export function alertTopicPolicy(a: {
  topicArn: string;
  ruleArns: string[];
  alarmArns: string[];
}): PolicyDocument {
  const topicArn = requireArn("topicArn", a?.topicArn, TOPIC_ARN);
  const rules = requireArns("ruleArns", a?.ruleArns, RULE_ARN);
  const alarms = requireArns("alarmArns", a?.alarmArns, ALARM_ARN);
  return document(
    {
      Sid: "RulesPublishFailedCommands",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: { ArnEquals: { "aws:SourceArn": rules } },
    },
    {
      Sid: "AlarmsPublishStateChanges",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: { ArnEquals: { "aws:SourceArn": alarms } },
    },
  );
}

/**
 * The reconcile schedule's role may be assumed by EventBridge Scheduler only, for schedules of the
 * one schedule group (aws:SourceArn; Scheduler sends the group's ARN there, never a schedule's) in
 * this account (aws:SourceAccount): the confused-deputy guard AWS documents for execution roles.
 * The stack gives the reconcile schedule a group of its own, so no other schedule can use the role.
 */
export function schedulerTrustPolicy(a: { scheduleGroupArn: string }): PolicyDocument {
  const match = SCHEDULE_GROUP_ARN_PATTERN.exec(requireString("scheduleGroupArn", a?.scheduleGroupArn));
  if (!match) {
    throw new Error(
      `scheduleGroupArn: ${quoted(a?.scheduleGroupArn)} is not an EventBridge Scheduler schedule group ARN (arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME)`,
    );
  }
  return document({
    Sid: "AssumeFromReconcileScheduleGroup",
    Effect: "Allow",
    Principal: { Service: "scheduler.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "aws:SourceAccount": match[1] }, ArnEquals: { "aws:SourceArn": match[0] } },
  });
}

/**
 * The reconcile schedule sends the reconcile document to the worker (SendCommand is authorised
 * against the document and the instance, so naming both allows exactly that pair), and puts an
 * invocation it could not make into the dead-letter queue. Nothing else.
 */
export function schedulerPolicy(a: {
  documentArn: string;
  instanceArn: string;
  deadLetterQueueArn: string;
}): PolicyDocument {
  const documentArn = requireArn("documentArn", a?.documentArn, DOCUMENT_ARN);
  const instanceArn = requireArn("instanceArn", a?.instanceArn, INSTANCE_ARN);
  const queueArn = requireArn("deadLetterQueueArn", a?.deadLetterQueueArn, QUEUE_ARN);
  return document(
    {
      Sid: "SendReconcileDocumentToWorker",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: sortedUnique([documentArn, instanceArn]),
    },
    { Sid: "SendToDeadLetterQueue", Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn },
  );
}

/**
 * The IAM documents of ecr-sync, as plain functions of plain values: who may do what, and
 * nothing more. The components (SourceSync, TargetRole) feed them resolved ARNs and serialise the
 * result; the tests evaluate the result the way IAM does (test/unit/policies.test.ts) and have
 * moto's IAM parse it (test/integration/policy-grammar.test.ts).
 *
 * Every function checks its input with the ARN grammar of components/arns.ts, which throws an
 * Error naming the argument and the value, and
 * every document is deterministic: fixed statement order, fixed Sids, sorted actions and
 * resources, so a re-run renders byte-identical JSON and diffs stay quiet.
 *
 * Why each permission is here, and why a few sit on Resource "*": docs/security.md#the-principals.
 */
import {
  ALARM_ARN,
  accountRootArn,
  bucketArn,
  COPIER_KEY_PREFIX,
  DOCUMENT_ARN,
  INSTANCE_ARN,
  QUEUE_ARN,
  quoted,
  requireAccountId,
  requireArn,
  requireArns,
  requireBucketName,
  requireInstanceArn,
  requireLogGroupArn,
  requireRepositoryArns,
  requireRoleArn,
  requireRoleArns,
  requireScheduleGroupArn,
  RULE_ARN,
  sortedUnique,
  TOPIC_ARN,
} from "./arns";
import { METRIC_NAMESPACE } from "../common/telemetry";

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

function document(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
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
 * read the copier's bundles, and write the sync command's output to its log group. Nothing else.
 */
export function workerPolicy(a: {
  sourceRepositoryArns: string[];
  targetRoleArn: string;
  commandLogGroupArn: string;
  /** The bucket the stack uploads the copier to (components/copier-artifact.ts). */
  copierBucketName: string;
}): PolicyDocument {
  const sources = requireRepositoryArns("sourceRepositoryArns", a?.sourceRepositoryArns);
  const target = requireRoleArn("targetRoleArn", a?.targetRoleArn);
  const logGroup = requireLogGroupArn("commandLogGroupArn", a?.commandLogGroupArn);
  const copierBucket = requireBucketName("copierBucketName", a?.copierBucketName);
  return document(
    getAuthorizationToken(),
    {
      // The documents fetch the copier by its key (`aws s3 cp`, whose HeadObject and GetObject are
      // both authorised as s3:GetObject). Not s3:ListBucket: a key that is not there answers 403
      // instead of 404, which the document reports the same way. Not s3:GetObjectVersion: the
      // documents read the current version of a key, and a key's content never changes (it is
      // the content's hash).
      Sid: "ReadCopierBundles",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: `${bucketArn(copierBucket)}/${COPIER_KEY_PREFIX}*`,
    },
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
      // Before it streams a command's output, the SSM agent calls CreateLogGroup on the output's group
      // and, when that fails with anything but ResourceAlreadyExistsException, carries on if
      // DescribeLogGroups finds the group (aws/amazon-ssm-agent: DefaultIOHandler.Init in
      // agent/framework/processor/executer/iohandler/iohandler.go calls CreateLogGroup in
      // agent/agentlogstocloudwatch/cloudwatchlogspublisher/cloudwatchlogsservice.go). Denied, every
      // command leaves an AccessDenied in CloudTrail. The stack creates this group, so on it alone the
      // call answers "already exists" and grants nothing new (were the group deleted by hand, the agent
      // would re-create it, without the stack's retention). Both ARN forms, as above.
      Sid: "CreateCommandOutputLogGroup",
      Effect: "Allow",
      Action: "logs:CreateLogGroup",
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
 * The copier bucket's own policy: every request that does not arrive over TLS is refused, whoever
 * makes it (aws:SecureTransport is "false" for a plain-HTTP request: "Enforce encryption of data
 * in transit", https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html,
 * and the example bucket policy in https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule).
 * It grants nothing: who may read or write is the callers' identity policies in this account (the
 * worker's ReadCopierBundles, the deploy role's), and the bucket blocks every public grant.
 */
export function copierBucketPolicy(a: { bucketName: string }): PolicyDocument {
  const bucket = bucketArn(requireBucketName("bucketName", a?.bucketName));
  return document({
    Sid: "DenyRequestsWithoutTls",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucket, `${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  });
}

/**
 * The copier's own telemetry (ec2-scripts/copier/telemetry.ts): its figures in the `ecr-sync`
 * namespace, and its result lines in the results log group, in streams it creates. PutMetricData
 * takes no resource ("*" is the only value the service authorises it against); the
 * `cloudwatch:namespace` condition key limits it to the one namespace
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html),
 * so the worker cannot write into AWS/* or another application's figures. The log group itself is the
 * stack's: the copier never creates or describes one.
 */
export function workerTelemetryPolicy(a: { resultsLogGroupArn: string }): PolicyDocument {
  const logGroup = requireLogGroupArn("resultsLogGroupArn", a?.resultsLogGroupArn);
  return document(
    {
      Sid: "PublishCopierMetrics",
      Effect: "Allow",
      Action: "cloudwatch:PutMetricData",
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE } },
    },
    writeLogStreams("WriteResultLines", logGroup),
  );
}

/** The AWS-owned document State Manager runs on the worker to keep its SSM agent current. */
export const SSM_AGENT_UPDATE_DOCUMENT = "AWS-UpdateSSMAgent";

/**
 * What the SSM agent on the worker needs to be a managed node, receive Run Command messages, serve
 * Session Manager sessions and run its one State Manager association (AWS-UpdateSSMAgent): a subset
 * of AmazonSSMManagedInstanceCore, listed explicitly. None of the instance's own actions can be
 * scoped to a resource that names only this instance (its id is not known before it exists).
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
    {
      // The agent's association processor (agent/association/service/service.go in
      // aws/amazon-ssm-agent): list this instance's associations, read each, report how it ran.
      Sid: "RunStateManagerAssociations",
      Effect: "Allow",
      Action: [
        "ssm:ListInstanceAssociations",
        "ssm:DescribeAssociation",
        "ssm:UpdateInstanceAssociationStatus",
        "ssm:UpdateAssociationStatus",
      ],
      Resource: "*",
    },
    {
      // ...and the one document an association runs here; the Run Command documents arrive
      // through ec2messages, so the agent never reads ecr-sync's own documents.
      Sid: "ReadTheAgentUpdateDocument",
      Effect: "Allow",
      Action: ["ssm:GetDocument", "ssm:DescribeDocument"],
      Resource: `arn:aws:ssm:*::document/${SSM_AGENT_UPDATE_DOCUMENT}`,
    },
    {
      // The updater fetches the new agent from AWS's public amazon-ssm-REGION bucket with the
      // instance's credentials first, and over plain HTTPS only when that is denied
      // (agent/fileutil/artifact/artifact.go, Download): allowing it avoids an AccessDenied a week.
      Sid: "DownloadAgentUpdates",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::amazon-ssm-*/*",
    },
  );
}

/**
 * The legacy account's target role trusts the css account, but only when the caller is the worker
 * role (aws:PrincipalArn) and its credentials are the ones EC2 delivered to the worker instance
 * (ec2:SourceInstanceArn, which AWS documents as present whenever the role session was created by
 * an EC2 instance; that it reaches AssumeRole's trust evaluation is inferred, and the first deploy
 * confirms it: docs/security.md). So another instance started with the worker's instance profile, or the worker role
 * assumed in any other way, is refused. A condition on aws:PrincipalArn, not the role ARN as
 * principal: IAM replaces a role principal with an opaque id when that role is deleted, so a
 * re-created worker role would lose access; the condition keeps matching by ARN.
 * Why the instance and not its VPC, and what neither stops: docs/decisions/0009-target-trust-narrowed-to-the-worker.md.
 */
export function targetRoleTrustPolicy(a: {
  sourceAccountId: string;
  workerRoleArn: string;
  workerInstanceArn: string;
}): PolicyDocument {
  const sourceAccountId = requireAccountId("sourceAccountId", a?.sourceAccountId);
  const worker = requireRoleArn("workerRoleArn", a?.workerRoleArn);
  if (worker.accountId !== sourceAccountId) {
    throw new Error(
      `workerRoleArn: ${quoted(worker.arn)} is in account ${worker.accountId}, not in sourceAccountId ${sourceAccountId}; the worker role must belong to the source account`,
    );
  }
  const instance = requireInstanceArn("workerInstanceArn", a?.workerInstanceArn);
  if (instance.accountId !== sourceAccountId) {
    throw new Error(
      `workerInstanceArn: ${quoted(instance.arn)} is in account ${instance.accountId}, not in sourceAccountId ${sourceAccountId}; the worker instance must belong to the source account`,
    );
  }
  return document({
    Sid: "AssumeFromSourceWorkerInstanceOnly",
    Effect: "Allow",
    Principal: { AWS: accountRootArn(sourceAccountId) },
    Action: "sts:AssumeRole",
    Condition: {
      ArnEquals: { "aws:PrincipalArn": worker.arn, "ec2:SourceInstanceArn": instance.arn },
    },
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
// Failures reach a person; gaps heal (issue 5). Why each permission: docs/security.md#the-principals.

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
  const roles = requireRoleArns("senderRoleArns", a?.senderRoleArns);
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
  const group = requireScheduleGroupArn("scheduleGroupArn", a?.scheduleGroupArn);
  return document({
    Sid: "AssumeFromReconcileScheduleGroup",
    Effect: "Allow",
    Principal: { Service: "scheduler.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: {
      StringEquals: { "aws:SourceAccount": group.accountId },
      ArnEquals: { "aws:SourceArn": group.arn },
    },
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

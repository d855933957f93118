/**
 * The first part of synth's review: one line per resource, its type, its name and what it is for.
 * What it is for comes from the resource itself where it says (its `description` or
 * `alarmDescription` input), else from a short purpose per type, written from its inputs.
 */
import { RenderedResource, Rendering } from "../local/render";

type Purpose = (inputs: Record<string, unknown>, name: string) => string;

const PURPOSES: Readonly<Record<string, Purpose>> = {
  "ecr-sync:index:SourceSync": () => "the css side: everything below that syncs pushed images",
  "ecr-sync:index:TargetRole": () => "the legacy side: the role the css worker assumes to push",
  "pulumi:pulumi:StackReference": (_, name) => `reads the outputs of stack ${name}`,
  "aws:cloudwatch/logGroup:LogGroup": (i) => `log group ${i.name}, kept ${i.retentionInDays} days`,
  "aws:iam/rolePolicy:RolePolicy": (i) => `inline policy of role ${i.role}`,
  "aws:iam/instanceProfile:InstanceProfile": (i) => `hands role ${i.role} to the worker instance`,
  "aws:ec2/instance:Instance": (i) => `the worker (${i.instanceType}) that runs the copier under SSM`,
  "aws:ssm/document:Document": (i) => `SSM ${i.documentType} document ${i.name}, run on the worker`,
  "aws:ssm/association:Association": (i) =>
    `State Manager runs ${i.name} on the worker, ${i.scheduleExpression} and when it registers`,
  "aws:lambda/permission:Permission": (i) => `lets ${i.principal} invoke ${i.function}`,
  "aws:cloudwatch/eventTarget:EventTarget": (i) => `where rule ${i.rule} sends its events: ${i.arn}`,
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (i) =>
    `retries of ${i.functionName}'s asynchronous invocations, and where failures go`,
  "aws:sqs/queue:Queue": (i) => `SQS queue ${i.name}`,
  "aws:sqs/queuePolicy:QueuePolicy": (i) => `who may send to queue ${i.queueUrl}`,
  "aws:sns/topic:Topic": (i) => `SNS topic ${i.name}`,
  "aws:sns/topicPolicy:TopicPolicy": (i) => `who may publish to topic ${i.arn}`,
  "aws:sns/topicSubscription:TopicSubscription": (i) =>
    `sends the topic's messages by ${i.protocol} to ${i.endpoint}`,
  "aws:scheduler/scheduleGroup:ScheduleGroup": (i) => `schedule group ${i.name}`,
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": (i) => {
    const metric = i.metricTransformation as { namespace?: string; name?: string } | undefined;
    return `publishes ${metric?.namespace}/${metric?.name} from ${i.logGroupName} lines matching ${i.pattern}`;
  },
  "aws:cloudwatch/dashboard:Dashboard": (i) => `CloudWatch dashboard ${i.dashboardName}`,
  "aws:s3/bucket:Bucket": () => "the private bucket the worker fetches the copier from",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (i) => `blocks every public grant on ${i.bucket}`,
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (i) => `ACLs off: ${i.bucket} owns every object`,
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (i) =>
    `encrypts every object of ${i.bucket} at rest (SSE-S3)`,
  "aws:s3/bucketVersioning:BucketVersioning": (i) => `keeps every version of every object of ${i.bucket}`,
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (i) =>
    `expires replaced or deleted object versions of ${i.bucket}`,
  "aws:s3/bucketPolicy:BucketPolicy": (i) => `refuses every request to ${i.bucket} that is not over TLS`,
  "aws:s3/bucketObjectv2:BucketObjectv2": (i) => `the copier's bundle, s3://${i.bucket}/${i.key}`,
};

/** What a resource is for, in one line. */
export function purposeOf(r: RenderedResource): string {
  const own = r.inputs.description ?? r.inputs.alarmDescription;
  if (typeof own === "string" && own.trim() !== "") return own.replace(/\s+/g, " ").trim();
  return PURPOSES[r.type]?.(r.inputs, r.name) ?? "";
}

/** One line per resource, in columns: type, name, purpose. */
export function overview(r: Rendering): string {
  const typeWidth = Math.max(...r.resources.map((x) => x.type.length));
  const nameWidth = Math.max(...r.resources.map((x) => x.name.length));
  return r.resources
    .map((x) => `  ${x.type.padEnd(typeWidth)}  ${x.name.padEnd(nameWidth)}  ${purposeOf(x)}`.trimEnd())
    .join("\n");
}

/**
 * The push trigger: an EventBridge rule for tagged pushes to the mapped repositories, and the
 * Lambda function it invokes, which sends the sync document to the worker. What the handler does
 * with an event: lambda/index.ts; the names they share: common/push-trigger.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_VARIABLES, HANDLER_FILE_NAME, HANDLER_NAME, HANDLER_RUNTIME } from "../common/push-trigger";
import { Delivery, MAXIMUM_EVENT_AGE_SECONDS } from "./dead-letters";
import { pushEventPattern } from "./patterns";
import { deadLetterSendPolicy, lambdaPolicy, lambdaTrustPolicy } from "./policies";

/** Lambda's asynchronous retries of a failed invocation (its maximum). */
export const FUNCTION_RETRY_ATTEMPTS = 2;

/** The function's (and its role's) name; its log group is named after it. */
export function pushTriggerName(name: string): string {
  return `${name}-push-trigger`;
}

export interface PushTriggerArgs {
  /** The function's bundled CommonJS source (lambda/bundle.ts `bundleHandler()`). */
  readonly source: pulumi.Input<string>;
  /** Source repository name → target repository name, handed to the function. */
  readonly repositories: pulumi.Input<Record<string, string>>;
  /** The mapped source repositories' names, sorted: what the push rule matches. */
  readonly sourceRepositoryNames: pulumi.Input<string[]>;
  /** The worker the function sends the sync document to. */
  readonly instance: aws.ec2.Instance;
  readonly syncDocument: aws.ssm.Document;
  /** Where the command's output goes (the function names it in each SendCommand). */
  readonly commandLogGroupName: pulumi.Input<string>;
  /** The function's own log group (created beforehand, with retention). */
  readonly functionLogGroup: aws.cloudwatch.LogGroup;
  readonly deadLetterQueueArn: pulumi.Output<string>;
  readonly delivery: Delivery;
}

export interface PushTrigger {
  readonly role: aws.iam.Role;
  readonly function: aws.lambda.Function;
  readonly rule: aws.cloudwatch.EventRule;
}

export function createPushTrigger(name: string, args: PushTriggerArgs, parent: pulumi.Resource): PushTrigger {
  const functionName = pushTriggerName(name);
  const role = new aws.iam.Role(
    `${name}-function-role`,
    {
      name: functionName,
      description: "The ecr-sync push trigger: sends the sync document to the worker.",
      assumeRolePolicy: JSON.stringify(lambdaTrustPolicy()),
    },
    { parent },
  );
  const sendCommandPolicy = new aws.iam.RolePolicy(
    `${name}-function-send-command`,
    {
      role: role.name,
      policy: pulumi
        .all([args.syncDocument.arn, args.instance.arn, args.functionLogGroup.arn])
        .apply(([documentArn, instanceArn, logGroupArn]) =>
          JSON.stringify(lambdaPolicy({ documentArn, instanceArn, logGroupArn })),
        ),
    },
    { parent },
  );
  const deadLetterPolicy = new aws.iam.RolePolicy(
    `${name}-function-dead-letter`,
    {
      role: role.name,
      policy: args.deadLetterQueueArn.apply((queueArn) => JSON.stringify(deadLetterSendPolicy({ queueArn }))),
    },
    { parent },
  );
  const fn = new aws.lambda.Function(
    `${name}-function`,
    {
      name: functionName,
      description: "Turns an ECR push to a mapped repository into one SSM command on the ecr-sync worker.",
      role: role.arn,
      runtime: HANDLER_RUNTIME,
      handler: HANDLER_NAME,
      architectures: ["arm64"],
      memorySize: 256,
      timeout: 30,
      code: pulumi
        .output(args.source)
        .apply(
          (source) =>
            new pulumi.asset.AssetArchive({ [HANDLER_FILE_NAME]: new pulumi.asset.StringAsset(source) }),
        ),
      environment: {
        variables: {
          [CONFIG_VARIABLES.instanceId]: args.instance.id,
          [CONFIG_VARIABLES.documentName]: args.syncDocument.name,
          [CONFIG_VARIABLES.repositoryMap]: pulumi
            .output(args.repositories)
            .apply((map) => JSON.stringify(map)),
          [CONFIG_VARIABLES.logGroupName]: args.commandLogGroupName,
        },
      },
      loggingConfig: { logFormat: "Text", logGroup: args.functionLogGroup.name },
    },
    { parent, dependsOn: [sendCommandPolicy] },
  );

  const rule = new aws.cloudwatch.EventRule(
    `${name}-push-rule`,
    {
      name: `${name}-push`,
      description: "A successful, tagged push to a mapped css ECR repository.",
      eventPattern: pulumi
        .output(args.sourceRepositoryNames)
        .apply((names) => JSON.stringify(pushEventPattern(names))),
    },
    { parent },
  );
  new aws.lambda.Permission(
    `${name}-push-permission`,
    {
      function: fn.name,
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    },
    { parent },
  );
  // An event the handler could not turn into a command (after Lambda's retries) goes to the
  // dead-letter queue; so does an event EventBridge could not deliver to the function at all.
  new aws.lambda.FunctionEventInvokeConfig(
    `${name}-function-async`,
    {
      functionName: fn.name,
      maximumRetryAttempts: FUNCTION_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: args.deadLetterQueueArn } },
    },
    { parent, dependsOn: [deadLetterPolicy] },
  );
  new aws.cloudwatch.EventTarget(
    `${name}-push-target`,
    { rule: rule.name, targetId: "push-trigger", arn: fn.arn, ...args.delivery },
    { parent },
  );
  return { role, function: fn, rule };
}

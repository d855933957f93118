import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_VARIABLES, HANDLER_FILE_NAME, HANDLER_NAME, HANDLER_RUNTIME } from "../common/push-trigger";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../common/ssm-command";
import { buildReconcileDocument, buildSyncDocument, RECONCILE_PARAMETERS, SyncEnvironment } from "./document";
import { commandFailureEventPattern, pushEventPattern } from "./patterns";
import {
  alertTopicPolicy,
  deadLetterQueuePolicy,
  deadLetterSendPolicy,
  lambdaPolicy,
  lambdaTrustPolicy,
  schedulerPolicy,
  schedulerTrustPolicy,
  workerPolicy,
  workerSsmAgentPolicy,
  workerTrustPolicy,
} from "./policies";
import { workerUserData } from "./user-data";
import { repositoryArn } from "./arns";

export interface SourceSyncArgs {
  /** Source repository name (this account) → target repository name (target account). */
  readonly repositories: pulumi.Input<Record<string, string>>;
  /** This (css) account's id: the source registry and the ARNs of its repositories. */
  readonly accountId: pulumi.Input<string>;
  /** The region of both registries and of everything this component creates. */
  readonly region: pulumi.Input<string>;
  /** The target (legacy) account's id: the target registry. */
  readonly targetAccountId: pulumi.Input<string>;
  /** The role in the target account that the worker assumes to push. */
  readonly targetRoleArn: pulumi.Input<string>;
  /** The text of ec2-scripts/ecr-sync.sh, carried inside the sync document. */
  readonly syncScript: pulumi.Input<string>;
  /** Where syncScript came from, for error messages. Default "ec2-scripts/ecr-sync.sh". */
  readonly syncScriptPath?: string;
  /** The push trigger's bundled CommonJS source (lambda/bundle.ts `bundleHandler()`). */
  readonly pushTriggerSource: pulumi.Input<string>;
  /** The worker's instance type. Default "t4g.small" (Graviton; matches the default AMI). */
  readonly workerInstanceType?: pulumi.Input<string>;
  /**
   * The worker's subnet; it needs a route to the AWS APIs and ECR over HTTPS. Default: the
   * default VPC's default subnet (lowest id) in an availability zone that offers the type.
   */
  readonly workerSubnetId?: pulumi.Input<string>;
  /** The public SSM parameter naming the worker's AMI. Default Debian 12 arm64. */
  readonly workerAmiParameter?: pulumi.Input<string>;
  /** The worker's root volume size in GiB. Default 20. */
  readonly workerVolumeGiB?: pulumi.Input<number>;
  /** Retention of the function's and the commands' log groups, in days. Default 90. */
  readonly logRetentionDays?: pulumi.Input<number>;
  /** An address the alert topic e-mails (the subscription must be confirmed). Default: none. */
  readonly alertEmail?: string;
  /**
   * When the worker runs `ecr-sync.sh reconcile`: an EventBridge Scheduler expression (rate(…) or
   * cron(…), UTC), or `undefined` for no schedule (the reconcile document stays, for backfills).
   * Required, so that leaving it out cannot silently mean "off".
   */
  readonly reconcileSchedule: string | undefined;
}

/** How long Lambda keeps retrying an event, and EventBridge a delivery, before the dead-letter queue. */
export const MAXIMUM_EVENT_AGE_SECONDS = 3600;
/** Lambda's asynchronous retries of a failed invocation (its maximum). */
export const FUNCTION_RETRY_ATTEMPTS = 2;
/** EventBridge's (and Scheduler's) delivery retries within MAXIMUM_EVENT_AGE_SECONDS. */
export const DELIVERY_RETRY_ATTEMPTS = 8;
/** SQS's longest retention: 14 days for a person to look at a dead letter. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;
/**
 * The text the alert topic receives for a failed command: what failed and how to read its output.
 * An EventBridge input transformer; the values in <…> come from the event.
 */
export function commandFailureNotice(logGroupName: string): {
  inputPaths: Record<string, string>;
  inputTemplate: string;
} {
  return {
    inputPaths: {
      command: "$.detail.command-id",
      document: "$.detail.document-name",
      status: "$.detail.status",
      time: "$.time",
      region: "$.region",
    },
    inputTemplate: JSON.stringify(
      `ecr-sync: the SSM command <command> (document <document>) ended <status> at <time>. ` +
        `Its output is in the CloudWatch log group ${logGroupName}; or run: ` +
        `aws ssm list-command-invocations --region <region> --command-id <command> --details`,
    ),
  };
}

/** The exact `aws ssm send-command` an operator runs to reconcile (backfill) now. */
export function backfillCommand(a: {
  region: string;
  documentName: string;
  instanceId: string;
  logGroupName: string;
  dryRun?: boolean;
}): string {
  return [
    "aws ssm send-command",
    `--region ${a.region}`,
    `--document-name ${a.documentName}`,
    `--instance-ids ${a.instanceId}`,
    `--parameters ${RECONCILE_PARAMETERS.dryRun}=${a.dryRun === true ? "true" : "false"}`,
    `--timeout-seconds ${COMMAND_DELIVERY_TIMEOUT_SECONDS}`,
    `--cloud-watch-output-config CloudWatchOutputEnabled=true,CloudWatchLogGroupName=${a.logGroupName}`,
    `--comment 'ecr-sync backfill'`,
    "--query Command.CommandId --output text",
  ].join(" ");
}

/**
 * Everything in the css account: an EventBridge rule for tagged pushes to the mapped
 * repositories → the push-trigger Lambda → SSM SendCommand of the sync document (which carries
 * ecr-sync.sh) → the worker instance, whose role may read only the mapped repositories and
 * assume only the target role.
 */
export class SourceSync extends pulumi.ComponentResource {
  public readonly workerRoleArn: pulumi.Output<string>;
  public readonly workerRoleName: pulumi.Output<string>;
  public readonly workerInstanceId: pulumi.Output<string>;
  public readonly workerAmiId: pulumi.Output<string>;
  public readonly workerSubnetId: pulumi.Output<string>;
  public readonly workerSecurityGroupId: pulumi.Output<string>;
  public readonly syncDocumentName: pulumi.Output<string>;
  public readonly syncDocumentArn: pulumi.Output<string>;
  public readonly commandLogGroupName: pulumi.Output<string>;
  public readonly commandLogGroupArn: pulumi.Output<string>;
  public readonly functionName: pulumi.Output<string>;
  public readonly functionArn: pulumi.Output<string>;
  public readonly functionLogGroupName: pulumi.Output<string>;
  public readonly pushRuleName: pulumi.Output<string>;
  public readonly pushRuleArn: pulumi.Output<string>;
  public readonly reconcileDocumentName: pulumi.Output<string>;
  public readonly reconcileDocumentArn: pulumi.Output<string>;
  /** The schedule's name, or undefined when the reconcile schedule is off. */
  public readonly reconcileScheduleName: pulumi.Output<string | undefined>;
  public readonly deadLetterQueueUrl: pulumi.Output<string>;
  public readonly deadLetterQueueArn: pulumi.Output<string>;
  public readonly alertTopicArn: pulumi.Output<string>;
  public readonly commandFailedRuleName: pulumi.Output<string>;
  /** The `aws ssm send-command` that starts a reconcile (backfill) now. */
  public readonly backfillCommand: pulumi.Output<string>;

  constructor(name: string, args: SourceSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ecr-sync:index:SourceSync", name, {}, opts);

    const instanceType = pulumi.output(args.workerInstanceType ?? "t4g.small");
    const amiParameter = args.workerAmiParameter ?? "/aws/service/debian/release/12/latest/arm64";
    const retentionInDays = args.logRetentionDays ?? 90;
    const repositories = pulumi.output(args.repositories);
    const sourceRepositoryNames = repositories.apply((map) => Object.keys(map).sort());
    const sourceRepositoryArns = pulumi
      .all([args.accountId, args.region, sourceRepositoryNames])
      .apply(([accountId, region, names]) => names.map((n) => repositoryArn(accountId, region, n)));

    // Logs: both groups are created here, with retention, before anything writes to them.
    const commandLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-command-logs`,
      { name: `/${name}/commands`, retentionInDays },
      { parent: this },
    );
    const functionName = `${name}-push-trigger`;
    const functionLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-function-logs`,
      { name: `/aws/lambda/${functionName}`, retentionInDays },
      { parent: this },
    );

    // The worker's identity. The role's name is fixed so that its ARN, which the target role's
    // trust condition names, survives a replacement of the role.
    const workerRole = new aws.iam.Role(
      `${name}-worker-role`,
      {
        name: `${name}-worker`,
        description:
          "The ecr-sync worker: pulls the mapped css repositories and assumes the legacy target role to push.",
        assumeRolePolicy: JSON.stringify(workerTrustPolicy()),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-worker-sync`,
      {
        role: workerRole.name,
        policy: pulumi
          .all([sourceRepositoryArns, args.targetRoleArn, commandLogGroup.arn])
          .apply(([arns, targetRoleArn, commandLogGroupArn]) =>
            JSON.stringify(workerPolicy({ sourceRepositoryArns: arns, targetRoleArn, commandLogGroupArn })),
          ),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-worker-ssm-agent`,
      { role: workerRole.name, policy: JSON.stringify(workerSsmAgentPolicy()) },
      { parent: this },
    );
    const instanceProfile = new aws.iam.InstanceProfile(
      `${name}-worker-profile`,
      { name: `${name}-worker`, role: workerRole.name },
      { parent: this },
    );

    // Where the worker runs.
    const subnetId =
      args.workerSubnetId !== undefined
        ? pulumi.output(args.workerSubnetId)
        : this.defaultSubnet(instanceType);
    const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, { parent: this });
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-worker-sg`,
      {
        name: `${name}-worker`,
        description: "ecr-sync worker: no inbound; HTTPS out to the AWS APIs, ECR and the package mirrors",
        vpcId: subnet.vpcId,
        ingress: [],
        egress: [
          { description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
        ],
        revokeRulesOnDelete: true,
      },
      { parent: this },
    );
    const ami = aws.ssm.getParameterOutput({ name: amiParameter }, { parent: this });
    const worker = new aws.ec2.Instance(
      `${name}-worker`,
      {
        ami: ami.value,
        instanceType,
        subnetId,
        vpcSecurityGroupIds: [securityGroup.id],
        iamInstanceProfile: instanceProfile.name,
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: "disabled",
        },
        rootBlockDevice: {
          volumeType: "gp3",
          volumeSize: args.workerVolumeGiB ?? 20,
          encrypted: true,
          deleteOnTermination: true,
        },
        userData: pulumi.output(args.region).apply(workerUserData),
        userDataReplaceOnChange: true,
        tags: { Name: `${name}-worker` },
      },
      // A new AMI release must not replace the worker on the next `pulumi up`; replacing it is
      // a deliberate step (docs/decisions/0001-worker-os.md, README "Replace the worker").
      { parent: this, ignoreChanges: ["ami"] },
    );

    // The documents: ecr-sync.sh itself, its environment, and strict parameters.
    const scriptPath = args.syncScriptPath ?? "ec2-scripts/ecr-sync.sh";
    const environment = pulumi
      .all([args.accountId, args.targetAccountId, args.region, args.targetRoleArn, repositories])
      .apply(([accountId, targetAccountId, region, targetRoleArn, map]): SyncEnvironment => ({
        sourceRegistry: `${accountId}.dkr.ecr.${region}.amazonaws.com`,
        targetRegistry: `${targetAccountId}.dkr.ecr.${region}.amazonaws.com`,
        targetRoleArn,
        region,
        repositories: map,
      }));
    const syncDocumentName = `${name}-copy-image`;
    const syncDocument = new aws.ssm.Document(
      `${name}-sync-document`,
      {
        name: syncDocumentName,
        documentType: "Command",
        documentFormat: "JSON",
        targetType: "/AWS::EC2::Instance",
        content: pulumi
          .all([args.syncScript, environment])
          .apply(([script, env]) =>
            JSON.stringify(buildSyncDocument({ script, scriptPath, environment: env }), null, 2),
          ),
      },
      { parent: this },
    );
    // The reconcile document: the same script's `reconcile`, sent by the schedule and by operators.
    // Its output goes to the same log group, which the worker's policy already lets it write.
    const reconcileDocument = new aws.ssm.Document(
      `${name}-reconcile-document`,
      {
        name: `${name}-reconcile`,
        documentType: "Command",
        documentFormat: "JSON",
        targetType: "/AWS::EC2::Instance",
        content: pulumi
          .all([args.syncScript, environment])
          .apply(([script, env]) =>
            JSON.stringify(buildReconcileDocument({ script, scriptPath, environment: env }), null, 2),
          ),
      },
      { parent: this },
    );

    // Where failures land: a dead-letter queue for events nobody could act on, and a topic that
    // reaches a person.
    const deadLetterQueue = new aws.sqs.Queue(
      `${name}-dead-letters`,
      {
        name: `${name}-dead-letters`,
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
      },
      { parent: this },
    );
    // Every EventBridge and Scheduler delivery: retried for up to an hour, then kept in the queue.
    const delivery = {
      deadLetterConfig: { arn: deadLetterQueue.arn },
      retryPolicy: {
        maximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
        maximumRetryAttempts: DELIVERY_RETRY_ATTEMPTS,
      },
    };
    const alertTopic = new aws.sns.Topic(
      `${name}-alerts`,
      { name: `${name}-alerts`, displayName: "ecr-sync alerts" },
      { parent: this },
    );

    // The push trigger.
    const functionRole = new aws.iam.Role(
      `${name}-function-role`,
      {
        name: functionName,
        description: "The ecr-sync push trigger: sends the sync document to the worker.",
        assumeRolePolicy: JSON.stringify(lambdaTrustPolicy()),
      },
      { parent: this },
    );
    const functionPolicy = new aws.iam.RolePolicy(
      `${name}-function-send-command`,
      {
        role: functionRole.name,
        policy: pulumi
          .all([syncDocument.arn, worker.arn, functionLogGroup.arn])
          .apply(([documentArn, instanceArn, logGroupArn]) =>
            JSON.stringify(lambdaPolicy({ documentArn, instanceArn, logGroupArn })),
          ),
      },
      { parent: this },
    );
    const functionDeadLetterPolicy = new aws.iam.RolePolicy(
      `${name}-function-dead-letter`,
      {
        role: functionRole.name,
        policy: deadLetterQueue.arn.apply((queueArn) => JSON.stringify(deadLetterSendPolicy({ queueArn }))),
      },
      { parent: this },
    );
    const pushTrigger = new aws.lambda.Function(
      `${name}-function`,
      {
        name: functionName,
        description: "Turns an ECR push to a mapped repository into one SSM command on the ecr-sync worker.",
        role: functionRole.arn,
        runtime: HANDLER_RUNTIME,
        handler: HANDLER_NAME,
        architectures: ["arm64"],
        memorySize: 256,
        timeout: 30,
        code: pulumi
          .output(args.pushTriggerSource)
          .apply(
            (source) =>
              new pulumi.asset.AssetArchive({ [HANDLER_FILE_NAME]: new pulumi.asset.StringAsset(source) }),
          ),
        environment: {
          variables: {
            [CONFIG_VARIABLES.instanceId]: worker.id,
            [CONFIG_VARIABLES.documentName]: syncDocument.name,
            [CONFIG_VARIABLES.repositoryMap]: repositories.apply((map) => JSON.stringify(map)),
            [CONFIG_VARIABLES.logGroupName]: commandLogGroup.name,
          },
        },
        loggingConfig: { logFormat: "Text", logGroup: functionLogGroup.name },
      },
      { parent: this, dependsOn: [functionPolicy] },
    );

    const pushRule = new aws.cloudwatch.EventRule(
      `${name}-push-rule`,
      {
        name: `${name}-push`,
        description: "A successful, tagged push to a mapped css ECR repository.",
        eventPattern: sourceRepositoryNames.apply((names) => JSON.stringify(pushEventPattern(names))),
      },
      { parent: this },
    );
    new aws.lambda.Permission(
      `${name}-push-permission`,
      {
        function: pushTrigger.name,
        action: "lambda:InvokeFunction",
        principal: "events.amazonaws.com",
        sourceArn: pushRule.arn,
      },
      { parent: this },
    );
    // An event the handler could not turn into a command (after Lambda's retries) goes to the
    // dead-letter queue; so does an event EventBridge could not deliver to the function at all.
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-function-async`,
      {
        functionName: pushTrigger.name,
        maximumRetryAttempts: FUNCTION_RETRY_ATTEMPTS,
        maximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
        destinationConfig: { onFailure: { destination: deadLetterQueue.arn } },
      },
      { parent: this, dependsOn: [functionDeadLetterPolicy] },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-push-target`,
      {
        rule: pushRule.name,
        targetId: "push-trigger",
        arn: pushTrigger.arn,
        ...delivery,
      },
      { parent: this },
    );

    // A sync or reconcile command that ended Failed, TimedOut or Cancelled → the alert topic.
    const commandFailedRule = new aws.cloudwatch.EventRule(
      `${name}-command-failed-rule`,
      {
        name: `${name}-command-failed`,
        description: "An ecr-sync SSM command (copy or reconcile) ended Failed, TimedOut or Cancelled.",
        eventPattern: pulumi
          .all([syncDocument.name, reconcileDocument.name])
          .apply((names) => JSON.stringify(commandFailureEventPattern(names))),
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-command-failed-target`,
      {
        rule: commandFailedRule.name,
        targetId: "alert-topic",
        arn: alertTopic.arn,
        inputTransformer: commandLogGroup.name.apply(commandFailureNotice),
        ...delivery,
      },
      { parent: this },
    );

    // Alarms: anything in the dead-letter queue, any error of the push trigger. Both notify when
    // they fire and when they clear.
    const deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-dead-letters-alarm`,
      {
        name: `${name}-dead-letters`,
        alarmDescription:
          "ecr-sync: an event or scheduled reconcile could not be acted on and sits in the dead-letter queue. README runbook: inspect and redrive the dead letters.",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: deadLetterQueue.name },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [alertTopic.arn],
        okActions: [alertTopic.arn],
      },
      { parent: this },
    );
    const functionErrorsAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-function-errors-alarm`,
      {
        name: `${name}-push-trigger-errors`,
        alarmDescription:
          "ecr-sync: the push trigger failed on an event (Lambda retries twice, then the event goes to the dead-letter queue). README runbook: read its log group.",
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: pushTrigger.name },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [alertTopic.arn],
        okActions: [alertTopic.arn],
      },
      { parent: this },
    );
    new aws.sns.TopicPolicy(
      `${name}-alerts-policy`,
      {
        arn: alertTopic.arn,
        policy: pulumi
          .all([alertTopic.arn, commandFailedRule.arn, deadLetterAlarm.arn, functionErrorsAlarm.arn])
          .apply(([topicArn, ruleArn, ...alarmArns]) =>
            JSON.stringify(alertTopicPolicy({ topicArn, ruleArns: [ruleArn], alarmArns })),
          ),
      },
      { parent: this },
    );
    if (args.alertEmail !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alerts-email`,
        { topic: alertTopic.arn, protocol: "email", endpoint: args.alertEmail },
        { parent: this },
      );
    }

    // Gaps heal: the schedule sends the reconcile document to the worker.
    const scheduleExpression = args.reconcileSchedule;
    let scheduleName: pulumi.Output<string | undefined> = pulumi.output(undefined);
    const senderRoleArns: pulumi.Output<string>[] = [functionRole.arn];
    if (scheduleExpression !== undefined) {
      const scheduleGroup = new aws.scheduler.ScheduleGroup(
        `${name}-reconcile-group`,
        { name },
        { parent: this },
      );
      const schedulerRole = new aws.iam.Role(
        `${name}-scheduler-role`,
        {
          name: `${name}-reconcile-scheduler`,
          description: "The ecr-sync reconcile schedule: sends the reconcile document to the worker.",
          assumeRolePolicy: scheduleGroup.arn.apply((scheduleGroupArn) =>
            JSON.stringify(schedulerTrustPolicy({ scheduleGroupArn })),
          ),
        },
        { parent: this },
      );
      const schedulerRolePolicy = new aws.iam.RolePolicy(
        `${name}-scheduler-send-command`,
        {
          role: schedulerRole.name,
          policy: pulumi
            .all([reconcileDocument.arn, worker.arn, deadLetterQueue.arn])
            .apply(([documentArn, instanceArn, deadLetterQueueArn]) =>
              JSON.stringify(schedulerPolicy({ documentArn, instanceArn, deadLetterQueueArn })),
            ),
        },
        { parent: this },
      );
      const schedule = new aws.scheduler.Schedule(
        `${name}-reconcile-schedule`,
        {
          name: `${name}-reconcile`,
          groupName: scheduleGroup.name,
          description:
            "ecr-sync: copy whatever the push events missed (ecr-sync.sh reconcile on the worker).",
          scheduleExpression,
          scheduleExpressionTimezone: "UTC",
          flexibleTimeWindow: { mode: "OFF" },
          state: "ENABLED",
          target: {
            arn: "arn:aws:scheduler:::aws-sdk:ssm:sendCommand",
            roleArn: schedulerRole.arn,
            input: pulumi
              .all([reconcileDocument.name, worker.id, commandLogGroup.name])
              .apply(([documentName, instanceId, logGroupName]) =>
                JSON.stringify({
                  DocumentName: documentName,
                  InstanceIds: [instanceId],
                  Parameters: { [RECONCILE_PARAMETERS.dryRun]: ["false"] },
                  Comment: "ecr-sync scheduled reconcile",
                  TimeoutSeconds: COMMAND_DELIVERY_TIMEOUT_SECONDS,
                  CloudWatchOutputConfig: {
                    CloudWatchOutputEnabled: true,
                    CloudWatchLogGroupName: logGroupName,
                  },
                }),
              ),
            ...delivery,
          },
        },
        { parent: this, dependsOn: [schedulerRolePolicy] },
      );
      scheduleName = schedule.name;
      senderRoleArns.push(schedulerRole.arn);
    }
    new aws.sqs.QueuePolicy(
      `${name}-dead-letters-policy`,
      {
        queueUrl: deadLetterQueue.url,
        policy: pulumi
          .all([deadLetterQueue.arn, pushRule.arn, commandFailedRule.arn, pulumi.all(senderRoleArns)])
          .apply(([queueArn, pushRuleArn, commandFailedRuleArn, roleArns]) =>
            JSON.stringify(
              deadLetterQueuePolicy({
                queueArn,
                ruleArns: [pushRuleArn, commandFailedRuleArn],
                senderRoleArns: roleArns,
              }),
            ),
          ),
      },
      { parent: this },
    );

    this.workerRoleArn = workerRole.arn;
    this.workerRoleName = workerRole.name;
    this.workerInstanceId = worker.id;
    this.workerAmiId = worker.ami;
    this.workerSubnetId = worker.subnetId;
    this.workerSecurityGroupId = securityGroup.id;
    this.syncDocumentName = syncDocument.name;
    this.syncDocumentArn = syncDocument.arn;
    this.commandLogGroupName = commandLogGroup.name;
    this.commandLogGroupArn = commandLogGroup.arn;
    this.functionName = pushTrigger.name;
    this.functionArn = pushTrigger.arn;
    this.functionLogGroupName = functionLogGroup.name;
    this.pushRuleName = pushRule.name;
    this.pushRuleArn = pushRule.arn;
    this.reconcileDocumentName = reconcileDocument.name;
    this.reconcileDocumentArn = reconcileDocument.arn;
    this.reconcileScheduleName = scheduleName;
    this.deadLetterQueueUrl = deadLetterQueue.url;
    this.deadLetterQueueArn = deadLetterQueue.arn;
    this.alertTopicArn = alertTopic.arn;
    this.commandFailedRuleName = commandFailedRule.name;
    this.backfillCommand = pulumi
      .all([args.region, reconcileDocument.name, worker.id, commandLogGroup.name])
      .apply(([region, documentName, instanceId, logGroupName]) =>
        backfillCommand({ region, documentName, instanceId, logGroupName }),
      );
    this.registerOutputs({
      workerRoleArn: this.workerRoleArn,
      workerRoleName: this.workerRoleName,
      workerInstanceId: this.workerInstanceId,
      workerAmiId: this.workerAmiId,
      workerSubnetId: this.workerSubnetId,
      workerSecurityGroupId: this.workerSecurityGroupId,
      syncDocumentName: this.syncDocumentName,
      syncDocumentArn: this.syncDocumentArn,
      commandLogGroupName: this.commandLogGroupName,
      commandLogGroupArn: this.commandLogGroupArn,
      functionName: this.functionName,
      functionArn: this.functionArn,
      functionLogGroupName: this.functionLogGroupName,
      pushRuleName: this.pushRuleName,
      pushRuleArn: this.pushRuleArn,
      reconcileDocumentName: this.reconcileDocumentName,
      reconcileDocumentArn: this.reconcileDocumentArn,
      reconcileScheduleName: this.reconcileScheduleName,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      deadLetterQueueArn: this.deadLetterQueueArn,
      alertTopicArn: this.alertTopicArn,
      commandFailedRuleName: this.commandFailedRuleName,
      backfillCommand: this.backfillCommand,
    });
  }

  /**
   * The default VPC's default subnet with the lowest id among the availability zones that offer
   * the instance type: deterministic, so running `pulumi up` again never moves the worker.
   */
  private defaultSubnet(instanceType: pulumi.Output<string>): pulumi.Output<string> {
    const offerings = aws.ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [instanceType] }] },
      { parent: this },
    );
    const subnets = aws.ec2.getSubnetsOutput(
      {
        filters: [
          { name: "default-for-az", values: ["true"] },
          { name: "availability-zone", values: offerings.locations },
        ],
      },
      { parent: this },
    );
    return pulumi.all([subnets.ids, instanceType]).apply(([ids, type]) => {
      if (ids.length === 0) {
        throw new Error(
          `no default-VPC subnet in an availability zone that offers ${type}: give the worker a subnet (config ecr-sync:workerSubnetId)`,
        );
      }
      return [...ids].sort()[0];
    });
  }
}

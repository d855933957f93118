import * as pulumi from "@pulumi/pulumi";
import { createAlerting } from "./alerting";
import { repositoryArn } from "./arns";
import { CopierBundleInput, createCopierBucket, uploadCopier } from "./copier-artifact";
import { createDashboard } from "./dashboard";
import { createDeadLetterQueue, createDeadLetterQueuePolicy } from "./dead-letters";
import { createLogs } from "./logs";
import { createMetricFilters } from "./metrics";
import { createPushTrigger, pushTriggerName } from "./push-trigger";
import { backfillCommand, createReconcileSchedule } from "./reconcile-schedule";
import { createSsmDocuments } from "./ssm-documents";
import { createWorker } from "./worker";

/**
 * Every field is required and already resolved: the defaults live in components/config-keys.ts. A value
 * whose absence means something (no e-mail subscription, the default subnet, no schedule) is typed
 * `T | undefined`, so leaving it out is a compile error rather than a silent default.
 */
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
  /**
   * The copier's bundle (ec2-scripts/bundle.ts `bundleCopierSync()`): uploaded to the copier bucket
   * by its sha256, which the documents name and check.
   */
  readonly copierBundle: pulumi.Input<CopierBundleInput>;
  /** The push trigger's bundled CommonJS source (lambda/bundle.ts `bundleHandler()`). */
  readonly pushTriggerSource: pulumi.Input<string>;
  /** The worker's instance type; its architecture must match the AMI's. */
  readonly workerInstanceType: pulumi.Input<string>;
  /**
   * The worker's subnet; it needs a route to the AWS APIs and ECR over HTTPS. `undefined`: the
   * default VPC's default subnet (lowest id) in an availability zone that offers the type.
   */
  readonly workerSubnetId: pulumi.Input<string> | undefined;
  /** The public SSM parameter naming the worker's AMI. */
  readonly workerAmiParameter: pulumi.Input<string>;
  /** Retention of the function's and the commands' log groups, in days. */
  readonly logRetentionDays: pulumi.Input<number>;
  /** An address the alert topic e-mails (the subscription must be confirmed); `undefined`: none. */
  readonly alertEmail: string | undefined;
  /** The latency (seconds, p90 over 15 minutes) above which the latency alarm fires. */
  readonly latencyAlarmSeconds: number;
  /** How alerts name the runbook: its web address (ecr-sync:runbookUrl) or the path docs/runbook.md. */
  readonly runbook: string;
  /**
   * When the worker runs the copier's `reconcile`: an EventBridge Scheduler expression (rate(…) or
   * cron(…), UTC), or `undefined` for no schedule (the reconcile document stays, for backfills).
   */
  readonly reconcileSchedule: string | undefined;
  /** How many missing tags a reconcile (scheduled or a backfill) copies at a time, 1 to 16. */
  readonly reconcileParallelism: number;
  /** Whether an image's referrers (signatures, SBOMs, attestations) travel with it. Default true. */
  readonly copyReferrers?: boolean;
}

/**
 * Everything in the css account: an EventBridge rule for tagged pushes to the mapped
 * repositories → the push-trigger Lambda → SSM SendCommand of the sync document (which fetches the
 * copier from its bucket by sha256) → the worker instance, whose role may read only the mapped repositories and
 * assume only the target role. Around it: the log groups, a dead-letter queue, alerts, and a
 * reconcile schedule. Each concern is built by one function in its own file; every resource's
 * parent is this component.
 */
export class SourceSync extends pulumi.ComponentResource {
  public readonly workerRoleArn: pulumi.Output<string>;
  public readonly workerRoleName: pulumi.Output<string>;
  public readonly workerInstanceId: pulumi.Output<string>;
  /** The worker instance's ARN: the target role's trust admits only this instance's credentials. */
  public readonly workerInstanceArn: pulumi.Output<string>;
  public readonly workerAmiId: pulumi.Output<string>;
  public readonly workerSubnetId: pulumi.Output<string>;
  public readonly workerSecurityGroupId: pulumi.Output<string>;
  /** The private bucket the copier is uploaded to. */
  public readonly copierBucketName: pulumi.Output<string>;
  /** The sha256 of the copier the documents run: a preview shows a new copier as a change here. */
  public readonly copierSha256: pulumi.Output<string>;
  public readonly syncDocumentName: pulumi.Output<string>;
  public readonly syncDocumentArn: pulumi.Output<string>;
  public readonly commandLogGroupName: pulumi.Output<string>;
  public readonly commandLogGroupArn: pulumi.Output<string>;
  /**
   * Where the copier writes each result line as its own event; its name is the documents'
   * ECR_SYNC_RESULTS_LOG_GROUP (common/telemetry.ts RESULTS_LOG_GROUP_ENV).
   */
  public readonly resultsLogGroupName: pulumi.Output<string>;
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
  /** The CloudWatch dashboard's console URL. */
  public readonly dashboardUrl: pulumi.Output<string>;
  /** The `aws ssm send-command` that starts a reconcile (backfill) now. */
  public readonly backfillCommand: pulumi.Output<string>;

  constructor(name: string, args: SourceSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ecr-sync:index:SourceSync", name, {}, opts);

    const repositories = pulumi.output(args.repositories);
    const sourceRepositoryNames = repositories.apply((map) => Object.keys(map).sort());
    const sourceRepositoryArns = pulumi
      .all([args.accountId, args.region, sourceRepositoryNames])
      .apply(([accountId, region, names]) => names.map((n) => repositoryArn(accountId, region, n)));

    const logs = createLogs(
      name,
      { functionName: pushTriggerName(name), retentionInDays: args.logRetentionDays },
      this,
    );
    const copier = createCopierBucket(name, this);
    const upload = uploadCopier(name, { bucketName: copier.bucketName, bundle: args.copierBundle }, this);
    const worker = createWorker(
      name,
      {
        instanceType: args.workerInstanceType,
        subnetId: args.workerSubnetId,
        amiParameter: args.workerAmiParameter,
        region: args.region,
        sourceRepositoryArns,
        targetRoleArn: args.targetRoleArn,
        commandLogGroupArn: logs.commandLogGroup.arn,
        resultsLogGroupArn: logs.resultsLogGroup.arn,
        copierBucketName: copier.bucketName,
      },
      this,
    );
    const documents = createSsmDocuments(
      name,
      {
        repositories,
        accountId: args.accountId,
        targetAccountId: args.targetAccountId,
        region: args.region,
        targetRoleArn: args.targetRoleArn,
        copier: pulumi
          .all([copier.bucketName, upload.sha256, args.region])
          .apply(([bucket, sha256, region]) => ({ bucket, sha256, region })),
        resultsLogGroupName: logs.resultsLogGroup.name,
        reconcileParallelism: args.reconcileParallelism,
        copyReferrers: args.copyReferrers ?? true,
      },
      this,
    );
    const deadLetters = createDeadLetterQueue(name, this);
    const pushTrigger = createPushTrigger(
      name,
      {
        source: args.pushTriggerSource,
        repositories,
        sourceRepositoryNames,
        instance: worker.instance,
        syncDocument: documents.syncDocument,
        commandLogGroupName: logs.commandLogGroup.name,
        functionLogGroup: logs.functionLogGroup,
        deadLetterQueueArn: deadLetters.queue.arn,
        delivery: deadLetters.delivery,
      },
      this,
    );
    createMetricFilters(name, { functionLogGroupName: logs.functionLogGroup.name }, this);
    const schedule = createReconcileSchedule(
      name,
      {
        scheduleExpression: args.reconcileSchedule,
        reconcileDocument: documents.reconcileDocument,
        instance: worker.instance,
        commandLogGroupName: logs.commandLogGroup.name,
        deadLetterQueueArn: deadLetters.queue.arn,
      },
      this,
    );
    const alerting = createAlerting(
      name,
      {
        syncDocumentName: documents.syncDocument.name,
        reconcileDocumentName: documents.reconcileDocument.name,
        commandLogGroupName: logs.commandLogGroup.name,
        deadLetterQueueName: deadLetters.queue.name,
        functionName: pushTrigger.function.name,
        delivery: deadLetters.delivery,
        alertEmail: args.alertEmail,
        instanceId: worker.instance.id,
        region: args.region,
        latencyAlarmSeconds: args.latencyAlarmSeconds,
        runbook: args.runbook,
        reconcileSchedule: schedule.timing,
      },
      this,
    );
    const dashboard = createDashboard(
      name,
      {
        region: args.region,
        resultsLogGroupName: logs.resultsLogGroup.name,
        functionName: pushTrigger.function.name,
        deadLetterQueueName: deadLetters.queue.name,
        instanceId: worker.instance.id,
        latencyAlarmSeconds: args.latencyAlarmSeconds,
        alarmArns: alerting.alarmArns,
      },
      this,
    );
    createDeadLetterQueuePolicy(
      name,
      {
        queue: deadLetters.queue,
        pushRuleArn: pushTrigger.rule.arn,
        commandFailedRuleArn: alerting.commandFailedRule.arn,
        senderRoleArns: [pushTrigger.role.arn, ...(schedule.roleArn === undefined ? [] : [schedule.roleArn])],
      },
      this,
    );

    this.workerRoleArn = worker.role.arn;
    this.workerRoleName = worker.role.name;
    this.workerInstanceId = worker.instance.id;
    this.workerInstanceArn = worker.instance.arn;
    this.workerAmiId = worker.instance.ami;
    this.workerSubnetId = worker.instance.subnetId;
    this.workerSecurityGroupId = worker.securityGroup.id;
    this.copierBucketName = copier.bucketName;
    this.copierSha256 = upload.sha256;
    this.syncDocumentName = documents.syncDocument.name;
    this.syncDocumentArn = documents.syncDocument.arn;
    this.commandLogGroupName = logs.commandLogGroup.name;
    this.commandLogGroupArn = logs.commandLogGroup.arn;
    this.resultsLogGroupName = logs.resultsLogGroup.name;
    this.functionName = pushTrigger.function.name;
    this.functionArn = pushTrigger.function.arn;
    this.functionLogGroupName = logs.functionLogGroup.name;
    this.pushRuleName = pushTrigger.rule.name;
    this.pushRuleArn = pushTrigger.rule.arn;
    this.reconcileDocumentName = documents.reconcileDocument.name;
    this.reconcileDocumentArn = documents.reconcileDocument.arn;
    this.reconcileScheduleName = schedule.scheduleName;
    this.deadLetterQueueUrl = deadLetters.queue.url;
    this.deadLetterQueueArn = deadLetters.queue.arn;
    this.alertTopicArn = alerting.topic.arn;
    this.commandFailedRuleName = alerting.commandFailedRule.name;
    this.dashboardUrl = dashboard.url;
    this.backfillCommand = pulumi
      .all([args.region, documents.reconcileDocument.name, worker.instance.id, logs.commandLogGroup.name])
      .apply(([region, documentName, instanceId, logGroupName]) =>
        backfillCommand({ region, documentName, instanceId, logGroupName }),
      );
    this.registerOutputs({
      workerRoleArn: this.workerRoleArn,
      workerRoleName: this.workerRoleName,
      workerInstanceId: this.workerInstanceId,
      workerInstanceArn: this.workerInstanceArn,
      workerAmiId: this.workerAmiId,
      workerSubnetId: this.workerSubnetId,
      workerSecurityGroupId: this.workerSecurityGroupId,
      copierBucketName: this.copierBucketName,
      copierSha256: this.copierSha256,
      syncDocumentName: this.syncDocumentName,
      syncDocumentArn: this.syncDocumentArn,
      commandLogGroupName: this.commandLogGroupName,
      commandLogGroupArn: this.commandLogGroupArn,
      resultsLogGroupName: this.resultsLogGroupName,
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
      dashboardUrl: this.dashboardUrl,
      backfillCommand: this.backfillCommand,
    });
  }
}

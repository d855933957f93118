/**
 * Failures reach a person: the alert topic (with an optional e-mail subscription), the rule that
 * sends it every sync or reconcile command that ended badly, and the alarms (dead letters, push
 * trigger errors, invalid events, latency, the reconcile heartbeat, the worker's status checks),
 * which notify when they fire and when they clear. What to do with each alert: docs/runbook.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Delivery } from "./dead-letters";
import { METRIC_NAMESPACE, METRICS } from "../common/telemetry";
import { heartbeatHours } from "./heartbeat";
import { commandFailureEventPattern } from "./patterns";
import { RUNBOOK_PATH } from "./config-values";
import { alertTopicPolicy } from "./policies";
import { ReconcileTiming } from "./reconcile-schedule";

/**
 * The text the alert topic receives for a failed command: what failed, the runbook's section, and
 * how to read its output. An EventBridge input transformer; the values in <…> come from the event.
 */
export function commandFailureNotice(
  logGroupName: string,
  runbook: string = RUNBOOK_PATH,
): {
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
    // The command comes last, so that it can be copied whole.
    inputTemplate: JSON.stringify(
      `ecr-sync: the SSM command <command> (document <document>) ended <status> at <time>. ` +
        `Runbook: ${runbook}#failed-command. ` +
        `Its output is in the CloudWatch log group ${logGroupName}; or run: ` +
        `aws ssm list-command-invocations --region <region> --command-id <command> --details`,
    ),
  };
}

/** The latency alarm: the 90th percentile over 15-minute periods, one period above the threshold. */
export const LATENCY_ALARM = { extendedStatistic: "p90", period: 900, evaluationPeriods: 1 } as const;

// The no-reconcile alarm's clock, shared with the config check of ecr-sync:reconcileSchedule.
export { HEARTBEAT_MIN_HOURS, heartbeatHours } from "./heartbeat";

/** The heartbeat's metric math: the id of the reconcile-runs metric and of the expression alarmed on. */
export const HEARTBEAT_QUERY_IDS = { runs: "runs", heartbeat: "heartbeat" } as const;

/**
 * The heartbeat, one value per hour: 1 for an hour that began before the first scheduled run was due
 * (a new schedule owes nothing yet), otherwise the reconcile runs that finished in it, missing hours
 * filled with 0. The alarm fires when `heartbeatHours` values in a row are below 1.
 *
 * Why this form (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
 * EPOCH, like MINUTE and HOUR, takes "the period and range of the time series and return[s] a new
 * non-sparse time series where each value is based on its timestamp" (compared here as seconds since
 * 1970, the unit of CloudWatch's other times: PERIOD, DIFF_TIME), so the series has a value for every
 * hour even while ReconcileRuns has no data at all, as on a fresh stack; `IF(TS
 * comparison S, S, TS)` takes the scalar where the comparison holds and the time series elsewhere;
 * `FILL(m, 0)` fills the hours without a run. With no hour missing, CloudWatch evaluates exactly the
 * most recent evaluation periods and treatMissingData never applies
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html); were
 * the expression ever empty, `breaching` keeps the old, loud behaviour. The first run's time is fixed
 * when the schedule group is created (components/reconcile-schedule.ts `firstReconcileAt`), so the
 * expression never changes from one `pulumi up` to the next.
 */
export function heartbeatExpression(firstRunAt: string): string {
  const due = Date.parse(firstRunAt);
  if (Number.isNaN(due)) throw new Error(`firstRunAt: ${JSON.stringify(firstRunAt)} is not a date`);
  const { runs } = HEARTBEAT_QUERY_IDS;
  return `IF(EPOCH(${runs}) < ${Math.floor(due / 1000)}, 1, FILL(${runs}, 0))`;
}

/** The action that moves an impaired instance to new hardware (CloudWatch action based recovery). */
export function recoverActionArn(region: string): string {
  return `arn:aws:automate:${region}:ec2:recover`;
}

export interface AlertingArgs {
  /** The documents whose failed commands are alerted on. */
  readonly syncDocumentName: pulumi.Output<string>;
  readonly reconcileDocumentName: pulumi.Output<string>;
  /** Where those commands' output is, for the notice. */
  readonly commandLogGroupName: pulumi.Output<string>;
  /** The dead-letter queue whose messages raise an alarm. */
  readonly deadLetterQueueName: pulumi.Output<string>;
  /** The push trigger whose errors raise an alarm. */
  readonly functionName: pulumi.Output<string>;
  /** How the failed-command rule delivers to the topic. */
  readonly delivery: Delivery;
  /** An address the topic e-mails; `undefined`: no subscription. */
  readonly alertEmail: string | undefined;
  /** The worker, whose status checks raise alarms. */
  readonly instanceId: pulumi.Output<string>;
  /** The region, for the recover action's ARN. */
  readonly region: pulumi.Input<string>;
  /** The latency (seconds, p90 over 15 minutes) above which the latency alarm fires. */
  readonly latencyAlarmSeconds: number;
  /** How each alert names the runbook: its web address, or its path (ecr-sync:runbookUrl). */
  readonly runbook: string;
  /**
   * The reconcile schedule's expression and when its first run is due (the heartbeat counts from
   * then); `undefined` (off): no heartbeat alarm, since no run is expected.
   */
  readonly reconcileSchedule: ReconcileTiming | undefined;
}

export interface Alerting {
  readonly topic: aws.sns.Topic;
  readonly commandFailedRule: aws.cloudwatch.EventRule;
  /** Every alarm, for the dashboard's alarm status widget. */
  readonly alarmArns: pulumi.Output<string>[];
}

export function createAlerting(name: string, args: AlertingArgs, parent: pulumi.Resource): Alerting {
  const topic = new aws.sns.Topic(
    `${name}-alerts`,
    { name: `${name}-alerts`, displayName: "ecr-sync alerts" },
    { parent },
  );

  // A sync or reconcile command that ended Failed, TimedOut or Cancelled → the alert topic.
  const commandFailedRule = new aws.cloudwatch.EventRule(
    `${name}-command-failed-rule`,
    {
      name: `${name}-command-failed`,
      description: "An ecr-sync SSM command (copy or reconcile) ended Failed, TimedOut or Cancelled.",
      eventPattern: pulumi
        .all([args.syncDocumentName, args.reconcileDocumentName])
        .apply((names) => JSON.stringify(commandFailureEventPattern(names))),
    },
    { parent },
  );
  new aws.cloudwatch.EventTarget(
    `${name}-command-failed-target`,
    {
      rule: commandFailedRule.name,
      targetId: "alert-topic",
      arn: topic.arn,
      inputTransformer: args.commandLogGroupName.apply((group) => commandFailureNotice(group, args.runbook)),
      ...args.delivery,
    },
    { parent },
  );

  // By default an alarm fires on any datapoint above zero in five minutes, and notifies when it
  // clears; each alarm below overrides what differs. A metric math alarm gives each metric its period.
  const alarm = (resourceName: string, args: aws.cloudwatch.MetricAlarmArgs) =>
    new aws.cloudwatch.MetricAlarm(
      resourceName,
      {
        ...(args.metricQueries === undefined ? { period: 300 } : {}),
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [topic.arn],
        okActions: [topic.arn],
        ...args,
      },
      { parent },
    );
  // Messages someone is inspecting are invisible for their visibility timeout, so this metric can
  // drop to 0 (and the alarm send OK) while dead letters remain: the description does not promise
  // that the alarm lasts until the queue is empty.
  const deadLetterAlarm = alarm(`${name}-dead-letters-alarm`, {
    name: `${name}-dead-letters`,
    alarmDescription: `ecr-sync: an event or scheduled reconcile could not be acted on and sits in the dead-letter queue. Inspect and redrive the dead letters. Runbook: ${args.runbook}#dead-letters`,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: args.deadLetterQueueName },
    statistic: "Maximum",
  });
  const functionErrorsAlarm = alarm(`${name}-function-errors-alarm`, {
    name: `${name}-push-trigger-errors`,
    alarmDescription: `ecr-sync: the push trigger failed on an event (Lambda retries twice, then the event goes to the dead-letter queue). Read its log group. Runbook: ${args.runbook}#push-trigger-errors`,
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: { FunctionName: args.functionName },
    statistic: "Sum",
  });
  const invalidEventsAlarm = alarm(`${name}-invalid-events-alarm`, {
    name: `${name}-invalid-events`,
    alarmDescription: `ecr-sync: the push trigger received an event it can never act on (not what ECR sends); that push is not synced. Read the invalid lines in its log group. Runbook: ${args.runbook}#invalid-events`,
    namespace: METRIC_NAMESPACE,
    metricName: METRICS.invalidDecisions,
    statistic: "Sum",
  });
  const latencyAlarm = alarm(`${name}-latency-alarm`, {
    name: `${name}-latency`,
    alarmDescription: `ecr-sync: the 90th percentile of push-to-legacy latency (push to css until verified in legacy) over 15 minutes was above ${args.latencyAlarmSeconds} s. Runbook: ${args.runbook}#latency-high`,
    namespace: METRIC_NAMESPACE,
    metricName: METRICS.latency,
    extendedStatistic: LATENCY_ALARM.extendedStatistic,
    period: LATENCY_ALARM.period,
    evaluationPeriods: LATENCY_ALARM.evaluationPeriods,
    threshold: args.latencyAlarmSeconds,
    // No copy in the period: nothing was slow.
    treatMissingData: "notBreaching",
  });
  // The heartbeat: a reconcile's summary line every schedule interval. No line at all is the
  // failure this alarm exists for (a stopped worker, an SSM agent offline, a schedule that never
  // fires: nothing runs, so nothing fails), so an hour without one counts against it, except the
  // hours before the first run was due: a fresh stack is quiet until a run is owed
  // (heartbeatExpression; docs/runbook.md#no-reconcile).
  const heartbeat = (schedule: ReconcileTiming) => {
    const hours = heartbeatHours(schedule.expression);
    return alarm(`${name}-no-reconcile-alarm`, {
      name: `${name}-no-reconcile`,
      alarmDescription: `ecr-sync: no reconcile finished in ${hours} hours (schedule ${schedule.expression}; a new schedule counts from its first run): the worker, its SSM agent or the schedule is down, so lost events are not healed. Runbook: ${args.runbook}#no-reconcile`,
      metricQueries: [
        {
          id: HEARTBEAT_QUERY_IDS.heartbeat,
          label: "Reconcile runs per hour (1 before the first run is due)",
          expression: schedule.firstRunAt.apply(heartbeatExpression),
          returnData: true,
        },
        {
          id: HEARTBEAT_QUERY_IDS.runs,
          metric: {
            namespace: METRIC_NAMESPACE,
            metricName: METRICS.reconcileRuns,
            stat: "Sum",
            period: 3600,
          },
          returnData: false,
        },
      ],
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    });
  };
  const heartbeatAlarm = args.reconcileSchedule === undefined ? undefined : heartbeat(args.reconcileSchedule);
  // EC2's simplified automatic recovery is on by default for supported instance types (t4g.small,
  // the default worker, is one: EBS only, default tenancy) and moves the instance to new hardware
  // when the *system* status check fails, but on its own schedule and silently (an AWS Health
  // event only). The recover action below is CloudWatch action based recovery: it acts within
  // minutes, covers a configured type simplified recovery does not support, and this alarm tells
  // a person either way. A failing *instance* check (the OS: full disk, kernel panic, no network)
  // is never recovered by AWS: it is alerted only.
  const systemCheckAlarm = alarm(`${name}-worker-system-check-alarm`, {
    name: `${name}-worker-system-check`,
    alarmDescription: `ecr-sync: the worker's system status check failed (AWS hardware or network); the recover action moves it to new hardware. Runbook: ${args.runbook}#worker-status-check`,
    namespace: "AWS/EC2",
    metricName: "StatusCheckFailed_System",
    dimensions: { InstanceId: args.instanceId },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 2,
    alarmActions: [pulumi.output(args.region).apply(recoverActionArn), topic.arn],
  });
  const instanceCheckAlarm = alarm(`${name}-worker-instance-check-alarm`, {
    name: `${name}-worker-instance-check`,
    alarmDescription: `ecr-sync: the worker's instance status check failed (its operating system: disk, memory, network); AWS does not recover this. Runbook: ${args.runbook}#worker-status-check`,
    namespace: "AWS/EC2",
    metricName: "StatusCheckFailed_Instance",
    dimensions: { InstanceId: args.instanceId },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 3,
  });
  const alarms = [
    deadLetterAlarm,
    functionErrorsAlarm,
    invalidEventsAlarm,
    latencyAlarm,
    ...(heartbeatAlarm === undefined ? [] : [heartbeatAlarm]),
    systemCheckAlarm,
    instanceCheckAlarm,
  ];

  new aws.sns.TopicPolicy(
    `${name}-alerts-policy`,
    {
      arn: topic.arn,
      policy: pulumi
        .all([topic.arn, commandFailedRule.arn, ...alarms.map((a) => a.arn)])
        .apply(([topicArn, ruleArn, ...alarmArns]) =>
          JSON.stringify(alertTopicPolicy({ topicArn, ruleArns: [ruleArn], alarmArns })),
        ),
    },
    { parent },
  );
  if (args.alertEmail !== undefined) {
    new aws.sns.TopicSubscription(
      `${name}-alerts-email`,
      { topic: topic.arn, protocol: "email", endpoint: args.alertEmail },
      { parent },
    );
  }
  return { topic, commandFailedRule, alarmArns: alarms.map((a) => a.arn) };
}

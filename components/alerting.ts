/**
 * Failures reach a person: the alert topic (with an optional e-mail subscription), the rule that
 * sends it every sync or reconcile command that ended badly, and two alarms (anything in the
 * dead-letter queue, any error of the push trigger), which notify when they fire and when they
 * clear. What to do with each alert: docs/runbook.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Delivery } from "./dead-letters";
import { commandFailureEventPattern } from "./patterns";
import { alertTopicPolicy } from "./policies";

/**
 * The text the alert topic receives for a failed command: what failed, the runbook's section, and
 * how to read its output. An EventBridge input transformer; the values in <…> come from the event.
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
    // The command comes last, so that it can be copied whole.
    inputTemplate: JSON.stringify(
      `ecr-sync: the SSM command <command> (document <document>) ended <status> at <time>. ` +
        `Runbook: docs/runbook.md#failed-command. ` +
        `Its output is in the CloudWatch log group ${logGroupName}; or run: ` +
        `aws ssm list-command-invocations --region <region> --command-id <command> --details`,
    ),
  };
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
}

export interface Alerting {
  readonly topic: aws.sns.Topic;
  readonly commandFailedRule: aws.cloudwatch.EventRule;
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
      inputTransformer: args.commandLogGroupName.apply(commandFailureNotice),
      ...args.delivery,
    },
    { parent },
  );

  // Both alarms fire on any datapoint above zero in five minutes, and notify when they clear.
  const alarm = (
    resourceName: string,
    metric: Pick<
      aws.cloudwatch.MetricAlarmArgs,
      "name" | "alarmDescription" | "namespace" | "metricName" | "dimensions" | "statistic"
    >,
  ) =>
    new aws.cloudwatch.MetricAlarm(
      resourceName,
      {
        ...metric,
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [topic.arn],
        okActions: [topic.arn],
      },
      { parent },
    );
  // Messages someone is inspecting are invisible for their visibility timeout, so this metric can
  // drop to 0 (and the alarm send OK) while dead letters remain: the description does not promise
  // that the alarm lasts until the queue is empty.
  const deadLetterAlarm = alarm(`${name}-dead-letters-alarm`, {
    name: `${name}-dead-letters`,
    alarmDescription:
      "ecr-sync: an event or scheduled reconcile could not be acted on and sits in the dead-letter queue. Inspect and redrive the dead letters. Runbook: docs/runbook.md#dead-letters",
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: args.deadLetterQueueName },
    statistic: "Maximum",
  });
  const functionErrorsAlarm = alarm(`${name}-function-errors-alarm`, {
    name: `${name}-push-trigger-errors`,
    alarmDescription:
      "ecr-sync: the push trigger failed on an event (Lambda retries twice, then the event goes to the dead-letter queue). Read its log group. Runbook: docs/runbook.md#push-trigger-errors",
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: { FunctionName: args.functionName },
    statistic: "Sum",
  });

  new aws.sns.TopicPolicy(
    `${name}-alerts-policy`,
    {
      arn: topic.arn,
      policy: pulumi
        .all([topic.arn, commandFailedRule.arn, deadLetterAlarm.arn, functionErrorsAlarm.arn])
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
  return { topic, commandFailedRule };
}

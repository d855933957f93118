/**
 * Failures reach a person, gaps heal: the css stack's dead-letter queue, alert topic, failed-command
 * rule, alarms and reconcile schedule, as the real program renders them under the strict mocks
 * (local/render/), with the stack's real config and with changed config.
 *
 * The failed-command pattern is also evaluated by a real matcher: moto's EventBridge, through a rule
 * with the rendered pattern and an SQS target (the approach of test/unit/patterns.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { CONFIG_DEFAULTS } from "../../components/config-keys";
import { buildReconcileDocument, CommandDocument } from "../../components/document-content";
import { heartbeatExpression } from "../../components/alerting";
import { commandFailureEventPattern } from "../../components/patterns";
import { firstReconcileAt } from "../../components/reconcile-schedule";
import {
  PROJECT_ROOT,
  Rendering,
  jsonInput,
  renderStack,
  resource,
  resourcesOfType,
} from "../../local/render";
import { MotoServer, startMoto } from "../../local/moto";

const T = {
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  function: "aws:lambda/function:Function",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  schedule: "aws:scheduler/schedule:Schedule",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  document: "aws:ssm/document:Document",
  instance: "aws:ec2/instance:Instance",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
};

const CSS = "770203350335";
const LEGACY = "730096353738";
const QUEUE_ARN = `arn:aws:sqs:us-east-1:${CSS}:ecr-sync-dead-letters`;
const TOPIC_ARN = `arn:aws:sns:us-east-1:${CSS}:ecr-sync-alerts`;

describe("css stack: failures reach a person, gaps heal (under mocks)", function () {
  this.timeout(120000);
  let css: Rendering;
  let withEmailAndCron: Rendering;
  let scheduleOff: Rendering;
  let withRunbookUrl: Rendering;
  const RUNBOOK_URL = "https://github.com/example-org/ecr-sync/blob/main/docs/runbook.md";

  before(async () => {
    [css, withEmailAndCron, scheduleOff, withRunbookUrl] = await Promise.all([
      renderStack("css"),
      renderStack("css", {
        config: {
          "ecr-sync:alertEmail": "kuali-oncall@example.edu",
          "ecr-sync:reconcileSchedule": "cron(30 5 * * ? *)",
          "ecr-sync:latencyAlarmSeconds": 1800,
        },
      }),
      renderStack("css", { config: { "ecr-sync:reconcileSchedule": "off" } }),
      renderStack("css", { config: { "ecr-sync:runbookUrl": RUNBOOK_URL } }),
    ]);
  });

  it("links every alert to its runbook section by the runbook's web address when ecr-sync:runbookUrl is set, else by its path", () => {
    const descriptions = (r: Rendering) =>
      r.resources
        .filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm")
        .map((x) => String(x.inputs.alarmDescription));
    const notice = (r: Rendering) =>
      String(
        (
          resource(r, T.target, "ecr-sync-command-failed-target").inputs.inputTransformer as {
            inputTemplate: string;
          }
        ).inputTemplate,
      );
    expect(descriptions(withRunbookUrl)).to.have.length.greaterThan(5);
    for (const text of [...descriptions(withRunbookUrl), notice(withRunbookUrl)])
      expect(text).to.match(new RegExp(`Runbook: ${RUNBOOK_URL.replace(/[./]/g, "\\$&")}#[a-z-]+`));
    for (const text of [...descriptions(css), notice(css)])
      expect(text).to.match(/Runbook: docs\/runbook\.md#[a-z-]+/);
  });

  describe("the dead-letter queue", () => {
    it("keeps messages 14 days, encrypted at rest with SQS-managed keys", () => {
      const queue = resource(css, T.queue, "ecr-sync-dead-letters");
      expect(queue.inputs).to.deep.equal({
        name: "ecr-sync-dead-letters",
        messageRetentionSeconds: 1209600,
        sqsManagedSseEnabled: true,
      });
      expect(queue.state.arn).to.equal(QUEUE_ARN);
    });

    it("receives the push trigger's events once Lambda's two retries within an hour are spent", () => {
      const config = resource(css, T.invokeConfig, "ecr-sync-function-async");
      expect(config.inputs).to.deep.equal({
        functionName: resource(css, T.function, "ecr-sync-function").state.name,
        maximumRetryAttempts: 2,
        maximumEventAgeInSeconds: 3600,
        destinationConfig: { onFailure: { destination: QUEUE_ARN } },
      });
      const sendPolicy = jsonInput(resource(css, T.rolePolicy, "ecr-sync-function-dead-letter"), "policy");
      expect(sendPolicy).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          { Sid: "SendToDeadLetterQueue", Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE_ARN },
        ],
      });
      expect(resource(css, T.rolePolicy, "ecr-sync-function-dead-letter").inputs.role).to.equal(
        "ecr-sync-push-trigger",
      );
    });

    it("receives what EventBridge could not deliver to the push trigger or to the alert topic, after bounded retries", () => {
      for (const name of ["ecr-sync-push-target", "ecr-sync-command-failed-target"]) {
        const target = resource(css, T.target, name);
        expect(target.inputs.deadLetterConfig, name).to.deep.equal({ arn: QUEUE_ARN });
        expect(target.inputs.retryPolicy, name).to.deep.equal({
          maximumEventAgeInSeconds: 3600,
          maximumRetryAttempts: 8,
        });
      }
    });

    it("lets only the two rules (by aws:SourceArn), the push trigger's role and the schedule's role send to it", () => {
      const policy = resource(css, T.queuePolicy, "ecr-sync-dead-letters-policy");
      expect(policy.inputs.queueUrl).to.equal(
        `https://sqs.us-east-1.amazonaws.com/${CSS}/ecr-sync-dead-letters`,
      );
      expect(jsonInput(policy, "policy")).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "RulesDeliverFailedEvents",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: QUEUE_ARN,
            Condition: {
              ArnEquals: {
                "aws:SourceArn": [
                  `arn:aws:events:us-east-1:${CSS}:rule/ecr-sync-command-failed`,
                  `arn:aws:events:us-east-1:${CSS}:rule/ecr-sync-push`,
                ],
              },
            },
          },
          {
            Sid: "RolesSendFailedInvocations",
            Effect: "Allow",
            Principal: {
              AWS: [
                `arn:aws:iam::${CSS}:role/ecr-sync-push-trigger`,
                `arn:aws:iam::${CSS}:role/ecr-sync-reconcile-scheduler`,
              ],
            },
            Action: "sqs:SendMessage",
            Resource: QUEUE_ARN,
          },
        ],
      });
    });
  });

  describe("failed commands", () => {
    it("matches the sync and reconcile documents' commands that ended Failed, TimedOut or Cancelled", () => {
      const rule = resource(css, T.rule, "ecr-sync-command-failed-rule");
      expect(rule.inputs.name).to.equal("ecr-sync-command-failed");
      expect(jsonInput(rule, "eventPattern")).to.deep.equal({
        source: ["aws.ssm"],
        "detail-type": ["EC2 Command Status-change Notification"],
        detail: {
          "document-name": ["ecr-sync-copy-image", "ecr-sync-reconcile"],
          status: ["Cancelled", "Failed", "TimedOut"],
        },
      });
    });

    it("sends them to the alert topic as a sentence naming the command and where its output is", () => {
      const target = resource(css, T.target, "ecr-sync-command-failed-target");
      expect(target.inputs).to.include({ rule: "ecr-sync-command-failed", arn: TOPIC_ARN });
      const transformer = target.inputs.inputTransformer as {
        inputPaths: Record<string, string>;
        inputTemplate: string;
      };
      expect(transformer.inputPaths).to.include({
        command: "$.detail.command-id",
        document: "$.detail.document-name",
        status: "$.detail.status",
      });
      const text = JSON.parse(transformer.inputTemplate) as string;
      expect(text)
        .to.include("<command>")
        .and.include("<document>")
        .and.include("<status>")
        .and.include("/ecr-sync/commands")
        .and.include("Runbook: docs/runbook.md#failed-command");
      expect(text).to.include(
        "aws ssm list-command-invocations --region <region> --command-id <command> --details",
      );
      for (const [, placeholder] of text.matchAll(/<(\w+)>/g))
        expect(transformer.inputPaths, placeholder).to.have.property(placeholder);
    });

    it("refuses to build the pattern without document names or with a name SSM would reject", () => {
      expect(() => commandFailureEventPattern([])).to.throw(/documentNames: expected a non-empty list/);
      expect(() => commandFailureEventPattern(["ok-name", "no spaces"])).to.throw(
        /documentNames\[1\]: "no spaces" is not an SSM document name/,
      );
    });
  });

  describe("alarms", () => {
    const common = {
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [TOPIC_ARN],
      okActions: [TOPIC_ARN],
    };

    it("fires on any message in the dead-letter queue, and notifies the topic when it fires and when it clears", () => {
      const alarm = resource(css, T.alarm, "ecr-sync-dead-letters-alarm");
      expect(alarm.inputs).to.deep.include({
        ...common,
        name: "ecr-sync-dead-letters",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: "ecr-sync-dead-letters" },
        statistic: "Maximum",
      });
      const description = alarm.inputs.alarmDescription as string;
      expect(description).to.match(/ Runbook: docs\/runbook\.md#dead-letters$/);
      // Messages being inspected are invisible, so the metric can read 0 while the queue holds some.
      expect(description).to.not.match(/until the queue is empty/i);
    });

    it("fires on any error of the push trigger, missing data counting as no error", () => {
      const alarm = resource(css, T.alarm, "ecr-sync-function-errors-alarm");
      expect(alarm.inputs).to.deep.include({
        ...common,
        name: "ecr-sync-push-trigger-errors",
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: "ecr-sync-push-trigger" },
        statistic: "Sum",
      });
      expect(alarm.inputs.alarmDescription).to.match(/ Runbook: docs\/runbook\.md#push-trigger-errors$/);
    });

    const alarmNamed = (r: Rendering, name: string) => resource(r, T.alarm, `ecr-sync-${name}-alarm`);
    const WORKER = () => resource(css, T.instance, "ecr-sync-worker-debian13").id;

    it("fires on any invalid event the push trigger logged, from the ecr-sync namespace", () => {
      const alarm = alarmNamed(css, "invalid-events");
      expect(alarm.inputs).to.deep.include({
        ...common,
        name: "ecr-sync-invalid-events",
        namespace: "ecr-sync",
        metricName: "InvalidEvents",
        statistic: "Sum",
      });
      expect(alarm.inputs).not.to.have.property("dimensions");
      expect(alarm.inputs.alarmDescription).to.match(/ Runbook: docs\/runbook\.md#invalid-events$/);
    });

    it("fires when the p90 latency of 15 minutes exceeds latencyAlarmSeconds (900 by default), no copy counting as fine", () => {
      const alarm = alarmNamed(css, "latency");
      expect(alarm.inputs).to.deep.include({
        name: "ecr-sync-latency",
        namespace: "ecr-sync",
        metricName: "CopyLatency",
        extendedStatistic: "p90",
        period: 900,
        evaluationPeriods: 1,
        threshold: 900,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
      expect(alarm.inputs).not.to.have.property("statistic");
      expect(alarm.inputs.alarmDescription).to.match(
        /above 900 s\. Runbook: docs\/runbook\.md#latency-high$/,
      );
      expect(alarmNamed(withEmailAndCron, "latency").inputs.threshold).to.equal(1800);
    });

    it("raises the heartbeat when no reconcile finished for 26 hourly periods, counted from the schedule's first run", () => {
      const alarm = alarmNamed(css, "no-reconcile");
      const group = resource(css, T.scheduleGroup, "ecr-sync-reconcile-group");
      expect(alarm.inputs).to.deep.include({
        name: "ecr-sync-no-reconcile",
        evaluationPeriods: 26,
        datapointsToAlarm: 26,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
        alarmActions: [TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
      // A math alarm names no metric or period of its own: PutMetricAlarm refuses both together.
      for (const key of ["namespace", "metricName", "statistic", "period"])
        expect(alarm.inputs, key).not.to.have.property(key);
      expect(alarm.inputs.metricQueries).to.deep.equal([
        {
          id: "heartbeat",
          label: "Reconcile runs per hour (1 before the first run is due)",
          expression: heartbeatExpression(firstReconcileAt(group.state.creationDate as string)),
          returnData: true,
        },
        {
          id: "runs",
          metric: { namespace: "ecr-sync", metricName: "ReconcileRuns", stat: "Sum", period: 3600 },
          returnData: false,
        },
      ]);
      expect(alarm.inputs.alarmDescription).to.match(/ Runbook: docs\/runbook\.md#no-reconcile$/);
      // A cron schedule: the 26-hour floor; no schedule: no run is expected, so no heartbeat.
      expect(alarmNamed(withEmailAndCron, "no-reconcile").inputs.evaluationPeriods).to.equal(26);
      expect(resourcesOfType(scheduleOff, T.alarm).map((a) => a.name)).not.to.include(
        "ecr-sync-no-reconcile-alarm",
      );
    });

    it("recovers the worker on a failed system status check and alerts on both checks", () => {
      const system = alarmNamed(css, "worker-system-check");
      expect(system.inputs).to.deep.include({
        name: "ecr-sync-worker-system-check",
        namespace: "AWS/EC2",
        metricName: "StatusCheckFailed_System",
        dimensions: { InstanceId: WORKER() },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 2,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: ["arn:aws:automate:us-east-1:ec2:recover", TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
      const instance = alarmNamed(css, "worker-instance-check");
      expect(instance.inputs).to.deep.include({
        name: "ecr-sync-worker-instance-check",
        namespace: "AWS/EC2",
        metricName: "StatusCheckFailed_Instance",
        dimensions: { InstanceId: WORKER() },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 3,
        alarmActions: [TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
      for (const a of [system, instance])
        expect(a.inputs.alarmDescription).to.match(/ Runbook: docs\/runbook\.md#worker-status-check$/);
    });

    it("lets only the failed-command rule and the alarms publish to the topic, by aws:SourceArn", () => {
      const policy = resource(css, T.topicPolicy, "ecr-sync-alerts-policy");
      expect(policy.inputs.arn).to.equal(TOPIC_ARN);
      expect(jsonInput(policy, "policy")).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "RulesPublishFailedCommands",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sns:Publish",
            Resource: TOPIC_ARN,
            Condition: {
              ArnEquals: {
                "aws:SourceArn": [`arn:aws:events:us-east-1:${CSS}:rule/ecr-sync-command-failed`],
              },
            },
          },
          {
            Sid: "AlarmsPublishStateChanges",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: TOPIC_ARN,
            Condition: {
              ArnEquals: {
                "aws:SourceArn": [
                  "dead-letters",
                  "push-trigger-errors",
                  "invalid-events",
                  "latency",
                  "no-reconcile",
                  "worker-system-check",
                  "worker-instance-check",
                ]
                  .map((alarm) => `arn:aws:cloudwatch:us-east-1:${CSS}:alarm:ecr-sync-${alarm}`)
                  .sort(),
              },
            },
          },
        ],
      });
    });
  });

  describe("the e-mail subscription", () => {
    it("does not exist when alertEmail is none", () => {
      expect(resourcesOfType(css, T.subscription)).to.deep.equal([]);
      expect(resourcesOfType(scheduleOff, T.subscription)).to.deep.equal([]);
    });

    it("e-mails the configured address from the alert topic", () => {
      const subscriptions = resourcesOfType(withEmailAndCron, T.subscription);
      expect(subscriptions.map((s) => s.name)).to.deep.equal(["ecr-sync-alerts-email"]);
      expect(subscriptions[0].inputs).to.deep.equal({
        topic: TOPIC_ARN,
        protocol: "email",
        endpoint: "kuali-oncall@example.edu",
      });
      expect(subscriptions[0].state.pendingConfirmation).to.equal(true);
    });
  });

  describe("the reconcile schedule", () => {
    it("sends the reconcile document to the worker daily by default, through the universal SendCommand target", () => {
      const schedule = resource(css, T.schedule, "ecr-sync-reconcile-schedule");
      const worker = resource(css, T.instance, "ecr-sync-worker-debian13");
      expect(schedule.inputs).to.deep.include({
        name: "ecr-sync-reconcile",
        groupName: "ecr-sync",
        scheduleExpression: "rate(1 day)",
        scheduleExpressionTimezone: "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        state: "ENABLED",
      });
      const target = schedule.inputs.target as Record<string, unknown>;
      expect(target).to.deep.include({
        arn: "arn:aws:scheduler:::aws-sdk:ssm:sendCommand",
        roleArn: `arn:aws:iam::${CSS}:role/ecr-sync-reconcile-scheduler`,
        deadLetterConfig: { arn: QUEUE_ARN },
        retryPolicy: { maximumEventAgeInSeconds: 900, maximumRetryAttempts: 8 },
      });
      expect(JSON.parse(target.input as string)).to.deep.equal({
        DocumentName: "ecr-sync-reconcile",
        InstanceIds: [worker.id],
        Parameters: { dryRun: ["false"] },
        Comment: "ecr-sync scheduled reconcile",
        TimeoutSeconds: 600,
        CloudWatchOutputConfig: {
          CloudWatchOutputEnabled: true,
          CloudWatchLogGroupName: "/ecr-sync/commands",
        },
      });
    });

    it("sends only parameters the rendered reconcile document declares, with values its patterns admit", () => {
      const input = JSON.parse(
        (resource(css, T.schedule, "ecr-sync-reconcile-schedule").inputs.target as { input: string }).input,
      ) as {
        Parameters: Record<string, string[]>;
      };
      const document = jsonInput(
        resource(css, T.document, "ecr-sync-reconcile-document"),
        "content",
      ) as CommandDocument;
      for (const [name, values] of Object.entries(input.Parameters)) {
        expect(document.parameters, name).to.have.property(name);
        for (const value of values)
          expect(
            new RegExp(document.parameters[name].allowedPattern).test(value),
            `${name}=${value}`,
          ).to.equal(true);
      }
    });

    it("runs under a role that Scheduler may assume only for the schedule's own group in this account", () => {
      const group = resource(css, T.scheduleGroup, "ecr-sync-reconcile-group");
      expect(group.state.arn).to.equal(`arn:aws:scheduler:us-east-1:${CSS}:schedule-group/ecr-sync`);
      const role = resource(css, T.role, "ecr-sync-scheduler-role");
      expect(jsonInput(role, "assumeRolePolicy")).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AssumeFromReconcileScheduleGroup",
            Effect: "Allow",
            Principal: { Service: "scheduler.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": CSS },
              ArnEquals: { "aws:SourceArn": group.state.arn },
            },
          },
        ],
      });
      const policy = jsonInput(resource(css, T.rolePolicy, "ecr-sync-scheduler-send-command"), "policy") as {
        Statement: Array<{ Action: string; Resource: unknown }>;
      };
      expect(policy.Statement.map((s) => [s.Action, s.Resource])).to.deep.equal([
        [
          "ssm:SendCommand",
          [
            `arn:aws:ec2:us-east-1:${CSS}:instance/${resource(css, T.instance, "ecr-sync-worker-debian13").id}`,
            `arn:aws:ssm:us-east-1:${CSS}:document/ecr-sync-reconcile`,
          ],
        ],
        ["sqs:SendMessage", QUEUE_ARN],
      ]);
    });

    it("follows a configured cron expression", () => {
      expect(
        resource(withEmailAndCron, T.schedule, "ecr-sync-reconcile-schedule").inputs.scheduleExpression,
      ).to.equal("cron(30 5 * * ? *)");
    });

    it("on a new stack, first runs 30 minutes after its group was created, cron or rate", () => {
      for (const r of [css, withEmailAndCron]) {
        const created = resource(r, T.scheduleGroup, "ecr-sync-reconcile-group").state.creationDate as string;
        const startDate = resource(r, T.schedule, "ecr-sync-reconcile-schedule").inputs.startDate as string;
        expect(startDate).to.equal(firstReconcileAt(created));
        const minutes = (Date.parse(startDate) - Date.parse(created)) / 60_000;
        expect(minutes).to.be.within(30, 31);
      }
    });

    it("reaches the dead-letter alarm within an hour of the deploy when the first run cannot be sent", () => {
      const created = resource(css, T.scheduleGroup, "ecr-sync-reconcile-group").state.creationDate as string;
      const schedule = resource(css, T.schedule, "ecr-sync-reconcile-schedule").inputs;
      const retries = (schedule.target as { retryPolicy: { maximumEventAgeInSeconds: number } }).retryPolicy;
      const deadLetters = resource(css, T.alarm, "ecr-sync-dead-letters-alarm").inputs;
      const seconds =
        (Date.parse(schedule.startDate as string) - Date.parse(created)) / 1000 +
        retries.maximumEventAgeInSeconds +
        (deadLetters.period as number) * (deadLetters.evaluationPeriods as number);
      expect(seconds).to.be.at.most(3600);
    });

    it("is absent when switched off, with its role and group, while the reconcile document and backfillCommand stay", () => {
      for (const type of [T.schedule, T.scheduleGroup])
        expect(resourcesOfType(scheduleOff, type), type).to.deep.equal([]);
      expect(
        resourcesOfType(scheduleOff, T.role)
          .map((r) => r.name)
          .sort(),
      ).to.deep.equal(["ecr-sync-function-role", "ecr-sync-worker-role"]);
      expect(resource(scheduleOff, T.document, "ecr-sync-reconcile-document").inputs.name).to.equal(
        "ecr-sync-reconcile",
      );
      expect(scheduleOff.outputs).to.not.have.property("reconcileScheduleName");
      expect(scheduleOff.outputs.backfillCommand).to.equal(css.outputs.backfillCommand);
      const queuePolicy = jsonInput(
        resource(scheduleOff, T.queuePolicy, "ecr-sync-dead-letters-policy"),
        "policy",
      ) as {
        Statement: Array<{ Principal: unknown }>;
      };
      expect(queuePolicy.Statement[1].Principal).to.deep.equal({
        AWS: `arn:aws:iam::${CSS}:role/ecr-sync-push-trigger`,
      });
    });
  });

  describe("the reconcile document", () => {
    it("is the copier's reconcile, fetched from this deploy's upload, with the environment of the css stack", () => {
      const rendered = jsonInput(resource(css, T.document, "ecr-sync-reconcile-document"), "content");
      expect(rendered).to.deep.equal(
        buildReconcileDocument({
          copier: {
            bucket: String(resourcesOfType(css, "aws:s3/bucket:Bucket")[0].state.bucket),
            sha256: String(css.outputs.copierSha256),
            region: "us-east-1",
          },
          environment: {
            sourceRegistry: `${CSS}.dkr.ecr.us-east-1.amazonaws.com`,
            targetRegistry: `${LEGACY}.dkr.ecr.us-east-1.amazonaws.com`,
            targetRoleArn: `arn:aws:iam::${LEGACY}:role/ecr-sync-target`,
            region: "us-east-1",
            repositories: { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" },
            resultsLogGroup: "/ecr-sync/results",
            copyReferrers: true,
          },
          reconcileParallelism: CONFIG_DEFAULTS.reconcileParallelism,
        }),
      );
      expect((rendered as CommandDocument).mainSteps[0].inputs.runCommand.at(-1)).to.equal(
        `exec node "$ecr_sync_copier" 'reconcile' "$@"`,
      );
    });
  });

  describe("logs", () => {
    it("every log group has the configured retention, and every log destination is one of them", () => {
      const groups = resourcesOfType(css, T.logGroup);
      expect(groups.map((g) => g.inputs.name).sort()).to.deep.equal([
        "/aws/lambda/ecr-sync-push-trigger",
        "/ecr-sync/commands",
        "/ecr-sync/results",
      ]);
      for (const group of groups)
        expect(group.inputs.retentionInDays, String(group.inputs.name)).to.equal(90);
      const names = groups.map((g) => g.inputs.name);
      const scheduleInput = JSON.parse(
        (resource(css, T.schedule, "ecr-sync-reconcile-schedule").inputs.target as { input: string }).input,
      );
      expect(names).to.include(scheduleInput.CloudWatchOutputConfig.CloudWatchLogGroupName);
      expect(names).to.include(
        (resource(css, T.function, "ecr-sync-function").inputs.loggingConfig as { logGroup: string })
          .logGroup,
      );
      expect(css.outputs.backfillCommand).to.include("CloudWatchLogGroupName=/ecr-sync/commands");
    });
  });

  describe("config errors stop the program", () => {
    async function errorOf(config: Record<string, unknown>): Promise<string> {
      try {
        await renderStack("css", { config });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("expected the render to fail");
    }

    it("names a bad alertEmail and a bad reconcileSchedule, both at once", async () => {
      const message = await errorOf({
        "ecr-sync:alertEmail": "oncall at example.edu",
        "ecr-sync:reconcileSchedule": "rate(1 days)",
      });
      expect(message).to.include(
        'ecr-sync:alertEmail: "oncall at example.edu" is neither one e-mail address nor none',
      );
      expect(message).to.include(
        'ecr-sync:reconcileSchedule: "rate(1 days)" is not accepted by EventBridge Scheduler: write "rate(1 day)"',
      );
    });

    it("stops without alertEmail, naming the key and both choices", async () => {
      const message = await errorOf({ "ecr-sync:alertEmail": null });
      expect(message).to.include(
        "ecr-sync:alertEmail is missing: set it to one e-mail address the alert topic mails (e.g. kuali-oncall@example.edu), or to none if another endpoint (chat, paging) is subscribed to the alertTopicArn output by hand",
      );
    });
  });
});

describe("failed-command pattern, evaluated by moto's EventBridge matcher", function () {
  // moto's start and some fifteen aws CLI calls (a Python start each): about 15 s on 2 quiet cores,
  // over the 60 s this had on a busy machine, where the hook timed out while nothing was wrong.
  this.timeout(180000);
  let moto: MotoServer;
  let pattern: unknown;
  const delivered = new Set<string>();

  /** An SSM command status event as SSM sends it (detail as in AWS's published example). */
  function commandEvent(
    id: string,
    document: string,
    status: string,
    detailType = "EC2 Command Status-change Notification",
    source = "aws.ssm",
  ) {
    return {
      Source: source,
      DetailType: detailType,
      Resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],
      Detail: JSON.stringify({
        "command-id": id,
        "document-name": document,
        "expire-after": "2025-01-01T01:00:00.000Z",
        parameters: {},
        "requested-date-time": "2025-01-01T00:00:00.000Z",
        status,
      }),
    };
  }

  const cases: Array<{ name: string; id: string; event: ReturnType<typeof commandEvent>; matches: boolean }> =
    [
      {
        name: "a sync command that Failed",
        id: "c1",
        event: commandEvent("c1", "ecr-sync-copy-image", "Failed"),
        matches: true,
      },
      {
        name: "a sync command that TimedOut",
        id: "c2",
        event: commandEvent("c2", "ecr-sync-copy-image", "TimedOut"),
        matches: true,
      },
      {
        name: "a sync command that was Cancelled",
        id: "c3",
        event: commandEvent("c3", "ecr-sync-copy-image", "Cancelled"),
        matches: true,
      },
      {
        name: "a reconcile command that Failed",
        id: "c4",
        event: commandEvent("c4", "ecr-sync-reconcile", "Failed"),
        matches: true,
      },
      {
        name: "a reconcile command that TimedOut",
        id: "c5",
        event: commandEvent("c5", "ecr-sync-reconcile", "TimedOut"),
        matches: true,
      },
      {
        name: "a sync command that succeeded",
        id: "s1",
        event: commandEvent("s1", "ecr-sync-copy-image", "Success"),
        matches: false,
      },
      {
        name: "a reconcile command that succeeded",
        id: "s2",
        event: commandEvent("s2", "ecr-sync-reconcile", "Success"),
        matches: false,
      },
      {
        name: "a sync command in progress",
        id: "s3",
        event: commandEvent("s3", "ecr-sync-copy-image", "InProgress"),
        matches: false,
      },
      {
        name: "a failed command of another document (AWS-RunShellScript)",
        id: "s4",
        event: commandEvent("s4", "AWS-RunShellScript", "Failed"),
        matches: false,
      },
      {
        name: "a failed command of a document whose name starts like ours",
        id: "s5",
        event: commandEvent("s5", "ecr-sync-copy-image-old", "Failed"),
        matches: false,
      },
      {
        name: "the same failure as a per-instance invocation event (reported once, per command)",
        id: "s6",
        event: commandEvent(
          "s6",
          "ecr-sync-copy-image",
          "Failed",
          "EC2 Command Invocation Status-change Notification",
        ),
        matches: false,
      },
      {
        name: "the same detail from another source",
        id: "s7",
        event: commandEvent("s7", "ecr-sync-copy-image", "Failed", undefined, "my.app"),
        matches: false,
      },
    ];

  before(async () => {
    const rendering = await renderStack("css");
    pattern = jsonInput(resource(rendering, T.rule, "ecr-sync-command-failed-rule"), "eventPattern");
    moto = await startMoto();
    const received = await moto.deliveredBy(
      pattern,
      cases.map((c) => c.event),
    );
    for (const event of received) delivered.add(String(event.detail["command-id"]));
  });

  after(async () => {
    await moto?.stop();
  });

  it("evaluates the pattern the css stack renders", () => {
    expect(pattern).to.deep.equal(commandFailureEventPattern(["ecr-sync-copy-image", "ecr-sync-reconcile"]));
  });

  for (const { name, id, matches } of cases) {
    it(`${matches ? "alerts on" : "ignores"} ${name}`, () => {
      expect(delivered.has(id)).to.equal(matches);
    });
  }
});

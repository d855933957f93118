/**
 * The dashboard a person opens instead of the logs: the latency, what was copied and what failed,
 * what the reconcile healed, dead letters, the push trigger, the worker's health, the alarms, the
 * latest failed result lines, and the referrers that travelled with the images. Every metric on it
 * is one the copier publishes (common/telemetry.ts COPIER_METRICS), one the push trigger's filters
 * publish (components/metrics.ts), or one AWS publishes for the queue, the function or the instance
 * (test/unit/dashboard.test.ts checks).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRIC_NAMESPACE, METRICS } from "../common/telemetry";

/** What the body is built from, all resolved. */
export interface DashboardValues {
  readonly region: string;
  /** The copier's results log group (one result line per event), for the failed-lines table. */
  readonly resultsLogGroupName: string;
  readonly functionName: string;
  readonly deadLetterQueueName: string;
  readonly instanceId: string;
  /** The latency alarm's threshold, drawn on the latency graph. */
  readonly latencyAlarmSeconds: number;
  /** Every alarm, for the alarm status widget. */
  readonly alarmArns: readonly string[];
}

/** A metric as a dashboard widget lists it: namespace, name, dimension pairs, then options. */
type MetricLine = (string | Record<string, unknown>)[];

/** The console URL of a dashboard. */
export function dashboardUrl(region: string, dashboardName: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${dashboardName}`;
}

/**
 * The Logs Insights query behind the table of the latest failed result lines: on the results log
 * group, where each event is one line. Insights discovers the fields of a JSON event only when the
 * whole event is one object, so over the command log group's batched events it missed most lines.
 */
export function failedLinesQuery(resultsLogGroupName: string): string {
  return (
    `SOURCE '${resultsLogGroupName}' | fields @timestamp, source, target, digest, referrer, error` +
    ` | filter result = "failed" | sort @timestamp desc | limit 20`
  );
}

/**
 * The Logs Insights query behind the referrers graph: referrer lines (they carry `subject`) per
 * result and hour, counted from the results log group rather than published as metrics of their
 * own (three more custom metrics would pass CloudWatch's ten free ones: docs/operations.md's costs).
 */
export function referrerLinesQuery(resultsLogGroupName: string): string {
  return (
    `SOURCE '${resultsLogGroupName}' | filter ispresent(subject)` +
    ` | stats count(*) as referrers by result, bin(1h)`
  );
}

/** The dashboard's body (CloudWatch's dashboard body structure), from plain values. */
export function dashboardBody(v: DashboardValues): Record<string, unknown> {
  const own = (metric: keyof typeof METRICS, options: Record<string, unknown>): MetricLine => [
    METRIC_NAMESPACE,
    METRICS[metric],
    options,
  ];
  const graph = (
    title: string,
    metrics: MetricLine[],
    period: number,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    type: "metric",
    width: 12,
    height: 6,
    properties: { title, region: v.region, view: "timeSeries", stacked: false, period, metrics, ...extra },
  });
  const widgets = [
    graph(
      "Latency: push to css until verified in legacy (seconds)",
      [
        own("latency", { stat: "p50", label: "p50" }),
        own("latency", { stat: "p90", label: "p90" }),
        own("latency", { stat: "Maximum", label: "max" }),
      ],
      900,
      {
        annotations: { horizontal: [{ label: "latency alarm (p90)", value: v.latencyAlarmSeconds }] },
        yAxis: { left: { min: 0 } },
      },
    ),
    graph(
      "Images copied, failed, superseded and unsupported (per hour)",
      [
        own("copied", { stat: "Sum", label: "copied" }),
        own("failed", { stat: "Sum", label: "failed", color: "#d62728" }),
        own("superseded", { stat: "Sum", label: "superseded" }),
        own("unsupported", { stat: "Sum", label: "unsupported (a reconcile's; not copied)" }),
      ],
      3600,
    ),
    graph(
      "Reconcile: runs and images it had to copy (heals; healthy: 0)",
      [
        own("reconcileRuns", { stat: "Sum", label: "runs" }),
        own("reconcileHealed", { stat: "Sum", label: "images healed" }),
      ],
      3600,
    ),
    graph(
      "Dead letters (events and runs nobody could act on)",
      [
        [
          "AWS/SQS",
          "ApproximateNumberOfMessagesVisible",
          "QueueName",
          v.deadLetterQueueName,
          { stat: "Maximum", label: "dead letters" },
        ],
      ],
      300,
    ),
    graph(
      "Push trigger: invocations, errors, invalid events, unsupported tags",
      [
        ["AWS/Lambda", "Invocations", "FunctionName", v.functionName, { stat: "Sum", label: "invocations" }],
        [
          "AWS/Lambda",
          "Errors",
          "FunctionName",
          v.functionName,
          { stat: "Sum", label: "errors", color: "#d62728" },
        ],
        own("invalidDecisions", { stat: "Sum", label: "invalid events" }),
        own("unsupportedTags", { stat: "Sum", label: "unsupported tags (not copied)" }),
      ],
      300,
    ),
    graph(
      "Worker status checks (1: failing)",
      [
        [
          "AWS/EC2",
          "StatusCheckFailed_System",
          "InstanceId",
          v.instanceId,
          { stat: "Maximum", label: "system" },
        ],
        [
          "AWS/EC2",
          "StatusCheckFailed_Instance",
          "InstanceId",
          v.instanceId,
          { stat: "Maximum", label: "instance" },
        ],
      ],
      300,
      { yAxis: { left: { min: 0, max: 1 } } },
    ),
    {
      type: "alarm",
      width: 24,
      height: 3,
      properties: { title: "Alarms", alarms: [...v.alarmArns] },
    },
    {
      type: "log",
      width: 24,
      height: 8,
      properties: {
        title: "Latest failed result lines",
        region: v.region,
        view: "table",
        query: failedLinesQuery(v.resultsLogGroupName),
      },
    },
    {
      type: "log",
      width: 24,
      height: 6,
      properties: {
        title: "Referrers (signatures, SBOMs) copied, unsupported and failed, per hour",
        region: v.region,
        view: "timeSeries",
        query: referrerLinesQuery(v.resultsLogGroupName),
      },
    },
  ];
  return { widgets };
}

export interface DashboardArgs {
  readonly region: pulumi.Input<string>;
  readonly resultsLogGroupName: pulumi.Input<string>;
  readonly functionName: pulumi.Input<string>;
  readonly deadLetterQueueName: pulumi.Input<string>;
  readonly instanceId: pulumi.Input<string>;
  readonly latencyAlarmSeconds: number;
  readonly alarmArns: pulumi.Input<string>[];
}

export interface Dashboard {
  readonly dashboard: aws.cloudwatch.Dashboard;
  /** The dashboard's console URL. */
  readonly url: pulumi.Output<string>;
}

export function createDashboard(name: string, args: DashboardArgs, parent: pulumi.Resource): Dashboard {
  const dashboard = new aws.cloudwatch.Dashboard(
    `${name}-dashboard`,
    {
      dashboardName: name,
      dashboardBody: pulumi
        .all([
          args.region,
          args.resultsLogGroupName,
          args.functionName,
          args.deadLetterQueueName,
          args.instanceId,
          pulumi.all(args.alarmArns),
        ])
        .apply(([region, resultsLogGroupName, functionName, deadLetterQueueName, instanceId, alarmArns]) =>
          JSON.stringify(
            dashboardBody({
              region,
              resultsLogGroupName,
              functionName,
              deadLetterQueueName,
              instanceId,
              latencyAlarmSeconds: args.latencyAlarmSeconds,
              alarmArns,
            }),
          ),
        ),
    },
    { parent },
  );
  const url = pulumi
    .all([args.region, dashboard.dashboardName])
    .apply(([region, dashboardName]) => dashboardUrl(region, dashboardName));
  return { dashboard, url };
}

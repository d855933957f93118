/**
 * The dashboard (components/dashboard.ts) and the push trigger's metric filters (components/metrics.ts)
 * as the css stack renders them under the strict mocks: every metric a widget shows is one the copier
 * publishes (common/telemetry.ts COPIER_METRICS), one a filter publishes, or one AWS publishes for this
 * stack's queue, function or instance; and the dashboardUrl output opens it.
 */
import { expect } from "chai";
import {
  dashboardBody,
  dashboardUrl,
  failedLinesQuery,
  referrerLinesQuery,
} from "../../components/dashboard";
import { COPIER_METRICS, METRIC_NAMESPACE, METRICS, MetricKey } from "../../common/telemetry";
import { filterSpecs } from "../../components/metrics";
import { Rendering, jsonInput, renderStack, resource, resourcesOfType } from "../../local/render";

const T = {
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  filter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  instance: "aws:ec2/instance:Instance",
};

/** Metrics AWS publishes by itself (their documented names), by namespace, with their dimension. */
const AWS_METRICS: Record<string, { dimension: string; names: string[] }> = {
  "AWS/SQS": { dimension: "QueueName", names: ["ApproximateNumberOfMessagesVisible"] },
  "AWS/Lambda": { dimension: "FunctionName", names: ["Invocations", "Errors"] },
  "AWS/EC2": { dimension: "InstanceId", names: ["StatusCheckFailed_System", "StatusCheckFailed_Instance"] },
};

type Widget = { type: string; properties: Record<string, unknown> };

describe("dashboard and the push trigger's metric filters (under mocks)", function () {
  this.timeout(120000);
  let css: Rendering;
  let widgets: Widget[];

  before(async () => {
    css = await renderStack("css");
    widgets = (
      jsonInput(resource(css, T.dashboard, "ecr-sync-dashboard"), "dashboardBody") as { widgets: Widget[] }
    ).widgets;
  });

  it("creates one filter per push trigger metric on its function log group, and none on the command output", () => {
    const filters = resourcesOfType(css, T.filter);
    expect(filters.map((f) => f.inputs)).to.deep.equal(
      filterSpecs().map((s) => ({
        name: `ecr-sync-${METRICS[s.metric]}`,
        logGroupName: "/aws/lambda/ecr-sync-push-trigger",
        pattern: s.pattern,
        metricTransformation: {
          name: METRICS[s.metric],
          namespace: "ecr-sync",
          value: s.value,
          unit: s.unit,
        },
      })),
    );
  });

  it("shows only metrics the copier or a filter publishes, or AWS publishes for this stack's own resources", () => {
    const published = new Set([
      ...resourcesOfType(css, T.filter).map((f) => {
        const m = f.inputs.metricTransformation as { namespace: string; name: string };
        return `${m.namespace}/${m.name}`;
      }),
      ...Object.keys(COPIER_METRICS).map((k) => `${METRIC_NAMESPACE}/${METRICS[k as MetricKey]}`),
    ]);
    const own = {
      QueueName: "ecr-sync-dead-letters",
      FunctionName: "ecr-sync-push-trigger",
      InstanceId: resource(css, T.instance, "ecr-sync-worker-debian13").id,
    } as Record<string, string>;
    const shown: string[] = [];
    for (const w of widgets.filter((w) => w.type === "metric")) {
      for (const line of w.properties.metrics as unknown[][]) {
        const [namespace, name, ...rest] = line as string[];
        const dimensions = rest.filter((x) => typeof x === "string");
        shown.push(`${namespace}/${name}`);
        if (namespace === METRIC_NAMESPACE) {
          expect(published, `${namespace}/${name}`).to.include(`${namespace}/${name}`);
          expect(dimensions, `${name}: the copier and the filters publish no dimension`).to.deep.equal([]);
        } else {
          const known = AWS_METRICS[namespace];
          expect(known, `${namespace}: not a namespace the stack's resources publish to`).to.not.equal(
            undefined,
          );
          expect(known.names, namespace).to.include(name);
          expect(dimensions, `${namespace}/${name}`).to.deep.equal([known.dimension, own[known.dimension]]);
        }
      }
    }
    // Everything the issue asks to see is on it.
    expect(shown).to.include.members([
      "ecr-sync/CopyLatency",
      "ecr-sync/ImagesCopied",
      "ecr-sync/ImagesFailed",
      "ecr-sync/ImagesSuperseded",
      "ecr-sync/ImagesUnsupported",
      "ecr-sync/ReconcileImagesCopied",
      "ecr-sync/ReconcileRuns",
      "ecr-sync/InvalidEvents",
      "ecr-sync/UnsupportedTags",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/Lambda/Errors",
      "AWS/Lambda/Invocations",
      "AWS/EC2/StatusCheckFailed_System",
      "AWS/EC2/StatusCheckFailed_Instance",
    ]);
  });

  it("graphs unsupported tags beside invalid events on the push trigger's widget, and no alarm reads them", () => {
    const trigger = widgets.find((w) => String(w.properties.title).startsWith("Push trigger"))!;
    const own = (trigger.properties.metrics as unknown[][]).filter((l) => l[0] === METRIC_NAMESPACE);
    expect(own.map((l) => [l[1], (l[2] as { label: string }).label])).to.deep.equal([
      ["InvalidEvents", "invalid events"],
      ["UnsupportedTags", "unsupported tags (not copied)"],
    ]);
    // Not copied, but nothing anyone can fix by being woken: no alarm, unlike InvalidEvents.
    const alarms = resourcesOfType(css, T.alarm).map((a) => JSON.stringify(a.inputs));
    expect(alarms.filter((a) => a.includes('"InvalidEvents"'))).to.have.length(1);
    expect(alarms.filter((a) => a.includes("UnsupportedTags"))).to.deep.equal([]);
  });

  it("graphs the latency's p50, p90 and max per 15 minutes, with the alarm's threshold drawn", () => {
    const latency = widgets.find((w) => String(w.properties.title).startsWith("Latency"))!;
    expect(latency.properties.period).to.equal(900);
    expect(
      (latency.properties.metrics as unknown[][]).map((l) => (l[2] as { stat: string }).stat),
    ).to.deep.equal(["p50", "p90", "Maximum"]);
    expect(latency.properties.annotations).to.deep.equal({
      horizontal: [{ label: "latency alarm (p90)", value: 900 }],
    });
  });

  it("lists every alarm, and a Logs Insights table of the latest failed lines of the results log group", () => {
    const alarms = widgets.find((w) => w.type === "alarm")!;
    expect([...(alarms.properties.alarms as string[])].sort()).to.deep.equal(
      resourcesOfType(css, T.alarm)
        .map((a) => a.state.arn as string)
        .sort(),
    );
    const table = widgets.find((w) => w.type === "log")!;
    expect(table.properties).to.deep.include({ view: "table", region: "us-east-1" });
    expect(table.properties.query).to.equal(
      `SOURCE '/ecr-sync/results' | fields @timestamp, source, target, digest, referrer, error | filter result = "failed" | sort @timestamp desc | limit 20`,
    );
    expect(failedLinesQuery("/x")).to.match(/^SOURCE '\/x' /);
  });

  it("graphs the referrer lines of the results log group per result and hour", () => {
    const graphs = widgets.filter((w) => w.type === "log" && w.properties.view === "timeSeries");
    expect(graphs.map((w) => w.properties.query)).to.deep.equal([
      `SOURCE '/ecr-sync/results' | filter ispresent(subject) | stats count(*) as referrers by result, bin(1h)`,
    ]);
    expect(referrerLinesQuery("/x")).to.match(/^SOURCE '\/x' /);
  });

  it("exports the dashboard's console URL as dashboardUrl", () => {
    expect(resource(css, T.dashboard, "ecr-sync-dashboard").inputs.dashboardName).to.equal("ecr-sync");
    expect(css.outputs.dashboardUrl).to.equal(
      "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ecr-sync",
    );
    expect(dashboardUrl("eu-west-1", "d")).to.equal(
      "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=d",
    );
  });

  it("builds the same body from plain values, without the stack", () => {
    const body = dashboardBody({
      region: "us-east-1",
      resultsLogGroupName: "/ecr-sync/results",
      functionName: "f",
      deadLetterQueueName: "q",
      instanceId: "i-0123456789abcdef0",
      latencyAlarmSeconds: 600,
      alarmArns: [],
    }) as { widgets: Widget[] };
    expect(body.widgets.map((w) => w.type)).to.deep.equal([
      "metric",
      "metric",
      "metric",
      "metric",
      "metric",
      "metric",
      "alarm",
      "log",
      "log",
    ]);
  });
});

/**
 * The proof of issue 18's telemetry: healthy daily reconciles, each printing a line per tag and then
 * its summary within milliseconds, their stdout shipped to moto's CloudWatch Logs by the model of
 * the SSM agent (local/twin/agent-output.ts, from the agent's source: every complete line since the
 * last upload as ONE event), and the same lines given to the copier's telemetry
 * (ec2-scripts/copier/telemetry.ts), which publishes to moto's CloudWatch.
 *
 * (a) The OLD design, JSON metric filters over the command output, evaluated over the events the agent
 *     really sent (a stand-in of CloudWatch's filter semantics: one object per event, and only when
 *     the whole event is that object, test/support/filter-pattern.ts) counts no run and no heal, and
 *     the heartbeat alarm fed by it pages on a healthy system.
 * (b) The NEW design: the figures the copier published, read back from moto's CloudWatch, count every
 *     run and heal, and the rendered heartbeat alarm, evaluated on them by the stand-in
 *     (test/support/cloudwatch-alarm-standin.ts), stays OK.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { expect } from "chai";
import { METRIC_NAMESPACE, METRICS } from "../../common/telemetry";
import { heartbeatExpression, HEARTBEAT_QUERY_IDS } from "../../components/alerting";
import { resultsStreamName, Telemetry } from "../../ec2-scripts/copier/telemetry";
import {
  alarmFromInputs,
  MetricSample,
  metricSamplesFrom,
  StandInAlarm,
  stateChanges,
} from "../support/cloudwatch-alarm-standin";
import { MotoServer, startMoto } from "../../local/moto";
import { renderStack, resource } from "../../local/render";
import {
  AgentOutputStreamer,
  agentStreamNames,
  ManualUploadClock,
  MAX_UPLOAD_WAIT_TICKS,
} from "../../local/twin/agent-output";
import { metricValue } from "../support/filter-pattern";
import { reconcileSummary } from "../support/copier";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const INSTANCE = "i-0123456789abcdef0";
const DIGEST = `sha256:${"b".repeat(64)}`;

/**
 * The filters this change removed (components/metrics.ts before it), on the command log group: the
 * reconcile's summary line counted one run and published its `copied` as the heals.
 */
const OLD_FILTERS = {
  reconcileRuns: { pattern: `{ $.result = "reconcile" }`, value: "1" },
  reconcileHealed: { pattern: `{ $.result = "reconcile" }`, value: "$.copied" },
  copied: { pattern: `{ $.result = "copied" }`, value: "1" },
} as const;

/** One healthy reconcile's stdout: a line per tag (two of them healed), then the summary. */
function reconcileLines(tags: number, healed: number): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (let i = 0; i < tags; i++) {
    lines.push({
      result: i < healed ? "copied" : "unchanged",
      source: `770203350335.dkr.ecr.us-east-1.amazonaws.com/kuali-coeus:t${i}`,
      target: `730096353738.dkr.ecr.us-east-1.amazonaws.com/coeus:t${i}`,
      digest: DIGEST,
      copy_s: 0.05,
    });
  }
  lines.push({ ...reconcileSummary({ copied: healed, unchanged: tags - healed, duration_s: 0.9 }) });
  return lines;
}

describe("telemetry under the SSM agent's batching: the old filters miscount, the copier's figures count right", function () {
  this.timeout(180000);
  const RUNS = 3;
  const TAGS = 30;
  const HEALED = 2;
  let moto: MotoServer;
  let cloudWatch: CloudWatchClient;
  let logs: CloudWatchLogsClient;
  let commandLogGroup: string;
  let resultsLogGroup: string;
  let alarm: StandInAlarm;
  /** The rendered stack's first run and deploy, moved back so the runs fit moto's 14 days of logs. */
  let deployedAt: number;
  let firstDue: number;
  const interval = DAY;
  /** Every event the agent sent to the command log group, in order. */
  let agentEvents: string[];

  before(async () => {
    const css = await renderStack("css");
    commandLogGroup = resource(css, "aws:cloudwatch/logGroup:LogGroup", "ecr-sync-command-logs").inputs
      .name as string;
    resultsLogGroup = resource(css, "aws:cloudwatch/logGroup:LogGroup", "ecr-sync-results-logs").inputs
      .name as string;
    const group = resource(
      css,
      "aws:scheduler/scheduleGroup:ScheduleGroup",
      "ecr-sync-reconcile-group",
    ).state;
    const schedule = resource(css, "aws:scheduler/schedule:Schedule", "ecr-sync-reconcile-schedule").inputs;
    expect(schedule.scheduleExpression).to.equal("rate(1 day)");
    const renderedDeploy = Date.parse(group.creationDate as string);
    const renderedFirstDue = Date.parse(schedule.startDate as string);
    const shift = (RUNS + 1) * DAY;
    deployedAt = renderedDeploy - shift;
    firstDue = renderedFirstDue - shift;
    // The rendered heartbeat alarm, its first run's time (a constant in its expression) moved back too.
    const inputs = resource(
      css,
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "ecr-sync-no-reconcile-alarm",
    ).inputs;
    const queries = (inputs.metricQueries as Array<Record<string, unknown>>).map((q) =>
      q.id === HEARTBEAT_QUERY_IDS.heartbeat
        ? { ...q, expression: heartbeatExpression(new Date(firstDue).toISOString()) }
        : q,
    );
    expect(queries.find((q) => q.id === HEARTBEAT_QUERY_IDS.heartbeat)!.expression).to.not.equal(
      (inputs.metricQueries as Array<Record<string, unknown>>).find(
        (q) => q.id === HEARTBEAT_QUERY_IDS.heartbeat,
      )!.expression,
    );
    alarm = alarmFromInputs({ ...inputs, metricQueries: queries });

    moto = await startMoto();
    cloudWatch = new CloudWatchClient(moto.clientConfig());
    logs = new CloudWatchLogsClient(moto.clientConfig());
    for (const name of [commandLogGroup, resultsLogGroup])
      await logs.send(new CreateLogGroupCommand({ logGroupName: name }));

    for (let run = 0; run < RUNS; run++) {
      const startedAt = firstDue + run * interval + 2 * MINUTE;
      const lines = reconcileLines(TAGS, HEALED);
      const commandId = `0000000${run}-reconcile`;

      // The copier: every line to its telemetry, as the emitter does, then close() at the end.
      const telemetry = new Telemetry({
        logGroupName: resultsLogGroup,
        logStreamName: resultsStreamName({
          instanceId: INSTANCE,
          startedAt: new Date(startedAt),
          pid: 100 + run,
        }),
        cloudWatch,
        logs,
        now: () => startedAt + 900,
        warn: (m) => expect.fail(m),
        shipEveryMs: 0,
      });
      for (const line of lines) telemetry.record(line);
      await telemetry.close();

      // The agent: the same lines on stdout, all within one upload period, shipped as it does.
      const clock = new ManualUploadClock(startedAt);
      const { stdout } = agentStreamNames({
        commandId,
        instanceId: INSTANCE,
        pluginId: "aws:runShellScript",
      });
      const streamer = new AgentOutputStreamer(
        stdout,
        async (streamName, events) => {
          if (!created.has(streamName)) {
            await logs.send(
              new CreateLogStreamCommand({ logGroupName: commandLogGroup, logStreamName: streamName }),
            );
            created.add(streamName);
          }
          await logs.send(
            new PutLogEventsCommand({
              logGroupName: commandLogGroup,
              logStreamName: streamName,
              logEvents: events,
            }),
          );
        },
        clock,
      );
      const created = new Set<string>();
      streamer.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
      await clock.tick();
      streamer.markComplete();
      // The agent ticks on until its upload is complete (File.Read waits for it).
      let done = false;
      void streamer.finished.then(() => (done = true));
      for (let t = 0; t <= MAX_UPLOAD_WAIT_TICKS && !done; t++) await clock.tick();
      expect(done, "the agent's upload finished").to.equal(true);
    }

    agentEvents = [];
    const { logStreams = [] } = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: commandLogGroup }),
    );
    for (const s of logStreams) {
      const { events = [] } = await logs.send(
        new GetLogEventsCommand({
          logGroupName: commandLogGroup,
          logStreamName: s.logStreamName!,
          startFromHead: true,
        }),
      );
      agentEvents.push(...events.map((e) => e.message!));
    }
  });

  after(async () => {
    await moto?.stop();
  });

  /** What an old filter published over `events` (one value per matching event). */
  function oldFilterTotal(filter: keyof typeof OLD_FILTERS, events: readonly string[]): number {
    const { pattern, value } = OLD_FILTERS[filter];
    return events.map((e) => metricValue(pattern, value, e) ?? 0).reduce((a, b) => a + b, 0);
  }

  function pagesOn(samples: MetricSample[]): number[] {
    return stateChanges(alarm, samples, { createdAt: deployedAt, until: firstDue + RUNS * interval })
      .filter((c) => c.to === "ALARM")
      .map((c) => c.at);
  }

  async function published(metric: keyof typeof METRICS): Promise<MetricSample[]> {
    return metricSamplesFrom(
      cloudWatch,
      { namespace: METRIC_NAMESPACE, metricName: METRICS[metric] },
      { start: deployedAt, end: firstDue + RUNS * interval, periodSeconds: 3600 },
    );
  }

  it("the agent sent each run's output as one event: every line of it, the summary last", () => {
    expect(agentEvents).to.have.length(RUNS);
    for (const event of agentEvents) {
      // Built while the command ran, so its last newline is kept (buildEventInfo drops it only once
      // the output is complete).
      expect(event.endsWith("\n")).to.equal(true);
      const lines = event.slice(0, -1).split("\n");
      expect(lines).to.have.length(TAGS + 1);
      expect(JSON.parse(lines.at(-1)!)).to.include({ result: "reconcile", copied: HEALED });
    }
  });

  it("(a) the old JSON filters over those events count no reconcile run, no heal and no copy", () => {
    expect(oldFilterTotal("reconcileRuns", agentEvents)).to.equal(0);
    expect(oldFilterTotal("reconcileHealed", agentEvents)).to.equal(0);
    expect(oldFilterTotal("copied", agentEvents)).to.equal(0);
    // The same filters over the lines one by one (what the old tests did, splitting on newlines,
    // which the agent never does) would have counted them: the batching is what breaks them.
    const split = agentEvents.flatMap((e) => e.split("\n")).filter((l) => l !== "");
    expect(oldFilterTotal("reconcileRuns", split)).to.equal(RUNS);
    expect(oldFilterTotal("reconcileHealed", split)).to.equal(RUNS * HEALED);
  });

  it("(a) so the heartbeat alarm fed by the old filters pages on this healthy system", () => {
    const samples: MetricSample[] = agentEvents.flatMap(() => []); // nothing the filters could publish
    expect(oldFilterTotal("reconcileRuns", agentEvents)).to.equal(samples.length);
    const paged = pagesOn(samples);
    expect(paged.length).to.equal(1);
    expect(paged[0] - firstDue).to.be.within(
      alarm.evaluationPeriods * HOUR,
      alarm.evaluationPeriods * HOUR + MINUTE,
    );
  });

  it("(b) the copier's figures, read back from moto's CloudWatch, count every run, heal and copy", async () => {
    const total = (samples: MetricSample[]) => samples.reduce((a, s) => a + s.value, 0);
    expect(total(await published("reconcileRuns"))).to.equal(RUNS);
    expect(total(await published("reconcileHealed"))).to.equal(RUNS * HEALED);
    expect(total(await published("copied"))).to.equal(RUNS * HEALED);
  });

  it("(b) and the rendered heartbeat alarm on them stays OK from the deploy through every run", async () => {
    const runs = await published("reconcileRuns");
    expect(runs.map((s) => s.at)).to.have.length(RUNS);
    const changes = stateChanges(alarm, runs, { createdAt: deployedAt, until: firstDue + RUNS * interval });
    expect(changes.map((c) => c.to)).to.deep.equal(["OK"]);
  });

  it("(b) the results log group holds each result line as its own event", async () => {
    const { logStreams = [] } = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: resultsLogGroup }),
    );
    expect(logStreams).to.have.length(RUNS);
    const events: string[] = [];
    for (const s of logStreams) {
      const answer = await logs.send(
        new GetLogEventsCommand({
          logGroupName: resultsLogGroup,
          logStreamName: s.logStreamName!,
          startFromHead: true,
        }),
      );
      events.push(...(answer.events ?? []).map((e) => e.message!));
    }
    expect(events).to.have.length(RUNS * (TAGS + 1));
    // A filter or Insights over this group sees one object per event again.
    expect(oldFilterTotal("reconcileRuns", events)).to.equal(RUNS);
    expect(oldFilterTotal("reconcileHealed", events)).to.equal(RUNS * HEALED);
  });
});

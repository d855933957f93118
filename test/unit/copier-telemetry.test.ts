/**
 * The copier's telemetry (ec2-scripts/copier/telemetry.ts) against a real moto_server: the figures
 * it publishes are read back from moto's CloudWatch, and the result lines from moto's CloudWatch
 * Logs, one event per line. Its limits, its time bound against a CloudWatch that never answers,
 * and that a failure is told on stderr without a secret and never thrown.
 */
import { createServer, Server, Socket } from "node:net";
import { AddressInfo } from "node:net";
import { CloudWatchClient, GetMetricStatisticsCommand, Statistic } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { expect } from "chai";
import { METRIC_NAMESPACE, METRICS, MetricKey, RESULTS_LOG_GROUP_ENV } from "../../common/telemetry";
import {
  eventBatches,
  figuresOf,
  metricBatches,
  metricData,
  PUT_LOG_EVENTS_LIMITS,
  resultsStreamName,
  Telemetry,
  telemetryFromEnvironment,
  telemetrySink,
} from "../../ec2-scripts/copier/telemetry";
import type { ReconcileLine, ResultLine } from "../../common/result-lines";
import { MotoServer, startMoto } from "../../local/moto";
import { waitFor } from "../../local/ports";
import { reconcileSummary } from "../support/copier";

const DIGEST = `sha256:${"a".repeat(64)}`;
const line = (result: string, tag: string, extra: Record<string, unknown> = {}) => ({
  result,
  source: `770203350335.dkr.ecr.us-east-1.amazonaws.com/kuali-coeus:${tag}`,
  target: `730096353738.dkr.ecr.us-east-1.amazonaws.com/coeus:${tag}`,
  digest: DIGEST,
  ...extra,
});
const summary = (copied: number, extra: Partial<ReconcileLine> = {}) =>
  reconcileSummary({ copied, unchanged: 40, duration_s: 3.5, ...extra });

/** A fixed wall clock inside the last hour (CloudWatch and moto keep recent data). */
const T0 = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;

describe("the copier's telemetry, read back from moto's CloudWatch and CloudWatch Logs", function () {
  this.timeout(60000);
  let moto: MotoServer;
  let cloudWatch: CloudWatchClient;
  let logs: CloudWatchLogsClient;
  let group = 0;

  before(async () => {
    moto = await startMoto();
    cloudWatch = new CloudWatchClient(moto.clientConfig());
    logs = new CloudWatchLogsClient(moto.clientConfig());
  });
  after(async () => {
    await moto?.stop();
  });
  beforeEach(() => moto.reset());

  async function newGroup(): Promise<string> {
    const name = `/ecr-sync/results-${++group}`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    return name;
  }

  function sink(logGroupName: string, warnings: string[] = [], now = () => T0 + 5_000) {
    return new Telemetry({
      logGroupName,
      logStreamName: resultsStreamName({
        instanceId: "i-0123456789abcdef0",
        startedAt: new Date(T0),
        pid: 42,
      }),
      cloudWatch,
      logs,
      now,
      warn: (m) => warnings.push(m),
      shipEveryMs: 0,
    });
  }

  async function statistic(metric: MetricKey, stat: Statistic): Promise<number | undefined> {
    const { Datapoints = [] } = await cloudWatch.send(
      new GetMetricStatisticsCommand({
        Namespace: METRIC_NAMESPACE,
        MetricName: METRICS[metric],
        StartTime: new Date(T0 - 3600_000),
        EndTime: new Date(T0 + 3600_000),
        Period: 7200,
        Statistics: [stat],
      }),
    );
    if (Datapoints.length === 0) return undefined;
    return Datapoints.map((d) => d[stat] as number).reduce((a, b) => a + b, 0);
  }

  async function eventsIn(logGroupName: string): Promise<string[]> {
    const { logStreams = [] } = await logs.send(new DescribeLogStreamsCommand({ logGroupName }));
    const messages: string[] = [];
    for (const s of logStreams) {
      const { events = [] } = await logs.send(
        new GetLogEventsCommand({ logGroupName, logStreamName: s.logStreamName!, startFromHead: true }),
      );
      messages.push(...events.map((e) => e.message!));
    }
    return messages;
  }

  it("publishes each figure the alarms and the dashboard read, in the ecr-sync namespace", async () => {
    const group = await newGroup();
    const telemetry = sink(group);
    const lines = [
      line("copied", "v1", { copy_s: 2.5, pushed_at: "2026-12-07T02:00:00Z", latency_s: 12.25 }),
      line("copied", "v2", { copy_s: 1, pushed_at: "2026-12-07T02:00:00Z", latency_s: 30 }),
      line("unchanged", "v3", { copy_s: 0.1 }),
      line("superseded", "v4", { event_digest: DIGEST, reason: "moved" }),
      line("failed", "v5", { error: "the source registry answered 503" }),
      line("unsupported", "x".repeat(129), { reason: "too long" }),
      line("copied", "v6", { copy_s: 3 }), // a reconcile's copy: no push time, no latency
      summary(1, { superseded: 1, failed: 1, unsupported: 1 }),
    ];
    for (const l of lines) telemetry.record(l);
    await telemetry.close();

    expect(await statistic("copied", "Sum")).to.equal(3);
    expect(await statistic("failed", "Sum")).to.equal(1);
    expect(await statistic("superseded", "Sum")).to.equal(1);
    expect(await statistic("unsupported", "Sum")).to.equal(1);
    expect(await statistic("latency", "SampleCount")).to.equal(2);
    expect(await statistic("latency", "Sum")).to.equal(42.25);
    expect(await statistic("latency", "Maximum")).to.equal(30);
    expect(await statistic("reconcileRuns", "Sum")).to.equal(1);
    expect(await statistic("reconcileHealed", "Sum")).to.equal(1);
    // Only the push trigger's filters publish these.
    expect(await statistic("invalidDecisions", "SampleCount")).to.equal(undefined);
  });

  it("publishes 0 heals for a reconcile that healed nothing: a data point, not 'no data'", async () => {
    const telemetry = sink(await newGroup());
    telemetry.record(summary(0));
    await telemetry.close();
    expect(await statistic("reconcileHealed", "SampleCount")).to.equal(1);
    expect(await statistic("reconcileHealed", "Sum")).to.equal(0);
    expect(await statistic("reconcileRuns", "Sum")).to.equal(1);
    expect(await statistic("copied", "SampleCount")).to.equal(undefined);
  });

  it("makes the run's stream when it starts, so its end sends figures and events in one round trip", async () => {
    const logGroupName = await newGroup();
    const sent: string[] = [];
    const recorded = <C extends { send: (...args: never[]) => Promise<unknown> }>(client: C): C =>
      ({
        send: (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          sent.push(command.constructor.name);
          return (client.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
        },
      }) as unknown as C;
    const telemetry = new Telemetry({
      logGroupName,
      logStreamName: "i-0123456789abcdef0/start/7",
      cloudWatch: recorded(cloudWatch),
      logs: recorded(logs),
      now: () => T0 + 5_000,
      warn: () => undefined,
      shipEveryMs: 0,
    });
    // Before any line: the stream is already on its way.
    expect(sent).to.deep.equal(["CreateLogStreamCommand"]);
    telemetry.record(line("copied", "v1", { latency_s: 2 }));
    await telemetry.close();
    expect(sent.slice(1).sort()).to.deep.equal(["PutLogEventsCommand", "PutMetricDataCommand"]);
  });

  it("writes each result line as its own event, in order, in one stream per run", async () => {
    const group = await newGroup();
    const telemetry = sink(group);
    const lines = [line("unchanged", "v1"), line("copied", "v2", { copy_s: 1 }), summary(1)];
    for (const l of lines) telemetry.record(l);
    await telemetry.close();
    const { logStreams = [] } = await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
    expect(logStreams.map((s) => s.logStreamName)).to.deep.equal([
      `i-0123456789abcdef0/${new Date(T0).toISOString().replace(/:/g, "-")}/42`,
    ]);
    const messages = await eventsIn(group);
    expect(messages.map((m) => JSON.parse(m))).to.deep.equal(lines);
  });

  it("writes into a stream that exists already (ResourceAlreadyExistsException is not a failure)", async () => {
    const group = await newGroup();
    const warnings: string[] = [];
    // The stream is there before the run starts (the sink makes its stream as it starts).
    await logs.send(
      new CreateLogStreamCommand({
        logGroupName: group,
        logStreamName: resultsStreamName({
          instanceId: "i-0123456789abcdef0",
          startedAt: new Date(T0),
          pid: 42,
        }),
      }),
    );
    const telemetry = sink(group, warnings);
    telemetry.record(line("copied", "v1"));
    await telemetry.close();
    expect(warnings).to.deep.equal([]);
    expect(await eventsIn(group)).to.have.length(1);
  });

  it("ships while a long run lasts, not only at its end", async () => {
    const group = await newGroup();
    const telemetry = new Telemetry({
      logGroupName: group,
      logStreamName: "s",
      cloudWatch,
      logs,
      now: () => T0,
      warn: () => undefined,
      shipEveryMs: 200,
    });
    telemetry.record(line("copied", "v1"));
    // Nothing closed, and the line and its figure arrive.
    await waitFor(
      "the line in the results log group",
      async () => (await eventsIn(group)).length === 1,
      5000,
    );
    await waitFor("the figure in CloudWatch", async () => (await statistic("copied", "Sum")) === 1, 5000);
    await telemetry.close();
  });

  it("tells a failure once on stderr, without a secret, and never throws (a log group that does not exist)", async () => {
    const warnings: string[] = [];
    const telemetry = sink("/ecr-sync/no-such-group", warnings);
    for (let i = 0; i < 3; i++) telemetry.record(line("copied", `v${i}`));
    await telemetry.close();
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(
      /^telemetry: could not create log stream .* in \/ecr-sync\/no-such-group: ResourceNotFoundException/,
    );
    // The figures still went out: the two halves fail apart.
    expect(await statistic("copied", "Sum")).to.equal(3);
    for (const w of warnings) expect(w).not.to.include(moto.clientConfig().credentials.secretAccessKey);
  });

  it("says so when CloudWatch Logs refuses lines for their time (a worker clock 15 days slow)", async () => {
    const warnings: string[] = [];
    const telemetry = sink(await newGroup(), warnings, () => Date.now() - 15 * 24 * 3600_000);
    telemetry.record(line("copied", "v1"));
    await telemetry.close();
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/refused some result lines \(\{"tooOldLogEventEndIndex":0\}\)/);
  });

  describe("a CloudWatch that accepts connections and never answers", () => {
    let silent: Server;
    const sockets: Socket[] = [];
    let endpoint: string;
    before(async () => {
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it("close() returns within its deadline, and says what was dropped", async () => {
      const config = { ...moto.clientConfig(), endpoint, maxAttempts: 1 };
      const warnings: string[] = [];
      const telemetry = new Telemetry({
        logGroupName: "/ecr-sync/results",
        logStreamName: "s",
        cloudWatch: new CloudWatchClient(config),
        logs: new CloudWatchLogsClient(config),
        warn: (m) => warnings.push(m),
        closeDeadlineMs: 1000,
        shipEveryMs: 0,
      });
      telemetry.record(line("copied", "v1"));
      const started = performance.now();
      await telemetry.close();
      const took = performance.now() - started;
      expect(took).to.be.within(900, 2500);
      expect(warnings.at(-1)).to.match(/did not answer within 1 s/);
    });

    it("from the environment: the SDK's own timeouts end a request that hangs (the deadline not needed)", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, moto.env(), { AWS_ENDPOINT_URL: endpoint });
      try {
        const warnings: string[] = [];
        const telemetry = telemetryFromEnvironment(
          { [RESULTS_LOG_GROUP_ENV]: "/ecr-sync/results", ECR_SYNC_REGION: "us-east-1" },
          { warn: (m) => warnings.push(m), shipEveryMs: 0, closeDeadlineMs: 60_000 },
        )!;
        telemetry.record(line("copied", "v1"));
        const started = performance.now();
        await telemetry.close();
        // Two attempts of at most 4 s each, plus the SDK's backoff between them.
        expect(performance.now() - started).to.be.below(15_000);
        expect(warnings.join("\n")).to.match(/TimeoutError|timed? ?out/i);
        expect(warnings.join("\n")).not.to.include(moto.clientConfig().credentials.secretAccessKey);
      } finally {
        process.env = saved;
      }
    });
  });

  it("is off without ECR_SYNC_RESULTS_LOG_GROUP (tests and local runs without CloudWatch)", () => {
    expect(telemetryFromEnvironment({})).to.equal(undefined);
    expect(telemetryFromEnvironment({ [RESULTS_LOG_GROUP_ENV]: "" })).to.equal(undefined);
    expect(telemetrySink({})).to.equal(undefined);
  });

  it("plugs into the emitter as a sink: each line it is called with, delivered at close", async () => {
    const group = await newGroup();
    const saved = { ...process.env };
    Object.assign(process.env, moto.env());
    try {
      const sink = telemetrySink({ [RESULTS_LOG_GROUP_ENV]: group, ECR_SYNC_REGION: "us-east-1" })!;
      const emitted: ResultLine = { result: "copied", source: "s:v1", target: "t:v1", digest: DIGEST };
      sink(emitted);
      await sink.close();
      expect((await eventsIn(group)).map((m) => JSON.parse(m))).to.deep.equal([emitted]);
    } finally {
      process.env = saved;
    }
  });
});

describe("the copier's telemetry: figures and batches within the API limits", () => {
  it("reads each figure from a line as the old filters did, and nothing from other lines", () => {
    expect(figuresOf(line("copied", "v1", { latency_s: 5 }))).to.deep.equal([
      ["copied", 1],
      ["latency", 5],
    ]);
    expect(figuresOf(line("copied", "v1", { latency_s: "5" }))).to.deep.equal([["copied", 1]]);
    expect(figuresOf(line("copied", "v1", { latency_s: -1 }))).to.deep.equal([["copied", 1]]);
    expect(figuresOf(line("unchanged", "v1", { latency_s: 5 }))).to.deep.equal([]);
    expect(figuresOf(line("planned", "v1"))).to.deep.equal([]);
    expect(figuresOf(summary(0))).to.deep.equal([
      ["reconcileRuns", 1],
      ["reconcileHealed", 0],
    ]);
    // An operator's dry run is no reconcile run: it must not keep the heartbeat quiet.
    expect(figuresOf(summary(0, { planned: 3, dry_run: true }))).to.deep.equal([]);
    expect(figuresOf({ decision: "invalid" })).to.deep.equal([]);
    // A referrer's line adds to no image figure (nor to a push's latency).
    const referrer = { referrer: `sha256:${"b".repeat(64)}`, subject: `sha256:${"a".repeat(64)}` };
    expect(figuresOf(line("copied", "v1", { ...referrer, latency_s: 5 }))).to.deep.equal([]);
    expect(figuresOf(line("unsupported", "v1", referrer))).to.deep.equal([]);
    expect(figuresOf(line("failed", "v1", { subject: referrer.subject }))).to.deep.equal([]);
  });

  it("splits the events at 10,000 per request and at 1,048,576 bytes with 26 per event", () => {
    const small = Array.from({ length: 10_001 }, (_, i) => ({ timestamp: T0, message: "x" }));
    expect(eventBatches(small).map((b) => b.length)).to.deep.equal([10_000, 1]);
    const message = "y".repeat(100_000 - PUT_LOG_EVENTS_LIMITS.overheadPerEvent);
    const big = Array.from({ length: 11 }, () => ({ timestamp: T0, message }));
    expect(eventBatches(big).map((b) => b.length)).to.deep.equal([10, 1]);
    const apart = [
      { timestamp: T0, message: "a" },
      { timestamp: T0 + 24 * 3600_000 + 1, message: "b" },
    ];
    expect(eventBatches(apart).map((b) => b.length)).to.deep.equal([1, 1]);
  });

  it("puts at most 150 values in a datum and at most 1000 data in a request", () => {
    const many = new Map<number, number>(Array.from({ length: 301 }, (_, i) => [i, 1]));
    const data = metricData([[`latency@${T0}`, many]]);
    expect(data.map((d) => d.Values!.length)).to.deep.equal([150, 150, 1]);
    expect(data[0]).to.include({ MetricName: "CopyLatency", Unit: "Seconds" });
    const tallies = Array.from({ length: 1001 }, (_, i): [string, Map<number, number>] => [
      `copied@${T0 + i * 60_000}`,
      new Map([[1, 2]]),
    ]);
    expect(metricBatches(metricData(tallies)).map((b) => b.length)).to.deep.equal([1000, 1]);
  });

  it("names the run's stream without the characters a stream name may not hold", () => {
    expect(
      resultsStreamName({ instanceId: "i-0abc", startedAt: new Date("2026-12-07T03:04:05.678Z"), pid: 7 }),
    ).to.equal("i-0abc/2026-12-07T03-04-05.678Z/7");
  });
});

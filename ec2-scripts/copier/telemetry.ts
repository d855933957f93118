/**
 * The copier's own telemetry: a sink the result-line emitter calls for every line it prints, and
 * `close()` at the end of the run. Two things leave the worker:
 *
 * - The figures the alarms and the dashboard read (common/telemetry.ts METRICS), with
 *   PutMetricData in the `ecr-sync` namespace: images copied, failed, superseded and unsupported
 *   (one per line), the push-to-verified latency of each copied image that carried its push time,
 *   and per reconcile summary one run and the images it healed (its `copied`, 0 included, so the
 *   dashboard draws a healthy flat line and not "no data").
 * - Each result line as its OWN event in the results log group (PutLogEvents), so Logs Insights and
 *   any filter see one result per event. The SSM agent's copy of stdout in the command log group
 *   batches many lines into one event (local/twin/agent-output.ts), which is why this exists.
 *
 * Bounded in time: every request has a connect timeout of CONNECT_TIMEOUT_MS and a total of
 * REQUEST_TIMEOUT_MS with at most MAX_ATTEMPTS attempts, and `close()` returns within
 * CLOSE_DEADLINE_MS whatever CloudWatch does (requests still in flight are aborted). A dead
 * CloudWatch therefore adds at most 10 s to a run, after its copies are done.
 *
 * Never fatal: a telemetry failure is written on stderr (the error's name, status and message;
 * never a credential) and changes neither a result line nor the exit code. The copy happened or
 * did not whatever CloudWatch says, and the exit code is what SSM reports and what the
 * failed-command rule alerts on, so an unreachable CloudWatch must not turn a good copy into a
 * page, nor a failed one into a different failure. What still notices a telemetry outage: the
 * failed-command rule (it reads SSM's command status, which reads exit codes, not metrics); the
 * reconcile heartbeat alarm, which goes to ALARM when no ReconcileRuns arrive for its window
 * (treatMissingData breaching); and the stderr line, which the command log group keeps.
 */
import {
  CloudWatchClient,
  MetricDatum,
  PutMetricDataCommand,
  StandardUnit,
} from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  InputLogEvent,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  COPIER_METRICS,
  CopierMetricKey,
  METRIC_NAMESPACE,
  METRICS,
  RESULTS_LOG_GROUP_ENV,
} from "../../common/telemetry";
import { isReferrerLine } from "../../common/result-lines";

/**
 * A result line as the emitter prints it (common/result-lines.ts ResultLine, or any plain object:
 * an interface has no index signature, so the type is only `object` and the fields are read below).
 */
export type ResultLineObject = object;

/**
 * PutMetricData: "Each request is also limited to no more than 1000 different metrics", "limited to
 * 1 MB in size for HTTP POST requests", and Values/Counts carry "up to 150 values per metric"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
 */
export const PUT_METRIC_DATA_LIMITS = { data: 1000, bytes: 1_000_000, valuesPerDatum: 150 } as const;
/**
 * PutLogEvents: "The maximum batch size is 1,048,576 bytes. This size is calculated as the sum of all
 * event messages in UTF-8, plus 26 bytes for each log event"; "The maximum number of log events in a
 * batch is 10,000"; "A batch of log events in a single request cannot span more than 24 hours"; each
 * event at most 256 KB (the older, smaller of the figures the API reference has given)
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html).
 */
export const PUT_LOG_EVENTS_LIMITS = {
  events: 10_000,
  bytes: 1_048_576,
  overheadPerEvent: 26,
  spanMs: 24 * 3600 * 1000,
  eventBytes: 256 * 1024,
} as const;

/** Each request: connect within this, answered within the total; at most this many attempts. */
export const CONNECT_TIMEOUT_MS = 2000;
export const REQUEST_TIMEOUT_MS = 4000;
export const MAX_ATTEMPTS = 2;
/** `close()` returns within this, delivered or not. */
export const CLOSE_DEADLINE_MS = 10_000;
/** While a run lasts (a long reconcile), what was recorded is shipped this often. */
export const SHIP_EVERY_MS = 15_000;

/** A CloudWatch Logs stream name may not contain ':' or '*'. */
function streamSafe(text: string): string {
  return text.replace(/[:*]/g, "-");
}

/** This run's stream in the results log group: the instance, the start time, the process. */
export function resultsStreamName(a: { instanceId: string; startedAt: Date; pid: number }): string {
  return streamSafe(`${a.instanceId}/${a.startedAt.toISOString()}/${a.pid}`);
}

export interface TelemetryOptions {
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly cloudWatch: Pick<CloudWatchClient, "send">;
  readonly logs: Pick<CloudWatchLogsClient, "send">;
  /** Wall clock, ms since 1970 (what AWS compares timestamps with). Default Date.now. */
  readonly now?: () => number;
  /** Where a telemetry failure is told. Default: stderr, as the copier's other log lines. */
  readonly warn?: (message: string) => void;
  /** Default CLOSE_DEADLINE_MS. */
  readonly closeDeadlineMs?: number;
  /** Default SHIP_EVERY_MS; 0: ship only when a batch is full and at close. */
  readonly shipEveryMs?: number;
}

/** What one metric got in one minute: value → how many times. */
type Tally = Map<number, number>;

const MINUTE_MS = 60_000;

/** Counted per line of this result. */
const COUNTED: Partial<Record<string, CopierMetricKey>> = {
  copied: "copied",
  failed: "failed",
  superseded: "superseded",
  unsupported: "unsupported",
};

/** The figures one result line adds: metric and value. */
export function figuresOf(resultLine: ResultLineObject): Array<[CopierMetricKey, number]> {
  const line = resultLine as Readonly<Record<string, unknown>>;
  const figures: Array<[CopierMetricKey, number]> = [];
  const result = line.result;
  if (typeof result !== "string") return figures;
  // A referrer's line is not an image's: it adds to no image figure (its own metrics are still to come).
  if (isReferrerLine(line)) return figures;
  const counted = COUNTED[result];
  if (counted !== undefined) figures.push([counted, 1]);
  // A number is required, as the old filter's `$.latency_s >= 0` did: a bug upstream that writes a
  // string or a negative publishes nothing rather than garbage.
  if (result === "copied" && isSeconds(line.latency_s)) figures.push(["latency", line.latency_s]);
  // A dry run heals nothing: counted as a run, an operator's dry run would keep the no-reconcile
  // heartbeat quiet while the scheduled reconcile is broken.
  if (result === "reconcile" && line.dry_run !== true) {
    figures.push(["reconcileRuns", 1]);
    // Images a reconcile had to copy come from its summary, not from copied lines without a push
    // time: a manual copy has none either and would count as a heal.
    if (isCount(line.copied)) figures.push(["reconcileHealed", line.copied]);
  }
  return figures;
}

function isSeconds(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return `${error.name}${status === undefined ? "" : ` (HTTP ${status})`}: ${error.message.slice(0, 300)}`;
  }
  return String(error).slice(0, 300);
}

/**
 * The sink. `record` never throws and never waits; `close` never rejects and returns within its
 * deadline. Call `close` once, after the last line (and after the tags' locks are released: it
 * may wait for CloudWatch).
 */
export class Telemetry {
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private readonly tallies = new Map<string, Tally>();
  private events: InputLogEvent[] = [];
  private eventBytes = 0;
  private lastTimestamp = 0;
  private streamReady: Promise<boolean> | undefined;
  private shipping: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly warned = new Set<string>();

  constructor(private readonly options: TelemetryOptions) {
    this.now = options.now ?? Date.now;
    this.warn =
      options.warn ??
      ((m) => process.stderr.write(`${new Date().toISOString().slice(0, 19)}Z ecr-sync: ${m}\n`));
    // The run's stream is made now, while the run does its own work: at the end, the figures and
    // the result events then go out side by side, one round trip before the run can exit.
    // A failure now is told only if the try at shipping time fails too.
    void this.ensureStream(false);
    const every = options.shipEveryMs ?? SHIP_EVERY_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.ship(), every);
      // The copier's end does not wait for the next tick: close() ships what is left.
      this.timer.unref();
    }
  }

  /** One result line, as printed on stdout. */
  record(line: ResultLineObject): void {
    if (this.closed) return;
    try {
      // Timestamps must be in order within a batch; a clock stepped back must not break one.
      const at = Math.max(this.now(), this.lastTimestamp);
      this.lastTimestamp = at;
      const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
      for (const [metric, value] of figuresOf(line)) {
        const key = `${metric}@${minute}`;
        const tally = this.tallies.get(key) ?? new Map<number, number>();
        tally.set(value, (tally.get(value) ?? 0) + 1);
        this.tallies.set(key, tally);
      }
      const message = JSON.stringify(line);
      const bytes = Buffer.byteLength(message, "utf8") + PUT_LOG_EVENTS_LIMITS.overheadPerEvent;
      if (bytes > PUT_LOG_EVENTS_LIMITS.eventBytes) {
        this.once(
          "too-long",
          `telemetry: a result line of ${bytes} bytes is longer than one log event takes; it is only in the command output`,
        );
        return;
      }
      this.events.push({ timestamp: at, message });
      this.eventBytes += bytes;
      if (
        this.events.length >= PUT_LOG_EVENTS_LIMITS.events ||
        this.eventBytes >= PUT_LOG_EVENTS_LIMITS.bytes
      )
        this.ship();
    } catch (error) {
      this.once("record", `telemetry: could not record a result line: ${describeError(error)}`);
    }
  }

  /** Ships what is left and stops; within the deadline, whatever CloudWatch does. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.ship();
    const deadline = this.options.closeDeadlineMs ?? CLOSE_DEADLINE_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), deadline)));
    const outcome = await Promise.race([this.shipping.then(() => "done" as const), late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.abort.abort();
      this.warn(
        `telemetry: CloudWatch did not answer within ${deadline / 1000} s; the run's figures and results log events not yet delivered are dropped (its result lines are in the command output)`,
      );
    }
  }

  /** Takes what was recorded so far and sends it, after whatever is being sent now. */
  private ship(): void {
    const tallies = [...this.tallies];
    this.tallies.clear();
    const events = this.events;
    this.events = [];
    this.eventBytes = 0;
    if (tallies.length === 0 && events.length === 0) return;
    // Each send reports its own failures; this catch is for a bug in the batching itself, which
    // would otherwise be an unhandled rejection that ends the whole run mid-copy.
    this.shipping = this.shipping
      .then(() => Promise.all([this.putMetrics(tallies), this.putEvents(events)]))
      .then(
        () => undefined,
        (error: unknown) => this.once("ship", `telemetry: could not send: ${describeError(error)}`),
      );
  }

  private async putMetrics(tallies: Array<[string, Tally]>): Promise<void> {
    for (const batch of metricBatches(metricData(tallies))) {
      if (this.abort.signal.aborted) return;
      try {
        await this.options.cloudWatch.send(
          new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: batch }),
          { abortSignal: this.abort.signal },
        );
      } catch (error) {
        this.once(
          "metrics",
          `telemetry: could not publish figures to CloudWatch (namespace ${METRIC_NAMESPACE}): ${describeError(error)}`,
        );
      }
    }
  }

  private async putEvents(events: InputLogEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!(await this.ensureStream(true))) return;
    for (const batch of eventBatches(events)) {
      if (this.abort.signal.aborted) return;
      try {
        const answer = await this.options.logs.send(
          new PutLogEventsCommand({
            logGroupName: this.options.logGroupName,
            logStreamName: this.options.logStreamName,
            logEvents: batch,
          }),
          { abortSignal: this.abort.signal },
        );
        // Events out of the accepted time range are refused one by one, the rest written.
        const rejected = answer.rejectedLogEventsInfo;
        if (rejected !== undefined && Object.values(rejected).some((v) => v !== undefined))
          this.once(
            "rejected",
            `telemetry: log group ${this.options.logGroupName} refused some result lines (${JSON.stringify(rejected)}): is the worker's clock right?`,
          );
      } catch (error) {
        this.once(
          "events",
          `telemetry: could not write result lines to log group ${this.options.logGroupName}: ${describeError(error)}`,
        );
      }
    }
  }

  /**
   * This run's stream, created once; one that exists already (a retried call) is fine. A failed
   * creation is told by the shipment that needed it (`tell`), never when it was only made ahead;
   * the next shipment tries again.
   */
  private ensureStream(tell: boolean): Promise<boolean> {
    const attempt = (this.streamReady ??= this.createStream());
    if (!tell) return attempt;
    return attempt.then((ok) => {
      if (!ok)
        this.once(
          "stream",
          `telemetry: could not create log stream ${this.options.logStreamName} in ${this.options.logGroupName}: ${describeError(this.streamError)}`,
        );
      return ok;
    });
  }

  private streamError: unknown;

  private createStream(): Promise<boolean> {
    return this.options.logs
      .send(
        new CreateLogStreamCommand({
          logGroupName: this.options.logGroupName,
          logStreamName: this.options.logStreamName,
        }),
        { abortSignal: this.abort.signal },
      )
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof Error && error.name === "ResourceAlreadyExistsException") return true;
          this.streamError = error;
          this.streamReady = undefined; // the next call tries again
          return false;
        },
      );
  }

  /** Each kind of failure is told once per run: a dead CloudWatch is one line, not one per batch. */
  private once(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.warn(message);
  }
}

/** The data of the tallies: one datum per metric and minute, at most 150 distinct values each. */
export function metricData(tallies: ReadonlyArray<[string, Tally]>): MetricDatum[] {
  const data: MetricDatum[] = [];
  for (const [key, tally] of tallies) {
    const [metric, minute] = key.split("@") as [CopierMetricKey, string];
    const pairs = [...tally].sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < pairs.length; i += PUT_METRIC_DATA_LIMITS.valuesPerDatum) {
      const slice = pairs.slice(i, i + PUT_METRIC_DATA_LIMITS.valuesPerDatum);
      data.push({
        MetricName: METRICS[metric],
        Timestamp: new Date(Number(minute)),
        Unit: COPIER_METRICS[metric] as StandardUnit,
        Values: slice.map(([value]) => value),
        Counts: slice.map(([, count]) => count),
      });
    }
  }
  return data;
}

/** A generous estimate of a datum's share of a request, in bytes (names, timestamp, values). */
function datumBytes(d: MetricDatum): number {
  return 200 + 60 * (d.Values?.length ?? 1);
}

/** The data in requests PutMetricData accepts (PUT_METRIC_DATA_LIMITS). */
export function metricBatches(data: readonly MetricDatum[]): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let batch: MetricDatum[] = [];
  let bytes = 0;
  for (const datum of data) {
    const size = datumBytes(datum);
    if (batch.length === PUT_METRIC_DATA_LIMITS.data || bytes + size > PUT_METRIC_DATA_LIMITS.bytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(datum);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The events (in time order) in requests PutLogEvents accepts (PUT_LOG_EVENTS_LIMITS). */
export function eventBatches(events: readonly InputLogEvent[]): InputLogEvent[][] {
  const batches: InputLogEvent[][] = [];
  let batch: InputLogEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(event.message ?? "", "utf8") + PUT_LOG_EVENTS_LIMITS.overheadPerEvent;
    const full =
      batch.length === PUT_LOG_EVENTS_LIMITS.events ||
      bytes + size > PUT_LOG_EVENTS_LIMITS.bytes ||
      (batch.length > 0 && event.timestamp! - batch[0].timestamp! > PUT_LOG_EVENTS_LIMITS.spanMs);
    if (full) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * The sink for this run, configured from the environment: ECR_SYNC_RESULTS_LOG_GROUP (unset or
 * empty: telemetry off, as in tests and local runs without CloudWatch), the region from
 * ECR_SYNC_REGION, the endpoint the SDK's own way (AWS_ENDPOINT_URL), credentials from the SDK's
 * chain (the instance profile), the stream from AWS_SSM_INSTANCE_ID (which the SSM agent sets for
 * the commands it runs: agent/executers/executers.go envVarInstanceID), the start time and the pid.
 */
export function telemetryFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Omit<TelemetryOptions, "logGroupName" | "logStreamName" | "cloudWatch" | "logs">> = {},
): Telemetry | undefined {
  const logGroupName = env[RESULTS_LOG_GROUP_ENV];
  if (logGroupName === undefined || logGroupName === "") return undefined;
  const region = env.ECR_SYNC_REGION;
  const config = {
    ...(region === undefined || region === "" ? {} : { region }),
    maxAttempts: MAX_ATTEMPTS,
    // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes and waits on
    // (@smithy/types HttpHandlerInitialization): a hung CloudWatch would then hold the run until the
    // close deadline instead of failing the request.
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
  const startedAt = new Date(overrides.now?.() ?? Date.now());
  return new Telemetry({
    ...overrides,
    logGroupName,
    logStreamName: resultsStreamName({
      instanceId: env.AWS_SSM_INSTANCE_ID || "local",
      startedAt,
      pid: process.pid,
    }),
    cloudWatch: new CloudWatchClient(config),
    logs: new CloudWatchLogsClient(config),
  });
}

/**
 * The telemetry as one of the emitter's sinks (ec2-scripts/copier/results.ts ResultSink: called with
 * every line, closed before the run exits), or undefined when it is off. `results.addSink(sink)`.
 */
export function telemetrySink(
  env: NodeJS.ProcessEnv = process.env,
): (((line: ResultLineObject) => void) & { close(): Promise<void> }) | undefined {
  const telemetry = telemetryFromEnvironment(env);
  if (telemetry === undefined) return undefined;
  return Object.assign((line: ResultLineObject) => telemetry.record(line), {
    close: () => telemetry.close(),
  });
}

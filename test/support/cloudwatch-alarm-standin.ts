/**
 * A stand-in for how CloudWatch evaluates one metric alarm, for tests that must show what an alarm the
 * program renders does on a timeline of metric data (a fresh deploy, a healthy week, a worker that
 * died). CloudWatch's code is not public and no emulator here evaluates alarms (moto stores them), so
 * this is written from AWS's documented behaviour, each rule next to the page it comes from. What the
 * pages leave open is chosen on purpose and said so; what this does not model is refused with an error
 * rather than guessed.
 *
 * - Evaluation: every minute, over a sliding window that "advances each time the alarm is evaluated,
 *   forming a rolling time window" (the default EvaluationWindow), of Period × Evaluation Periods.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html
 * - M out of N: the alarm is ALARM when at least Datapoints to Alarm of the Evaluation Periods data
 *   points evaluated are breaching, otherwise OK.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation
 * - Missing data: CloudWatch "attempts to retrieve a higher number of data points than specified by
 *   Evaluation Periods" (the evaluation range; the page's example retrieves 5 for 3, so `extraPeriods`
 *   defaults to 2: the number for other periods is not published). No point missing: the most recent N.
 *   Some missing but at least N present: the most recent N present ones, treatMissingData ignored.
 *   Fewer than N present: every present one "no matter when reported", filled up to N with the
 *   treatMissingData value. `missing` and `ignore` are modelled only for a range with no data at all
 *   (INSUFFICIENT_DATA, keep the state).
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
 * - Limits: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with a
 *   period of less than one hour (3,600 seconds), the total evaluation period can't be longer than one
 *   day"; a math alarm has one returned expression, at most 10 metrics, all of the same period.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 * - Metric math, the functions alarms here use:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 *   Arithmetic treats a missing value as 0 where the other side has one; a comparison of two time
 *   series likewise, giving 0 or 1; FILL(TS, S) gives every period of the range a value; EPOCH(TS)
 *   "take[s] the period and range of the time series and return[s] a new non-sparse time series where
 *   each value is based on its timestamp" (here the period's start in seconds since 1970, as PERIOD and
 *   DIFF_TIME count seconds); TIME_SERIES(S) is non-sparse; IF follows the page's table: a missing
 *   condition drops the point, a true one whose value series has no point gives 0, a false one whose
 *   value series has no point (or no third argument) drops it.
 */

import { GetMetricDataCommand, GetMetricDataCommandOutput } from "@aws-sdk/client-cloudwatch";

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

/** One value published to a metric at a time (what the copier publishes for one result line). */
export interface MetricSample {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Milliseconds since 1970. */
  readonly at: number;
  readonly value: number;
}

interface MetricStat {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly period: number;
}

/** The parts of an alarm this stand-in evaluates, checked. */
export interface StandInAlarm {
  readonly metrics: ReadonlyMap<string, MetricStat>;
  /** The returned expression; a plain metric alarm returns its one metric, `m`. */
  readonly expression: string;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparisonOperator: string;
  readonly treatMissingData: string;
}

const COMPARISONS: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};
const TREATMENTS = ["breaching", "notBreaching", "missing", "ignore"];
/** Inputs of aws.cloudwatch.MetricAlarm that change evaluation in ways this does not model. */
const NOT_MODELLED = [
  "extendedStatistic",
  "thresholdMetricId",
  "evaluateLowSampleCountPercentiles",
  "warmUpConfiguration",
];

function fail(what: string): never {
  throw new Error(`cloudwatch alarm stand-in: ${what}`);
}

function int(inputs: Record<string, unknown>, key: string): number {
  const v = inputs[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    fail(`${key} is ${JSON.stringify(v)}, not a whole number ≥ 1`);
  return v;
}

function metricStat(m: Record<string, unknown>, stat: unknown, period: unknown): MetricStat {
  if (typeof m.namespace !== "string" || typeof m.metricName !== "string")
    fail(`a metric without namespace and metricName: ${JSON.stringify(m)}`);
  if (typeof stat !== "string" || !["Sum", "Maximum", "Minimum", "Average", "SampleCount"].includes(stat))
    fail(`statistic ${JSON.stringify(stat)} is not modelled`);
  if (typeof period !== "number" || period < 60 || period % 60 !== 0)
    fail(`period ${JSON.stringify(period)}: this models standard-resolution periods, multiples of 60 s`);
  return {
    namespace: m.namespace,
    metricName: m.metricName,
    dimensions: (m.dimensions as Record<string, string> | undefined) ?? {},
    stat,
    period,
  };
}

/** Reads an alarm from the inputs of aws.cloudwatch.MetricAlarm as a rendering records them. */
export function alarmFromInputs(inputs: Record<string, unknown>): StandInAlarm {
  for (const key of NOT_MODELLED) if (inputs[key] !== undefined) fail(`${key} is not modelled`);
  const metrics = new Map<string, MetricStat>();
  let expression: string;
  const queries = inputs.metricQueries as Array<Record<string, unknown>> | undefined;
  if (queries === undefined) {
    metrics.set("m", metricStat(inputs, inputs.statistic, inputs.period));
    expression = "m";
  } else {
    for (const key of ["namespace", "metricName", "statistic", "period"])
      if (inputs[key] !== undefined) fail(`${key} and metricQueries together: PutMetricAlarm refuses that`);
    const returned = queries.filter((q) => q.returnData === true);
    if (returned.length !== 1 || typeof returned[0].expression !== "string")
      fail("a math alarm returns exactly one expression (returnData: true)");
    expression = returned[0].expression;
    for (const q of queries) {
      if (q.metric === undefined) continue;
      const m = q.metric as Record<string, unknown>;
      metrics.set(String(q.id), metricStat(m, m.stat, m.period));
    }
    if (metrics.size > 10) fail("a math alarm uses at most 10 metrics");
  }
  const periods = new Set([...metrics.values()].map((m) => m.period));
  if (periods.size !== 1) fail("every metric of a math alarm must use the same period");
  const period = [...periods][0];
  const evaluationPeriods = int(inputs, "evaluationPeriods");
  const span = period * evaluationPeriods;
  if (span > 604_800 || (period < 3600 && span > 86_400))
    fail(`period ${period} s × ${evaluationPeriods} evaluation periods exceeds what PutMetricAlarm accepts`);
  const datapointsToAlarm =
    inputs.datapointsToAlarm === undefined ? evaluationPeriods : int(inputs, "datapointsToAlarm");
  if (datapointsToAlarm > evaluationPeriods) fail("datapointsToAlarm is more than evaluationPeriods");
  const comparisonOperator = String(inputs.comparisonOperator);
  if (COMPARISONS[comparisonOperator] === undefined)
    fail(`comparisonOperator ${comparisonOperator} is not modelled`);
  if (typeof inputs.threshold !== "number") fail("threshold is not a number");
  const treatMissingData = (inputs.treatMissingData as string | undefined) ?? "missing";
  if (!TREATMENTS.includes(treatMissingData)) fail(`treatMissingData ${treatMissingData}`);
  return {
    metrics,
    expression,
    period,
    evaluationPeriods,
    datapointsToAlarm,
    threshold: inputs.threshold,
    comparisonOperator,
    treatMissingData,
  };
}

/** Values over the periods of one query range, oldest first; `undefined`: no data point. */
export type Series = (number | undefined)[];
export type Value = number | Series;

/** The periods of one evaluation: their starts (ms), oldest first. */
interface Range {
  readonly starts: readonly number[];
  readonly periodMs: number;
}

function aggregate(values: number[], stat: string): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case "Sum":
      return values.reduce((a, b) => a + b, 0);
    case "Maximum":
      return Math.max(...values);
    case "Minimum":
      return Math.min(...values);
    case "Average":
      return values.reduce((a, b) => a + b, 0) / values.length;
    default:
      return values.length;
  }
}

/** Index of the first sample at or after `at` (samples sorted by time). */
function firstAtOrAfter(samples: readonly MetricSample[], at: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameMetric(sample: MetricSample, m: MetricStat): boolean {
  if (sample.namespace !== m.namespace || sample.metricName !== m.metricName) return false;
  const a = sample.dimensions ?? {};
  const keys = Object.keys(m.dimensions);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === m.dimensions[k]);
}

function metricSeries(samples: readonly MetricSample[], m: MetricStat, range: Range): Series {
  return range.starts.map((start) => {
    const values: number[] = [];
    for (
      let i = firstAtOrAfter(samples, start);
      i < samples.length && samples[i].at < start + range.periodMs;
      i++
    )
      if (sameMetric(samples[i], m)) values.push(samples[i].value);
    return aggregate(values, m.stat);
  });
}

// --- metric math: a small parser and the documented semantics of what it accepts ---

type Node =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "id"; readonly name: string }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Node[] }
  | { readonly kind: "binary"; readonly op: string; readonly left: Node; readonly right: Node }
  | { readonly kind: "negate"; readonly operand: Node };

const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([a-z][A-Za-z0-9_]*)|([A-Z][A-Z_]*)|(<=|>=|==|!=|&&|\|\||[-+*/<>(),]))/y;
const BINARY_LEVELS: readonly (readonly string[])[] = [
  ["||", "OR"],
  ["&&", "AND"],
  ["<", "<=", ">", ">=", "==", "!="],
  ["+", "-"],
  ["*", "/"],
];

/** Parses a metric math expression (the subset above); throws naming what it cannot read. */
export function parseExpression(text: string): Node {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) fail(`cannot read ${JSON.stringify(text.slice(at))} in ${JSON.stringify(text)}`);
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string) => {
    const t = tokens[pos++];
    if (t === undefined || (expected !== undefined && t !== expected))
      fail(`expected ${expected ?? "more"} at token ${pos} of ${JSON.stringify(text)}`);
    return t;
  };
  const level = (n: number): Node => {
    if (n === BINARY_LEVELS.length) return unary();
    let left = level(n + 1);
    while (peek() !== undefined && BINARY_LEVELS[n].includes(peek())) {
      const op = take();
      left = { kind: "binary", op: op === "OR" ? "||" : op === "AND" ? "&&" : op, left, right: level(n + 1) };
    }
    return left;
  };
  const unary = (): Node => {
    const t = take();
    if (t === "-") return { kind: "negate", operand: unary() };
    if (t === "(") {
      const inner = level(0);
      take(")");
      return inner;
    }
    if (/^\d/.test(t)) return { kind: "number", value: Number(t) };
    if (/^[a-z]/.test(t)) return { kind: "id", name: t };
    if (/^[A-Z]/.test(t) && peek() === "(") {
      take("(");
      const args: Node[] = [];
      if (peek() !== ")") {
        args.push(level(0));
        while (peek() === ",") {
          take(",");
          args.push(level(0));
        }
      }
      take(")");
      return { kind: "call", name: t, args };
    }
    return fail(`unexpected ${JSON.stringify(t)} in ${JSON.stringify(text)}`);
  };
  const tree = level(0);
  if (pos !== tokens.length)
    fail(`trailing ${JSON.stringify(tokens.slice(pos).join(" "))} in ${JSON.stringify(text)}`);
  return tree;
}

const OPERATIONS: Record<string, (a: number, b: number) => number | undefined> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  // "If the value of a data point causes a function to attempt to divide by zero, the data point is dropped."
  "/": (a, b) => (b === 0 ? undefined : a / b),
  "<": (a, b) => Number(a < b),
  "<=": (a, b) => Number(a <= b),
  ">": (a, b) => Number(a > b),
  ">=": (a, b) => Number(a >= b),
  "==": (a, b) => Number(a === b),
  "!=": (a, b) => Number(a !== b),
  "&&": (a, b) => Number(a !== 0 && b !== 0),
  "||": (a, b) => Number(a !== 0 || b !== 0),
};

function combine(op: string, left: Value, right: Value): Value {
  const f = OPERATIONS[op];
  if (typeof left === "number" && typeof right === "number")
    return f(left, right) ?? fail(`${left} ${op} ${right}`);
  if (typeof left === "number")
    return (right as Series).map((r) => (r === undefined ? undefined : f(left, r)));
  if (typeof right === "number") return left.map((l) => (l === undefined ? undefined : f(l, right)));
  return left.map((l, i) => {
    const r = right[i];
    if (l === undefined && r === undefined) return undefined;
    return f(l ?? 0, r ?? 0);
  });
}

function series(v: Value, what: string): Series {
  if (typeof v === "number") fail(`${what} needs a time series, got the scalar ${v}`);
  return v;
}

function evaluate(node: Node, env: ReadonlyMap<string, Series>, range: Range): Value {
  switch (node.kind) {
    case "number":
      return node.value;
    case "id":
      return env.get(node.name) ?? fail(`no metric or expression with the id ${node.name}`);
    case "negate":
      return combine("*", -1, evaluate(node.operand, env, range));
    case "binary":
      return combine(node.op, evaluate(node.left, env, range), evaluate(node.right, env, range));
    case "call": {
      const args = node.args.map((a) => evaluate(a, env, range));
      switch (node.name) {
        case "FILL": {
          const [ts, filler] = args;
          if (typeof filler !== "number") fail("FILL is modelled with a scalar filler only");
          return series(ts, "FILL").map((v) => v ?? filler);
        }
        case "EPOCH":
          series(args[0], "EPOCH");
          return range.starts.map((start) => Math.floor(start / 1000));
        case "TIME_SERIES": {
          const [s] = args;
          if (typeof s !== "number") fail("TIME_SERIES takes a scalar");
          return range.starts.map(() => s);
        }
        case "IF": {
          const [condition, whenTrue, whenFalse] = args;
          if (typeof condition === "number")
            return condition !== 0 ? whenTrue : (whenFalse ?? range.starts.map(() => undefined));
          return condition.map((c, i) => {
            if (c === undefined) return undefined;
            if (c !== 0) return typeof whenTrue === "number" ? whenTrue : (whenTrue[i] ?? 0);
            if (whenFalse === undefined) return undefined;
            return typeof whenFalse === "number" ? whenFalse : whenFalse[i];
          });
        }
        default:
          return fail(`the metric math function ${node.name} is not modelled`);
      }
    }
  }
}

function pointsAt(
  alarm: StandInAlarm,
  tree: Node,
  sorted: readonly MetricSample[],
  at: number,
  extra: number,
): Series {
  const periodMs = alarm.period * 1000;
  const count = alarm.evaluationPeriods + extra;
  const range: Range = {
    periodMs,
    starts: Array.from({ length: count }, (_, k) => at - (count - k) * periodMs),
  };
  const env = new Map<string, Series>();
  for (const [id, m] of alarm.metrics) env.set(id, metricSeries(sorted, m, range));
  return series(evaluate(tree, env, range), "an alarm's expression");
}

/**
 * The data points of one evaluation at `at` (ms): the evaluation range, `evaluationPeriods +
 * extraPeriods` periods ending at `at`, oldest first.
 */
export function dataPointsAt(
  alarm: StandInAlarm,
  samples: readonly MetricSample[],
  at: number,
  extraPeriods = 2,
): Series {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  return pointsAt(alarm, parseExpression(alarm.expression), sorted, at, extraPeriods);
}

/**
 * One metric math expression over given series (oldest first; `undefined`: no data point) whose periods
 * start at `starts` (ms) and last `periodMs`: what an alarm's expression yields for one evaluation range.
 */
export function evaluateMath(
  expression: string,
  seriesById: Readonly<Record<string, Series>>,
  starts: readonly number[],
  periodMs: number,
): Value {
  return evaluate(parseExpression(expression), new Map(Object.entries(seriesById)), { starts, periodMs });
}

/** The state one evaluation of `points` (the evaluation range, oldest first) sets, given the current one. */
export function stateOf(alarm: StandInAlarm, points: Series, current: AlarmState): AlarmState {
  const n = alarm.evaluationPeriods;
  const present = points.filter((p): p is number => p !== undefined);
  const breaching = (v: number) => COMPARISONS[alarm.comparisonOperator](v, alarm.threshold);
  let evaluated: boolean[];
  if (present.length >= n) {
    evaluated = present.slice(-n).map(breaching);
  } else if (present.length === 0 && alarm.treatMissingData === "missing") {
    return "INSUFFICIENT_DATA";
  } else if (present.length === 0 && alarm.treatMissingData === "ignore") {
    return current;
  } else if (alarm.treatMissingData === "breaching" || alarm.treatMissingData === "notBreaching") {
    const filled = Array.from({ length: n - present.length }, () => alarm.treatMissingData === "breaching");
    evaluated = [...present.map(breaching), ...filled];
  } else {
    return fail(
      `treatMissingData ${alarm.treatMissingData} with ${present.length} of ${n} data points is not modelled`,
    );
  }
  return evaluated.filter(Boolean).length >= alarm.datapointsToAlarm ? "ALARM" : "OK";
}

export interface StateChange {
  /** When the evaluation that changed it ran (ms). */
  readonly at: number;
  readonly from: AlarmState;
  readonly to: AlarmState;
}

/**
 * The alarm's state changes from its creation (INSUFFICIENT_DATA: "The alarm has just started") until
 * `until`, evaluated every `stepMs` (a minute, by default).
 */
export function stateChanges(
  alarm: StandInAlarm,
  samples: readonly MetricSample[],
  options: {
    readonly createdAt: number;
    readonly until: number;
    readonly stepMs?: number;
    readonly extraPeriods?: number;
  },
): StateChange[] {
  const step = options.stepMs ?? 60_000;
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const tree = parseExpression(alarm.expression);
  const changes: StateChange[] = [];
  let state: AlarmState = "INSUFFICIENT_DATA";
  for (let at = options.createdAt; at <= options.until; at += step) {
    const next = stateOf(alarm, pointsAt(alarm, tree, sorted, at, options.extraPeriods ?? 2), state);
    if (next !== state) changes.push({ at, from: state, to: next });
    state = next;
  }
  return changes;
}

/** What reads metric data back: a CloudWatch client (moto's, in the tests). */
export interface MetricDataReader {
  send(command: GetMetricDataCommand): Promise<GetMetricDataCommandOutput>;
}

/**
 * The samples of one metric as CloudWatch holds them (GetMetricData, statistic Sum, one value per
 * `periodSeconds` from `start` to `end`), each at its period's start: what the stand-in evaluates when
 * the figures were published for real (by the copier, to moto) rather than written by the test. A Sum
 * per minute evaluates the same as the raw values for the Sum of any whole number of minutes, which is
 * what the heartbeat alarm reads.
 */
export async function metricSamplesFrom(
  cloudWatch: MetricDataReader,
  metric: { readonly namespace: string; readonly metricName: string },
  range: { readonly start: number; readonly end: number; readonly periodSeconds?: number },
): Promise<MetricSample[]> {
  const samples: MetricSample[] = [];
  let nextToken: string | undefined;
  do {
    const answer = await cloudWatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(range.start),
        EndTime: new Date(range.end),
        NextToken: nextToken,
        MetricDataQueries: [
          {
            Id: "m",
            MetricStat: {
              Metric: { Namespace: metric.namespace, MetricName: metric.metricName },
              Period: range.periodSeconds ?? 60,
              Stat: "Sum",
            },
            ReturnData: true,
          },
        ],
      }),
    );
    for (const result of answer.MetricDataResults ?? []) {
      const values = result.Values ?? [];
      (result.Timestamps ?? []).forEach((t, i) =>
        samples.push({
          namespace: metric.namespace,
          metricName: metric.metricName,
          at: t.getTime(),
          value: values[i],
        }),
      );
    }
    nextToken = answer.NextToken;
  } while (nextToken !== undefined);
  return samples.sort((a, b) => a.at - b.at);
}

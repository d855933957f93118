/**
 * Pure helpers of `npm run bench` (scripts/bench.ts): statistics, time accounting of the tools
 * a script run started, and the report (table and JSON line). No I/O here, so they are unit
 * tested on their own (test/unit/bench-stats.test.ts).
 */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty list: no run produced a value");
  for (const value of values) {
    if (!Number.isFinite(value)) throw new Error(`median: ${value} is not a finite number`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Rounds to `digits` decimals (figures in the JSON line stay readable and comparable). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A [start, end] span of time, in any one unit. */
export type Interval = readonly [number, number];

/**
 * Total length covered by `intervals` (overlaps counted once): the wall time during which at
 * least one process of a kind was running, e.g. the `aws` calls the script runs side by side.
 */
export function unionLength(intervals: readonly Interval[]): number {
  const sorted = intervals
    .map(([start, end]): Interval => {
      if (!(end >= start)) throw new Error(`unionLength: interval [${start}, ${end}] ends before it starts`);
      return [start, end];
    })
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let currentStart = Number.NEGATIVE_INFINITY;
  let currentEnd = Number.NEGATIVE_INFINITY;
  for (const [start, end] of sorted) {
    if (start > currentEnd) {
      if (currentEnd > currentStart) total += currentEnd - currentStart;
      currentStart = start;
      currentEnd = end;
    } else {
      currentEnd = Math.max(currentEnd, end);
    }
  }
  if (currentEnd > currentStart) total += currentEnd - currentStart;
  return total;
}

/** Least-squares line through points (x, y): how a time grows with a count. */
export function linearFit(points: ReadonlyArray<readonly [number, number]>): {
  slope: number;
  intercept: number;
} {
  if (points.length < 2) throw new Error("linearFit needs at least two points");
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  if (variance === 0) throw new Error("linearFit: every point has the same x");
  const slope = covariance / variance;
  return { slope, intercept: meanY - slope * meanX };
}

/**
 * One line per tool call, as written by the timing wrappers of scripts/bench/breakdown.ts:
 * "TOOL START_NS END_NS [WORDS…]". Returns each tool's calls as [start, end] spans in seconds.
 */
export function toolSpans(log: string): Map<string, Interval[]> {
  const spans = new Map<string, Interval[]>();
  for (const line of log.split("\n")) {
    if (line.trim() === "") continue;
    const [tool, start, end] = line.split(" ");
    const startNs = Number(start);
    const endNs = Number(end);
    if (!tool || !Number.isFinite(startNs) || !Number.isFinite(endNs))
      throw new Error(`toolTimes: malformed line '${line}'`);
    spans.set(tool, [...(spans.get(tool) ?? []), [startNs / 1e9, endNs / 1e9]]);
  }
  return spans;
}

/**
 * The wall time (seconds) during which each tool of the wrappers' log ran, and how many times
 * it was called.
 */
export function toolTimes(log: string): Record<string, { seconds: number; calls: number }> {
  const result: Record<string, { seconds: number; calls: number }> = {};
  for (const [tool, intervals] of [...toolSpans(log)].sort(([a], [b]) => a.localeCompare(b))) {
    result[tool] = { seconds: unionLength(intervals), calls: intervals.length };
  }
  return result;
}

/** Where one instrumented copy's time went, in seconds (the keys are the JSON line's). */
export interface Breakdown {
  readonly total: number;
  readonly aws_cli: number;
  readonly curl: number;
  readonly skopeo: number;
  readonly jq: number;
  /** No tool running: bash itself and process starts. */
  readonly bash_and_startup: number;
}

/** Splits a copy that took `total` seconds by the tool calls in its wrappers' log. */
export function breakdownOf(log: string, total: number): { breakdown: Breakdown; awsCalls: number } {
  const times = toolTimes(log);
  const anyTool = unionLength([...toolSpans(log).values()].flat());
  return {
    breakdown: {
      total,
      aws_cli: times.aws?.seconds ?? 0,
      curl: times.curl?.seconds ?? 0,
      skopeo: times.skopeo?.seconds ?? 0,
      jq: times.jq?.seconds ?? 0,
      bash_and_startup: Math.max(0, total - anyTool),
    },
    awsCalls: times.aws?.calls ?? 0,
  };
}

/** The median of every key over several records with the same keys, rounded; keys keep their order. */
export function medianOfEach<K extends string>(
  records: ReadonlyArray<Readonly<Record<K, number>>>,
): Record<K, number> {
  if (records.length === 0) throw new Error("medianOfEach of an empty list: no run produced a value");
  const keys = Object.keys(records[0]) as K[];
  return Object.fromEntries(keys.map((key) => [key, round(median(records.map((r) => r[key])))])) as Record<
    K,
    number
  >;
}

/** One row of the human-readable table. */
export interface Row {
  readonly figure: string;
  readonly measured: string;
  readonly target?: string;
  /** true met, false missed, undefined: no target. */
  readonly met?: boolean;
}

/** A Markdown table with padded, aligned columns (readable as text, pastes into docs/benchmarks.md): figure, measured, target, verdict. */
export function formatTable(rows: readonly Row[]): string {
  const cells = [
    ["Figure", "Measured", "Target", "Verdict"],
    ...rows.map((row) => [
      row.figure,
      row.measured,
      row.target ?? "",
      row.met === undefined ? "" : row.met ? "met" : "MISSED",
    ]),
  ].map((line) => line.map((cell) => cell.replace(/\|/g, "\\|")));
  const widths = cells[0].map((_, column) => Math.max(...cells.map((line) => line[column].length)));
  const render = (line: string[]) =>
    `| ${line.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  return [render(cells[0]), rule, ...cells.slice(1).map(render)].join("\n");
}

/** Figures every bench JSON line must carry (documented in docs/benchmarks.md). */
export const REQUIRED_FIGURES = [
  "full_copy_s",
  "baseline_s",
  "full_copy_ratio",
  "unchanged_copy_s",
  "unchanged_layer_bytes",
  "incremental_bytes_ratio",
  "multiarch_copy_s",
  "multiarch_digest_preserved",
  "reconcile_in_sync_s",
  "backfill_50_s",
  "burst_20_s",
  "burst_20_arrived",
  "runs",
  "machine",
] as const;

/**
 * The last line of the bench's output: one JSON object on one line. Fails naming the missing
 * figures, or any figure that is not a finite number where a number was measured.
 */
export function jsonLine(figures: Readonly<Record<string, unknown>>): string {
  const missing = REQUIRED_FIGURES.filter((name) => !(name in figures));
  if (missing.length > 0) throw new Error(`bench JSON line lacks figures: ${missing.join(", ")}`);
  const bad: string[] = [];
  const visit = (path: string, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) bad.push(`${path}=${value}`);
    else if (value !== null && typeof value === "object")
      for (const [key, inner] of Object.entries(value)) visit(`${path}.${key}`, inner);
  };
  for (const [key, value] of Object.entries(figures)) visit(key, value);
  if (bad.length > 0)
    throw new Error(`bench JSON line has figures that are not finite numbers: ${bad.join(", ")}`);
  return JSON.stringify(figures);
}

/** Bytes as MiB with one decimal, for the table. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

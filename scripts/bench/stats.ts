/**
 * Pure helpers of `npm run bench` (scripts/bench.ts): statistics and the report (table and JSON
 * line). No I/O here, so they are unit tested on their own (test/unit/bench-stats.test.ts).
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

/** One row of the human-readable table. */
export interface Row {
  readonly figure: string;
  readonly measured: string;
  /**
   * AWS calls the copier made (per run, or in all, as the figure says), counted at moto's door
   * (local/world.ts awsCalls); absent: no copier run (baseline, skopeo alone).
   */
  readonly aws?: number;
  readonly target?: string;
  /** met or missed and by how much (targets.ts judge); with `met`. */
  readonly verdict?: string;
  /** true met, false missed, undefined: no target. */
  readonly met?: boolean;
  /** The target's name in the JSON line's `targets`. */
  readonly key?: string;
  /** A missed time target: the CPU the run used and the floor it gives (cpu.ts floorLine), printed under the table. */
  readonly why?: string;
}

/**
 * A Markdown table with padded, aligned columns (readable as text, as prettier writes it): figure,
 * measured, AWS calls, target (unless `withTarget` is false: the page lists the targets above its
 * recorded table), verdict.
 */
export function formatTable(rows: readonly Row[], withTarget = true): string {
  const cells = [
    ["Figure", "Measured", "AWS calls", "Target", "Verdict"],
    ...rows.map((row) => [
      row.figure,
      row.measured,
      row.aws === undefined ? "" : String(row.aws),
      row.target ?? "",
      row.verdict ?? "",
    ]),
  ].map((line) =>
    line.filter((_, column) => withTarget || column !== 3).map((cell) => cell.replace(/\|/g, "\\|")),
  );
  const widths = cells[0].map((_, column) => Math.max(...cells.map((line) => line[column].length)));
  const render = (line: string[]) =>
    `| ${line.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  // The rule as prettier writes it, so that the table pasted into a Markdown file stays as it is.
  const rule = `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`;
  return [render(cells[0]), rule, ...cells.slice(1).map(render)].join("\n");
}

/** The JSON line's `targets`: every judged row's target, whether it was met, and the verdict, by key. */
export function targetsOf(
  rows: readonly Row[],
): Record<string, { target: string; met: boolean; verdict: string }> {
  const targets: Record<string, { target: string; met: boolean; verdict: string }> = {};
  for (const row of rows) {
    if (row.key === undefined || row.met === undefined) continue;
    if (row.key in targets) throw new Error(`two rows judge the target '${row.key}'`);
    targets[row.key] = { target: row.target ?? "", met: row.met, verdict: row.verdict ?? "" };
  }
  return targets;
}

/** Figures every bench JSON line must carry (documented in docs/benchmarks.md). */
export const REQUIRED_FIGURES = [
  "baseline_s",
  "full_copy_s",
  "full_copy_ratio",
  "full_copy_aws",
  "node_start_s",
  "unchanged_copy_s",
  "unchanged_copy_above_node_s",
  "unchanged_copy_aws",
  "unchanged_copy_layer_bytes",
  "unchanged_copy_cpu_s",
  "unchanged_copy_floor_s",
  "incremental_bytes_ratio",
  "multiarch_digest_preserved",
  "reconcile_in_sync_s",
  "reconcile_in_sync_cpu_s",
  "reconcile_in_sync_floor_s",
  "backfill_s",
  "backfill_cpu_s",
  "backfill_floor_s",
  "burst_s",
  "burst_arrived",
  "burst_aws",
  "burst_cpu_s",
  "burst_floor_s",
  "targets",
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

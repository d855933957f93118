/**
 * The targets the bench judges its figures against (docs/benchmarks.md lists them: the copier at
 * the speed of the bytes), and the verdict printed next to each: met, with the margin, or
 * missed, by how much. Pure: unit tested in test/unit/bench-targets.test.ts.
 */
import { Row } from "./stats";

/** How a value is printed in a target and a verdict. */
export type Unit = "s" | "x" | "n" | "B" | "yes";

/** One condition of a target: the value must be at most (or at least) `limit`. */
export interface Limit {
  /** What is limited, as the verdict names it ("time", "layer bytes"). */
  readonly name: string;
  readonly bound: "at most" | "at least";
  readonly limit: number;
  readonly unit: Unit;
}

/** A target: the text the report prints, and the limits it is judged by (the first is the headline). */
export interface Target {
  readonly text: string;
  readonly limits: readonly Limit[];
}

const atMost = (name: string, limit: number, unit: Unit): Limit => ({ name, bound: "at most", limit, unit });
const atLeast = (name: string, limit: number, unit: Unit): Limit => ({
  name,
  bound: "at least",
  limit,
  unit,
});

/** The copier's performance targets (issue 18, "Speed"), in the bench's units. */
export const TARGETS = {
  /** `nodeStart`: `node -e 0` in the worker root in the same run (its median). */
  unchanged: (nodeStart: number): Target => ({
    text: `≤ 0.4 s and ≤ node -e 0 + 0.25 s (${(nodeStart + 0.25).toFixed(2)} s), 0 layer bytes`,
    limits: [
      atMost("time", 0.4, "s"),
      atMost("time above node -e 0", 0.25, "s"),
      atMost("layer bytes", 0, "B"),
    ],
  }),
  fullCopyRatio: { text: "≤ 1.15x the baseline", limits: [atMost("ratio", 1.15, "x")] },
  burst: (copies: number): Target => ({
    text: `≤ 6 s, all ${copies} arrive`,
    limits: [atMost("time", 6, "s"), atLeast("arrived", copies, "n")],
  }),
  /** Applies to 200 tags. */
  reconcileInSync: { text: "≤ 1.5 s", limits: [atMost("time", 1.5, "s")] },
  /** Applies to 50 tags. */
  backfill: { text: "≤ 4 s", limits: [atMost("time", 4, "s")] },
  incremental: { text: "≤ 1.05x the changed layer", limits: [atMost("bytes ratio", 1.05, "x")] },
  multiarch: { text: "same digest", limits: [atLeast("digest preserved", 1, "yes")] },
} as const;

/** A value in a target's unit: "0.25 s", "1.30x", "4" (a count), "0 B", "yes". */
export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case "s":
      return `${value.toFixed(2)} s`;
    case "x":
      return `${value.toFixed(2)}x`;
    case "n":
      return String(value);
    case "B":
      return `${value} B`;
    case "yes":
      return value >= 1 ? "yes" : "no";
  }
}

/** Whether `value` keeps `limit`. */
export function keeps(value: number, limit: Limit): boolean {
  if (!Number.isFinite(value)) throw new Error(`${limit.name}: ${value} is not a finite number`);
  return limit.bound === "at most" ? value <= limit.limit : value >= limit.limit;
}

/** How one missed limit was missed, beside the measured value and the target in their own columns: "time 0.35 s over (1.88x)". */
function shortfall(value: number, limit: Limit): string {
  if (limit.unit === "yes") return `${limit.name}: ${formatValue(value, limit.unit)}`;
  if (limit.bound === "at least")
    return `${limit.name} ${formatValue(limit.limit - value, limit.unit)} short`;
  const times = limit.unit === "s" && limit.limit > 0 ? ` (${(value / limit.limit).toFixed(2)}x)` : "";
  return `${limit.name} ${formatValue(value - limit.limit, limit.unit)} over${times}`;
}

/**
 * The verdict on `values` (one per limit of `target`, in order): "met, 0.10 s to spare" (the
 * headline limit's margin), or "MISSED: " and how each missed limit was missed.
 */
export function judge(target: Target, values: readonly number[]): { met: boolean; verdict: string } {
  if (values.length !== target.limits.length)
    throw new Error(
      `target '${target.text}' has ${target.limits.length} limits but ${values.length} values were given`,
    );
  const missed = target.limits.flatMap((limit, i) =>
    keeps(values[i], limit) ? [] : [shortfall(values[i], limit)],
  );
  if (missed.length > 0) return { met: false, verdict: `MISSED: ${missed.join("; ")}` };
  const [headline] = target.limits;
  const margin = Math.abs(values[0] - headline.limit);
  const spare =
    headline.unit === "s" || headline.unit === "x" ? `, ${formatValue(margin, headline.unit)} to spare` : "";
  return { met: true, verdict: `met${spare}` };
}

/**
 * `row` with `target`'s text and the verdict on `values`, under `key` in the JSON line's `targets`;
 * with `why` (a time target's floor line, cpu.ts floorLine) only when the target was missed.
 */
export function judgedRow(
  row: Row,
  key: string,
  target: Target,
  values: readonly number[],
  why?: string,
): Row {
  const verdict = judge(target, values);
  return { ...row, key, target: target.text, ...verdict, ...(!verdict.met && why ? { why } : {}) };
}

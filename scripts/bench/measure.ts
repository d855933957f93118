/**
 * The small tools every stage of `npm run bench` measures with, and the shape of what a stage
 * hands back to the runner (scripts/bench/runner.ts).
 */
import { performance } from "node:perf_hooks";
import { RunResult } from "../../local/world";
import { Row } from "./stats";

/** What one stage measured: its figures for the JSON line and its rows of the table, in order. */
export interface Measured {
  readonly figures: Readonly<Record<string, unknown>>;
  readonly rows: readonly Row[];
  /** false: a correctness check failed (the bench exits 1 after the report); absent: nothing to check. */
  readonly correct?: boolean;
}

const benchStart = performance.now();

/** Seconds since the bench started. */
export function elapsedSeconds(): number {
  return (performance.now() - benchStart) / 1000;
}

/** One progress line on stderr, stamped with the seconds since the bench started. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${elapsedSeconds().toFixed(1).padStart(6)} s] ${message}\n`);
}

/** Runs `action` and measures its wall time. */
export async function timed<T>(action: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await action();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** The copier's lines about images: all but a reconcile's closing summary (result "reconcile"). */
export function imageLines(result: RunResult): RunResult["lines"] {
  return result.lines.filter((line) => line.result !== "reconcile");
}

/** Fails unless the copier exited 0 and every image line it printed has `result` equal to `expected`. */
export function expectOk(result: RunResult, expected: string, what: string): void {
  const results = imageLines(result).map((line) => line.result);
  if (result.code !== 0 || results.length === 0 || results.some((value) => value !== expected)) {
    throw new Error(
      `${what}: expected exit 0 and every line '${expected}', got exit ${result.code}, results [${results.join(", ")}]\n${result.stderr}`,
    );
  }
}

/** Runs `action` over `items`, `width` at a time; the results keep the items' order. */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  action: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += width) {
    results.push(
      ...(await Promise.all(
        items.slice(start, start + width).map((item, offset) => action(item, start + offset)),
      )),
    );
  }
  return results;
}

/** `count` tags named prefix + zero-padded index: t0000, t0001, … */
export function numberedTags(prefix: string, count: number, digits: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(digits, "0")}`);
}

/** Runs `run` `runs` times, one after the other; the results in run order. */
export async function repeated<R>(runs: number, run: (round: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let round = 1; round <= runs; round++) results.push(await run(round));
  return results;
}

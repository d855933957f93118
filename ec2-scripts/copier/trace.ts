import { performance } from "node:perf_hooks";
import { PROGRAM } from "./log";

/**
 * ECR_SYNC_TRACE=1: one stderr line per step of the run, stamped with the milliseconds since the
 * process started (performance.now() counts from Node's start, so the first line also says how
 * long Node and the bundle took to load): where a run's time goes, for whoever tunes it; off, it
 * costs one comparison per step.
 */
const enabled = process.env.ECR_SYNC_TRACE === "1";

/** Writes `ecr-sync trace MS STEP` on stderr when tracing is on. */
export function trace(step: string): void {
  if (enabled) process.stderr.write(`${PROGRAM} trace ${performance.now().toFixed(1)} ${step}\n`);
}

/** `work`, traced as `STEP start` and `STEP end` (also when it fails). */
export async function traced<T>(step: string, work: () => Promise<T>): Promise<T> {
  if (!enabled) return work();
  trace(`${step} start`);
  try {
    return await work();
  } finally {
    trace(`${step} end`);
  }
}

/**
 * The twin's own process (local/twin/run.ts), which `npm start` (scripts/start.ts) runs in a
 * process group of its own and stops whole, whatever ends it. Progress and the timeline on stdout,
 * then the result as one JSON line; last, on stderr, one sentence that says what happened. Exit 0
 * only when the image arrived with its digest and the heal brought it back. With --keep it stays up
 * afterwards and follows your own pushes until a signal (local/twin/keep.ts).
 */
import { rmSync } from "node:fs";
import { onInterrupt } from "../../scripts/interrupt";
import { WorkerRootMissing } from "../worker-root";
import { keepRunning } from "./keep";
import { processEntry } from "./process-group";
import { runTwin, TwinFailure } from "./run";
import { verdict } from "./timeline";

/**
 * Should npm start itself be killed outright (SIGKILL: nothing it can catch), this group stops itself
 * and removes the run's temp dir, instead of staying up forever with --keep.
 */
function stopWithoutGuard(): void {
  const guard = process.ppid;
  const runDir = process.env.ECR_SYNC_START_DIR;
  if (processEntry(process.pid)?.pgid !== process.pid) return;
  setInterval(() => {
    if (process.ppid === guard) return;
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
    process.kill(-process.pid, "SIGKILL");
  }, 500).unref();
}

async function main(args: string[]): Promise<number> {
  const keep = args.includes("--keep");
  stopWithoutGuard();
  try {
    const result = await runTwin({
      whileRunning: keep
        ? async (twin, summary) => {
            process.stdout.write(`${JSON.stringify(summary)}\n`);
            process.stderr.write(`npm start: ${verdict(summary)}\n`);
            // Until now a signal ends this process at once (npm start stops the rest); from here it
            // ends the watch, and the twin stops what it started.
            const stop = new Promise<void>((resolve) => onInterrupt(() => resolve()));
            await keepRunning(twin, stop);
          }
        : undefined,
    });
    if (!keep) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.stderr.write(`npm start: ${verdict(result)}\n`);
    }
    return result.source_digest === result.target_digest && result.healed ? 0 : 1;
  } catch (error) {
    const message =
      error instanceof TwinFailure
        ? `broken link — ${error.message}`
        : error instanceof WorkerRootMissing
          ? error.message
          : String(error instanceof Error ? error.stack : error);
    process.stderr.write(`npm start: ${message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));

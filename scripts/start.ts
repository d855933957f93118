/**
 * `npm start`: the whole path on one machine (local/twin/run.ts). Progress and the timeline on
 * stdout, then, as the last line, one JSON object with the result. Exit 0 only when the image
 * arrived with its digest and the heal brought it back. `npm start -- --keep` stays up afterwards
 * and follows your own pushes until Ctrl-C (local/twin/keep.ts).
 */
import { keepRunning } from "../local/twin/keep";
import { runTwin, TwinFailure } from "../local/twin/run";
import { WorkerRootMissing } from "../local/worker-root";

const USAGE = "usage: npm start [-- --keep]";

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== "--keep");
  if (unknown.length > 0) {
    process.stderr.write(
      `npm start: unknown argument ${unknown.map((a) => JSON.stringify(a)).join(", ")}\n${USAGE}\n`,
    );
    return 2;
  }
  const keep = args.includes("--keep");
  // With --keep, Ctrl-C ends the watch and the twin stops what it started; without, it stays fatal.
  const interrupted = keep
    ? new Promise<void>((resolve) => process.once("SIGINT", () => resolve()))
    : Promise.resolve();
  try {
    const result = await runTwin({
      whileRunning: keep
        ? async (twin, summary) => {
            process.stdout.write(`${JSON.stringify(summary)}\n`);
            await keepRunning(twin, interrupted);
          }
        : undefined,
    });
    if (!keep) process.stdout.write(`${JSON.stringify(result)}\n`);
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

/**
 * `npm start`: the whole path on one machine (local/twin/run.ts). Progress and the timeline on
 * stdout, then, as the last line, one JSON object with the result. Exit 0 only when the image
 * arrived with its digest and the heal brought it back.
 */
import { runTwin, TwinFailure } from "../local/twin/run";

async function main(): Promise<number> {
  try {
    const result = await runTwin();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.source_digest === result.target_digest && result.healed ? 0 : 1;
  } catch (error) {
    const message =
      error instanceof TwinFailure
        ? `broken link — ${error.message}`
        : String(error instanceof Error ? error.stack : error);
    process.stderr.write(`npm start: ${message}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));

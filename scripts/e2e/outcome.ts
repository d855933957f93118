/**
 * How `npm run test:e2e` ends: its exit codes, the two ways it can fail (did not run, failed),
 * and the lines it prints for them. Progress goes to stderr with a timestamp.
 */

export const EXIT_CODES = { passed: 0, failed: 1, didNotRun: 3, cleanupFailed: 4 } as const;

/** Could not start: nothing was pushed. */
export class DidNotRun extends Error {}
/** Ran and the sync did not deliver. */
export class Failed extends Error {}

export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} e2e: ${message}\n`);
}

/** Prints the verdict for `error` and returns the exit code it means. */
export function report(error: unknown): number {
  if (error instanceof DidNotRun) {
    console.error(`e2e DID NOT RUN: ${error.message}`);
    console.error("This is not a pass. See docs/e2e.md for what the check needs.");
    return EXIT_CODES.didNotRun;
  }
  console.error(`e2e FAILED: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_CODES.failed;
}

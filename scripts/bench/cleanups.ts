/**
 * Everything the bench must stop or remove (servers, temp dirs), newest last: run once, in
 * reverse, on exit, failure or interrupt, whichever comes first.
 */
export class Cleanups {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private running: Promise<void> | undefined;

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  /** Runs every step added so far, newest first; a failing step does not stop the others. Idempotent. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
    })();
    return this.running;
  }
}

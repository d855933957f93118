/**
 * Ctrl-C handling for the long-running scripts (bench, e2e), which must clean up what they
 * started or pushed. `process.on`, never `once`: under `npm run` and tsx a Ctrl-C arrives twice
 * (from the terminal, and relayed by tsx), and once no listener is left the second one kills
 * the process mid-cleanup.
 */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type InterruptSignal = (typeof SIGNALS)[number];

/**
 * Calls `onFirst` on the first of SIGINT, SIGTERM or SIGHUP and ignores any that follow.
 * Returns a function that removes the handlers again.
 */
export function onInterrupt(onFirst: (signal: InterruptSignal) => void): () => void {
  let interrupted = false;
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      if (interrupted) return;
      interrupted = true;
      onFirst(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}

/**
 * Ends the process with `code` once stdout and stderr have taken everything written to them.
 * process.exit() alone drops what a pipe has not taken yet: Node writes to a pipe asynchronously
 * when the pipe is full (a reader that has not caught up), and a reconcile's 200 result lines
 * came out as 104. Waiting for the event loop to drain instead would also wait for the HTTP
 * clients' idle keep-alive connections, about 0.2 s of every run for nothing.
 */
export function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  // A write's callback runs once it and every write queued before it have been handed to the OS.
  process.stdout.write("", done);
  process.stderr.write("", done);
}

import * as net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("freePort: the OS did not report a TCP port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Polls `probe` until it resolves true, or fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${what} did not become ready within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ""}`,
  );
}

/**
 * The worker's way to a registry: a relay on loopback in front of it, whose address the fake agent
 * puts in the document where ECR's host was. It forwards every request as it came (the Host header
 * too, so the registry's upload URLs lead back through the relay) and records it, so that the IAM
 * check sees the worker's requests and only those: the twin's own pushes and reads, and a person's
 * pushes with --keep, go to the registry directly, and may happen while commands run.
 */
import * as http from "node:http";
import type { AccessLogEntry } from "../registry";

export interface RegistryRelay {
  /** host:port the worker uses. */
  readonly host: string;
  /** Every request relayed so far, in the order they ended. */
  readonly requests: readonly AccessLogEntry[];
  stop(): Promise<void>;
}

/** Starts a relay to the registry at `upstream` (host:port on loopback). */
export async function startRelay(upstream: string): Promise<RegistryRelay> {
  const [hostname, port] = upstream.split(":");
  const requests: AccessLogEntry[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    const [path, query = ""] = (request.url ?? "/").split("?", 2);
    const method = request.method ?? "GET";
    const { expect: _, ...headers } = request.headers;
    const forwarded = http.request(
      { hostname, port: Number(port), method, path: request.url, headers, agent },
      (answer) => {
        const status = answer.statusCode ?? 502;
        response.writeHead(status, answer.headers);
        let bytes = 0;
        answer.on("data", (chunk: Buffer) => (bytes += chunk.length));
        answer.on("end", () => requests.push({ method, path, query, status, bytes }));
        answer.pipe(response);
      },
    );
    forwarded.once("error", (error) => {
      requests.push({ method, path, query, status: 502, bytes: 0 });
      if (!response.headersSent) response.writeHead(502);
      response.end(`relay to ${upstream}: ${error.message}`);
    });
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port: relayPort } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${relayPort}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

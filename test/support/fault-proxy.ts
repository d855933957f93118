import * as http from "node:http";
import { AddressInfo } from "node:net";

/**
 * A test tool, not a fake: an HTTP proxy on loopback in front of a real server (a docker-registry
 * from local/registry.ts). Every request goes to that server unchanged (method, path, headers with
 * the Host header as the client sent it, so the registry's upload URLs point back at the proxy, and
 * both bodies streamed) and every answer is the server's own, except the requests a test told it
 * to fault: those get an injected HTTP status (429, 503, …) or a dropped connection, without
 * reaching the server. It lets a test show how the copier and the tools it runs (curl, skopeo)
 * handle throttling and outages of a registry that otherwise behaves exactly like the real one.
 */

/**
 * An answer the proxy gives instead of forwarding: an HTTP status (with the registry API's error
 * body for it unless `body` is given, e.g. an AWS JSON error), or the connection dropped.
 */
export type Fault =
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  | "drop";

export interface FaultRule {
  /** Requests whose path (with the query) matches; e.g. /\/manifests\// */
  readonly path: RegExp;
  /** Only this method (GET, HEAD, PUT, …); any method when absent. */
  readonly method?: string;
  /** Only requests with this header matching, e.g. ["x-amz-target", /GetAuthorizationToken/]. */
  readonly header?: readonly [string, RegExp];
  /** How many of the next matching requests get the fault; later ones are forwarded. */
  readonly times: number;
  readonly fault: Fault;
}

/** One request the proxy saw, in order. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  /** The status the client got: the server's, or the injected one; undefined when dropped. */
  readonly status?: number;
  /** True when the proxy answered (or dropped) it itself. */
  readonly injected: boolean;
}

export interface FaultProxy {
  /** 127.0.0.1:PORT, to use where the server's host[:port] would go. */
  readonly host: string;
  /** Adds a rule; rules are tried in the order they were added. */
  inject(rule: FaultRule): void;
  /** Faults still to be injected, over every rule. */
  pendingFaults(): number;
  requests(): ProxiedRequest[];
  stop(): Promise<void>;
}

/** Starts the proxy on a free loopback port, forwarding to `upstream` (host:port, plain HTTP). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = splitHost(upstream);
  const rules: Array<{ rule: FaultRule; left: number }> = [];
  const seen: ProxiedRequest[] = [];

  const takeFault = (request: http.IncomingMessage, method: string, path: string): Fault | undefined => {
    for (const entry of rules) {
      if (entry.left === 0) continue;
      if (entry.rule.method !== undefined && entry.rule.method.toUpperCase() !== method) continue;
      if (!entry.rule.path.test(path)) continue;
      const header = entry.rule.header;
      if (header !== undefined && !header[1].test(String(request.headers[header[0].toLowerCase()] ?? "")))
        continue;
      entry.left -= 1;
      return entry.rule.fault;
    }
    return undefined;
  };

  const server = http.createServer((request, response) => {
    const method = request.method ?? "GET";
    const path = request.url ?? "/";
    const fault = takeFault(request, method, path);
    if (fault === "drop") {
      seen.push({ method, path, injected: true });
      request.socket.destroy();
      return;
    }
    if (fault !== undefined) {
      seen.push({ method, path, status: fault.status, injected: true });
      request.resume(); // the client may still be sending a body: read and discard it
      const body =
        method === "HEAD"
          ? ""
          : (fault.body ??
            JSON.stringify({
              errors: [{ code: errorCode(fault.status), message: "injected by the fault proxy" }],
            }));
      response.writeHead(fault.status, {
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(body)),
        ...fault.headers,
      });
      response.end(body);
      return;
    }
    const forwarded = http.request(
      { host: upstreamHost, port: upstreamPort, method, path, headers: request.headers },
      (answer) => {
        seen.push({ method, path, status: answer.statusCode, injected: false });
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.once("error", () => {
      // The server behind went away: the client sees what it would see from it, a closed connection.
      seen.push({ method, path, injected: false });
      request.socket.destroy();
    });
    request.pipe(forwarded);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: `127.0.0.1:${port}`,
    inject(rule) {
      if (!Number.isInteger(rule.times) || rule.times < 1)
        throw new Error(`fault proxy: times must be a positive integer, got ${rule.times}`);
      rules.push({ rule, left: rule.times });
    },
    pendingFaults: () => rules.reduce((sum, entry) => sum + entry.left, 0),
    requests: () => [...seen],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The registry API's error code for a status (distribution's errcode names), as a registry would send it. */
function errorCode(status: number): string {
  if (status === 429) return "TOOMANYREQUESTS";
  if (status === 503) return "UNAVAILABLE";
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "DENIED";
  return "UNKNOWN";
}

function splitHost(hostPort: string): [string, number] {
  const match = /^(.+):(\d+)$/.exec(hostPort);
  if (!match) throw new Error(`fault proxy: upstream must be host:port, got '${hostPort}'`);
  return [match[1], Number(match[2])];
}

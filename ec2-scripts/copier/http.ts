import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";

/**
 * One HTTP exchange with a registry on node:http and node:https, the modules the AWS SDK's
 * handler loads anyway. Not Node's fetch: Debian 13's nodejs is built without Node's code cache
 * and startup snapshot (process.config.variables.node_use_node_code_cache and
 * node_use_node_snapshot are false), so the first fetch compiles undici from source and its llhttp
 * WebAssembly in every process, about 0.14 s of CPU and of wall time on a 2-core worker, which
 * every copy paid before doing anything (docs/benchmarks.md; decision 0011).
 *
 * Each exchange has a connect timeout (TCP, and TLS for https, on a new connection) and a total
 * one that covers the answer's whole body. Connections are kept alive and reused, as fetch did.
 */

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface HttpLimits {
  readonly connectTimeoutSeconds: number;
  readonly totalTimeoutSeconds: number;
}

/** An answer: its status, its headers, and its body as it arrives. */
export interface HttpResponse {
  readonly status: number;
  /** A header's value (several of one name joined with ", ", as fetch joins them), or null. */
  header(name: string): string | null;
  readonly body: Readable;
}

/**
 * No answer: refused, reset, a name that does not resolve, or one of the two timeouts. `code` is
 * Node's system error code (ECONNREFUSED, …) or ConnectTimeoutError / TimeoutError.
 */
export class NoAnswer extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "NoAnswer";
  }
}

/**
 * An answer no registry should give (a body over its cap, a redirect that is not a URL, to
 * another scheme, or in a loop): not an outage, so neither retried nor "run again" (exit 1).
 */
export class BadAnswer extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "BadAnswer";
  }
}

/** The largest body read whole (a manifest, a page of tags): a registry sending more is broken. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Redirects followed for GET and HEAD (ECR answers a blob GET with a redirect to S3). */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Idle kept-alive connections are closed after this (fetch's undici closed them after 4 s): a
 * connection that sat through a long skopeo copy is not reused for the probes after it, when the
 * registry may be closing it just then (a reset that would read as an outage).
 */
const IDLE_MS = 4000;

const AGENTS = {
  "http:": new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: IDLE_MS }),
  "https:": new https.Agent({ keepAlive: true, scheduling: "lifo", timeout: IDLE_MS }),
};

/**
 * Sends `request` to `url` and hands the answer to `consume`, whose result it returns; both
 * bounded by `limits.totalTimeoutSeconds`. GET and HEAD follow redirects, without the
 * Authorization header once one leads to another origin (RFC 9110 §15.4: a password for the
 * registry is not S3's). A body `consume` leaves unread is discarded.
 */
export function exchange<T>(
  url: string,
  request: HttpRequest,
  limits: HttpLimits,
  consume: (response: HttpResponse) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let current: http.ClientRequest | undefined;
    let settled = false;
    const finish = (error: Error | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      if (error) {
        current?.destroy(error);
        reject(error);
      } else resolve(value as T);
    };
    const total = setTimeout(
      () =>
        finish(
          new NoAnswer(
            "TimeoutError",
            `no whole answer within ${limits.totalTimeoutSeconds} s (the request's total time limit)`,
          ),
        ),
      limits.totalTimeoutSeconds * 1000,
    );

    const send = (target: URL, headers: Record<string, string>, redirectsLeft: number) => {
      const agent = AGENTS[target.protocol as keyof typeof AGENTS];
      if (agent === undefined) {
        finish(new BadAnswer("UnsupportedRedirect", `a redirect to ${target.protocol}, not http(s)`));
        return;
      }
      const body = request.body;
      const outgoing = (target.protocol === "https:" ? https : http).request(target, {
        method: request.method ?? "GET",
        headers: body === undefined ? headers : { ...headers, "Content-Length": String(body.length) },
        agent,
      });
      current = outgoing;
      outgoing.once("socket", (socket) => {
        // A reused keep-alive connection is already connected; a new one must connect in time.
        if (!socket.connecting) return;
        const connect = setTimeout(
          () =>
            finish(
              new NoAnswer(
                "ConnectTimeoutError",
                `no connection within ${limits.connectTimeoutSeconds} s (the connect time limit)`,
              ),
            ),
          limits.connectTimeoutSeconds * 1000,
        );
        socket.once(target.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(connect));
        socket.once("close", () => clearTimeout(connect));
      });
      outgoing.on("error", (error: NodeJS.ErrnoException) =>
        finish(error instanceof NoAnswer ? error : new NoAnswer(error.code ?? error.name, error.message)),
      );
      outgoing.once("response", (incoming) => {
        try {
          answered(target, headers, redirectsLeft, incoming);
        } catch (error) {
          // Nothing an answer holds may end the process from inside an event handler.
          incoming.destroy();
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      });
      outgoing.end(body);
    };

    const answered = (
      target: URL,
      headers: Record<string, string>,
      redirectsLeft: number,
      incoming: http.IncomingMessage,
    ) => {
      const status = incoming.statusCode ?? 0;
      const location = incoming.headers.location;
      const method = request.method ?? "GET";
      if (REDIRECTS.has(status) && location && (method === "GET" || method === "HEAD")) {
        incoming.destroy();
        if (redirectsLeft === 0) {
          finish(new BadAnswer("TooManyRedirects", `more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          finish(
            new BadAnswer(
              "InvalidRedirect",
              `a redirect to ${JSON.stringify(location.slice(0, 200))}, not a URL`,
            ),
          );
          return;
        }
        const nextHeaders = { ...headers };
        if (next.origin !== target.origin) {
          for (const name of Object.keys(nextHeaders))
            if (name.toLowerCase() === "authorization") delete nextHeaders[name];
        }
        send(next, nextHeaders, redirectsLeft - 1);
        return;
      }
      incoming.on("error", (error: NodeJS.ErrnoException) =>
        finish(error instanceof BadAnswer ? error : new NoAnswer(error.code ?? error.name, error.message)),
      );
      const response: HttpResponse = {
        status,
        header: (name) => headerValue(incoming, name),
        body: incoming,
      };
      consume(response).then(
        (value) => {
          // An answer whose body was read whole, or a HEAD's (none), ends at once and leaves the
          // connection in the pool. An error answer's body, or a success's that nobody read, is
          // not waited for (a registry stalling in it must not turn a clean 404 into a timeout):
          // a small one is drained behind the answer, anything else closes the connection.
          if (incoming.readableEnded) return finish(undefined, value);
          if (method === "HEAD") {
            incoming.once("end", () => finish(undefined, value));
            incoming.resume();
            return;
          }
          const length = Number(incoming.headers["content-length"] ?? Infinity);
          if (status < 300 && length <= 65536) {
            incoming.once("end", () => finish(undefined, value));
            incoming.resume();
            return;
          }
          incoming.destroy();
          finish(undefined, value);
        },
        (error: Error) => finish(error),
      );
    };

    let first: URL;
    try {
      first = new URL(url);
    } catch {
      finish(new NoAnswer("ERR_INVALID_URL", `not a URL: ${url}`));
      return;
    }
    send(first, { ...request.headers }, MAX_REDIRECTS);
  });
}

function headerValue(incoming: http.IncomingMessage, name: string): string | null {
  const value = incoming.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The whole body, at most MAX_BODY_BYTES (more is an error naming the limit). */
export async function readBody(body: Readable, maxBytes: number = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) {
      body.destroy();
      throw new NoAnswer(
        "BodyTooLarge",
        `an answer of more than ${maxBytes} bytes, more than a registry sends for this`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The worker's way to the AWS APIs in the twin: a relay on loopback in front of moto, which the fake
 * agent gives the worker as AWS_ENDPOINT_URL. The copier calls AWS with the SDK, not the CLI, so the
 * recording `aws` wrapper never sees those calls; the relay does. It forwards every request as it
 * came and writes one line per AWS call into the worker's call log, in the form the wrapper writes
 * (`ACCESS_KEY_ID service operation --flag value…`, the CLI's names), so that the IAM check
 * (local/twin/iam.ts awsCallHops) evaluates the SDK's calls exactly as it evaluates the CLI's.
 *
 * What it reads from a request: the access key from the SigV4 Authorization header (never a
 * secret), the operation from X-Amz-Target (ECR, CloudWatch, CloudWatch Logs: JSON protocols) or
 * the form's Action (STS: query protocol) or, for S3, the method and path; and from the body the
 * parameters that name the resource an IAM policy is evaluated against.
 */
import { appendFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";

export interface AwsRelay {
  /** http://127.0.0.1:PORT: the worker's AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

const kebab = (operation: string) => operation.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

/** The signing service → the CLI's (and IAM's) service name. */
const CLI_SERVICE: Readonly<Record<string, string>> = { monitoring: "cloudwatch" };

/** The flags of a JSON-protocol body that name a resource or a condition key, in the CLI's spelling. */
function jsonFlags(body: Record<string, unknown>): string[] {
  const flags: string[] = [];
  const add = (flag: string, value: unknown) => {
    if (typeof value === "string" && value !== "") flags.push(flag, value);
  };
  add("--registry-id", body.registryId);
  add("--repository-name", body.repositoryName);
  if (Array.isArray(body.repositoryNames))
    for (const name of body.repositoryNames) add("--repository-names", name);
  add("--log-group-name", body.logGroupName);
  add("--log-stream-name", body.logStreamName);
  add("--namespace", body.Namespace);
  return flags;
}

/**
 * The call a request is, as a line of the worker's call log (without the command id), or undefined
 * for a request that is no AWS call (none of the worker's are).
 */
export function callOf(
  request: { method: string; url: string; headers: http.IncomingHttpHeaders },
  body: Buffer,
): string | undefined {
  const credential = /Credential=([^/,\s]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(
    String(request.headers.authorization ?? ""),
  );
  if (credential === null) return undefined;
  const [, keyId, signing] = credential;
  const service = CLI_SERVICE[signing] ?? signing;
  const target = String(request.headers["x-amz-target"] ?? "");
  if (target !== "") {
    const operation = target.split(".").pop() ?? target;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
    } catch {
      parsed = {};
    }
    return [keyId, service, kebab(operation), ...jsonFlags(parsed)].join(" ");
  }
  if (service === "s3") {
    // Path-style: /BUCKET/KEY. A GET or HEAD of an object is authorised as s3:GetObject.
    const [path] = request.url.split("?");
    const [, bucket, ...key] = path.split("/");
    const operation =
      request.method === "GET" || request.method === "HEAD" ? "get-object" : kebab(request.method);
    return [keyId, "s3api", operation, "--bucket", bucket, "--key", decodeURIComponent(key.join("/"))].join(
      " ",
    );
  }
  const form = new URLSearchParams(body.toString("utf8"));
  const action = form.get("Action");
  if (action === null) return [keyId, service, kebab(`${request.method}`)].join(" ");
  const flags: string[] = [];
  for (const [name, flag] of [
    ["RoleArn", "--role-arn"],
    ["RoleSessionName", "--role-session-name"],
  ] as const) {
    const value = form.get(name);
    if (value !== null) flags.push(flag, value);
  }
  return [keyId, service, kebab(action), ...flags].join(" ");
}

/** Starts a relay to moto at `upstream` (http://host:port) that appends each call to `log` as `COMMAND_ID CALL`. */
export async function startAwsRelay(upstream: string, log: string, commandId = "sdk"): Promise<AwsRelay> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const call = callOf(
        { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers },
        body,
      );
      // Written before the call is answered: a session's calls always come after the AssumeRole that made it.
      if (call !== undefined) appendFileSync(log, `${commandId} ${call.replace(/\n/g, " ")}\n`);
      const forwarded = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
          agent,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.once("error", (error) => {
        if (!response.headersSent) response.writeHead(502);
        response.end(`relay to ${upstream}: ${error.message}`);
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

import { ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { freePort, waitFor } from "./ports";

const execFileAsync = promisify(execFile);

/** Credentials moto accepts; they act in moto's default account 123456789012. */
export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
} as const;

/** Credentials of a principal in moto: the test keys, or an assumed role's session. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Environment for a process (the aws CLI, the JS SDK) acting as `credentials` against moto. */
export function awsEnvironment(
  endpoint: string,
  credentials: Credentials,
  region = "us-east-1",
): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
}

/** One PutEvents entry, as the `aws events put-events --entries` JSON takes it. */
export interface EventEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Resources?: string[];
}

/** `env` without any AWS_* variable. */
export function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AWS_")));
}

/** PutEvents takes at most this many entries per call. */
const PUT_EVENTS_BATCH = 10;

/** The part of a JS SDK v3 client's configuration that points it at a moto server. */
export interface MotoClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface MotoServer {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /**
   * Environment for a process (AWS CLI v1 on PATH, the JS SDK v3) that should talk to this
   * server: endpoint, region, test credentials, and no profile or metadata lookups.
   */
  env(region?: string): Record<string, string>;
  /** Configuration for a JS SDK v3 client in this process that should talk to this server. */
  clientConfig(region?: string): MotoClientConfig;
  /**
   * Runs the `aws` CLI against this server and parses its JSON answer ({} for an empty one).
   * `--endpoint-url` is passed explicitly: CLI v1 ignores AWS_ENDPOINT_URL for some services (sqs).
   */
  aws(...args: string[]): Promise<any>;
  /**
   * What a real EventBridge matcher (moto's) delivers of `events` for `pattern`: a rule with the
   * pattern and an SQS target, the events put on the default bus, and the queue drained. Returns
   * the delivered events as the target received them (`detail` parsed).
   */
  deliveredBy(pattern: unknown, events: EventEntry[]): Promise<Array<{ detail: Record<string, unknown> }>>;
  /** Forgets every resource (moto's reset API), for isolation between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a real moto_server on a free loopback port. MOTO_ACCOUNT_ID is removed from its
 * environment on purpose: it would pin every request, assumed roles included, to one account
 * and hide the cross-account behaviour the tests must show.
 */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Nor may the caller's own AWS_* settings reach it: moto runs boto3 inside, and a developer's
  // AWS_PROFILE that names a profile this machine lacks makes every request an HTTP 500.
  const serverEnv = withoutAwsSettings(process.env);
  delete serverEnv.MOTO_ACCOUNT_ID;
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: serverEnv,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", (error) => {
    stderr += `\n${error.message}`;
  });

  try {
    await waitFor(`moto_server on ${endpoint}`, async () => {
      if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
      const response = await fetch(`${endpoint}/moto-api/`);
      return response.ok;
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }

  let rules = 0;
  const server: MotoServer = {
    endpoint,
    async aws(...args: string[]) {
      // The caller's own AWS_* settings (a profile, keys, a region) must not leak into the call.
      const { stdout } = await execFileAsync(
        "aws",
        [...args, "--endpoint-url", endpoint, "--output", "json"],
        {
          env: { ...withoutAwsSettings(process.env), ...server.env() },
        },
      );
      return stdout.trim() ? JSON.parse(stdout) : {};
    },
    async deliveredBy(pattern, events) {
      const name = `matcher-${++rules}`;
      const { QueueUrl: queueUrl } = await server.aws("sqs", "create-queue", "--queue-name", name);
      const { Attributes } = await server.aws(
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        queueUrl,
        "--attribute-names",
        "QueueArn",
      );
      await server.aws("events", "put-rule", "--name", name, "--event-pattern", JSON.stringify(pattern));
      await server.aws(
        "events",
        "put-targets",
        "--rule",
        name,
        "--targets",
        JSON.stringify([{ Id: "queue", Arn: Attributes.QueueArn }]),
      );
      for (let i = 0; i < events.length; i += PUT_EVENTS_BATCH) {
        const put = await server.aws(
          "events",
          "put-events",
          "--entries",
          JSON.stringify(events.slice(i, i + PUT_EVENTS_BATCH)),
        );
        if (put.FailedEntryCount !== 0) throw new Error(`put-events refused entries: ${JSON.stringify(put)}`);
      }
      const delivered: Array<{ detail: Record<string, unknown> }> = [];
      for (;;) {
        const received = await server.aws(
          "sqs",
          "receive-message",
          "--queue-url",
          queueUrl,
          "--max-number-of-messages",
          "10",
          "--wait-time-seconds",
          "1",
        );
        if (!received.Messages?.length) return delivered;
        for (const message of received.Messages) {
          delivered.push(JSON.parse(message.Body));
          await server.aws(
            "sqs",
            "delete-message",
            "--queue-url",
            queueUrl,
            "--receipt-handle",
            message.ReceiptHandle,
          );
        }
      }
    },
    env(region = "us-east-1") {
      return awsEnvironment(
        endpoint,
        {
          accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
          secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        },
        region,
      );
    },
    clientConfig(region = "us-east-1") {
      return {
        endpoint,
        region,
        credentials: {
          accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
          secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        },
      };
    },
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
  return server;
}

import { ChildProcess, spawn } from "node:child_process";
import { MotoApi } from "./moto-api";
import { freePort, waitFor } from "./ports";
import { deployRule, drain, putEvents } from "./moto-rules";

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
  /** moto's APIs over HTTP, acting in moto's default account (123456789012) as MOTO_CREDENTIALS. */
  api(): MotoApi;
  /**
   * What a real EventBridge matcher (moto's) delivers of `events` for `pattern`: a rule with the
   * pattern and an SQS target, the events put on the default bus, and the queue drained. Returns
   * the delivered events as the target received them (`detail` parsed).
   */
  deliveredBy(pattern: unknown, events: EventEntry[]): Promise<Array<{ detail: Record<string, unknown> }>>;
  /** Forgets every resource (moto's reset API), for isolation between tests. */
  reset(): Promise<void>;
  /** Stops the server, or, in a process that called reuseMotoServers(), forgets its state and keeps it for the next startMoto(). */
  stop(): Promise<void>;
}

/** Idle servers kept by a process that called reuseMotoServers(), each reset before it is handed out again. */
let idle: ChildMoto[] | undefined;

/**
 * From now on, stop() in this process resets a server and keeps it for the next startMoto() instead
 * of ending it: a moto_server start costs about 3 s of CPU, and the test suite starts dozens. Called
 * by the test suite's setup (test/support/setup.ts) only; the kept servers end with the process
 * (an exit handler, and a parent-death signal for a process that is killed).
 */
export function reuseMotoServers(): void {
  if (idle !== undefined) return;
  const kept: ChildMoto[] = [];
  idle = kept;
  process.once("exit", () => {
    for (const server of kept) server.child.kill("SIGKILL");
  });
}

interface ChildMoto {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly exited: Promise<void>;
}

/**
 * Starts a real moto_server on a free loopback port, or hands out a kept one that its reset API
 * has emptied (see reuseMotoServers). MOTO_ACCOUNT_ID is removed from its environment on purpose:
 * it would pin every request, assumed roles included, to one account and hide the cross-account
 * behaviour the tests must show.
 */
export async function startMoto(): Promise<MotoServer> {
  while (idle !== undefined && idle.length > 0) {
    const kept = idle.pop() as ChildMoto;
    if (kept.child.exitCode === null && kept.child.signalCode === null) {
      try {
        await resetServer(kept.endpoint);
        kept.child.ref();
        (kept.child.stderr as { ref?: () => void } | null)?.ref?.();
        return motoServer(kept);
      } catch {
        // A kept server that no longer answers is ended and replaced.
      }
    }
    kept.child.kill("SIGKILL");
  }
  return motoServer(await spawnMoto());
}

async function resetServer(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

async function spawnMoto(): Promise<ChildMoto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Nor may the caller's own AWS_* settings reach it: moto runs boto3 inside, and a developer's
  // AWS_PROFILE that names a profile this machine lacks makes every request an HTTP 500.
  const serverEnv = withoutAwsSettings(process.env);
  delete serverEnv.MOTO_ACCOUNT_ID;
  // setpriv (util-linux) gives it a parent-death signal: a test process killed outright takes its
  // servers with it.
  const child: ChildProcess = spawn(
    "setpriv",
    ["--pdeathsig", "KILL", "--", "moto_server", "-H", "127.0.0.1", "-p", String(port)],
    { env: serverEnv, stdio: ["ignore", "ignore", "pipe"] },
  );
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
  return { child, endpoint, exited };
}

function motoServer(moto: ChildMoto): MotoServer {
  const { child, endpoint, exited } = moto;
  let rules = 0;
  let stopped = false;
  const server: MotoServer = {
    endpoint,
    api() {
      return new MotoApi(endpoint, {
        accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      });
    },
    async deliveredBy(pattern, events) {
      // moto delivers during PutEvents, so the queue is complete once PutEvents has answered.
      const api = server.api();
      const queue = await deployRule(api, { name: `matcher-${++rules}`, pattern }, "queue");
      await putEvents(api, events);
      return (await drain(api, queue)).map((body) => JSON.parse(body));
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
    reset: () => resetServer(endpoint),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (idle !== undefined && child.exitCode === null && child.signalCode === null) {
        // Kept idle, it must not hold the process open.
        child.unref();
        (child.stderr as { unref?: () => void } | null)?.unref?.();
        idle.push(moto);
        return;
      }
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
  return server;
}

import { ChildProcess, spawn } from "node:child_process";
import { freePort, waitFor } from "./ports";

/** Credentials moto accepts; they act in moto's default account 123456789012. */
export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
} as const;

export interface MotoServer {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /**
   * Environment for a process (AWS CLI v1 on PATH, the JS SDK v3) that should talk to this
   * server: endpoint, region, test credentials, and no profile or metadata lookups.
   */
  env(region?: string): Record<string, string>;
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
  const serverEnv = { ...process.env };
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

  return {
    endpoint,
    env(region = "us-east-1") {
      return {
        ...MOTO_CREDENTIALS,
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
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
}

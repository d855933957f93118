/**
 * Running the tools of `npm run test:e2e` (aws, skopeo) in the environment it was given, and
 * `aws` for one account: its named profile, or the default credential chain.
 */
import { execFile } from "node:child_process";
import { Account } from "./settings";

const TOOL_TIMEOUT_MS = 120_000;

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  /** 0, the exit code, or the spawn error's code ("ENOENT": not on PATH). */
  readonly code: number | string | null;
}

/** Runs a tool to its end; never rejects (a failure is in the result). */
export function runTool(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : ((error as NodeJS.ErrnoException).code ?? 1);
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}

/** The last meaningful line of a tool's error output (the AWS CLI puts the reason there). */
export function reason(result: ToolResult): string {
  if (result.code === "ENOENT") return "not found on PATH";
  const lines = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? `exit code ${String(result.code)}`;
}

/** Variables that would override a named profile's credentials. */
const CREDENTIAL_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
];

/**
 * The environment `aws` runs in for one account: `env` without a pager, and with a named profile
 * also without the credential variables, which must not override the profile.
 */
export function awsEnvironment(env: NodeJS.ProcessEnv, profile: string | undefined): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...env, AWS_PAGER: "" };
  if (profile !== undefined) for (const name of CREDENTIAL_VARIABLES) delete result[name];
  return result;
}

/** Runs `aws` for one account: its profile (and nothing from the environment) or the default chain. */
export class AwsAccount {
  constructor(
    readonly account: Account,
    private readonly region: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async call(args: readonly string[]): Promise<ToolResult> {
    const profile = this.account.profile === undefined ? [] : ["--profile", this.account.profile];
    return runTool(
      "aws",
      [...args, "--region", this.region, "--output", "json", ...profile],
      awsEnvironment(this.env, this.account.profile),
    );
  }

  async json<T>(args: readonly string[]): Promise<T> {
    const result = await this.call(args);
    if (result.code !== 0) throw new Error(reason(result));
    return JSON.parse(result.stdout) as T;
  }
}

/** The two accounts the check works in. */
export interface Sides {
  readonly source: AwsAccount;
  readonly target: AwsAccount;
}

/**
 * A FAKE SSM agent: the hand-written stand-in for the agent on the worker instance (moto records
 * commands but runs nothing). It takes each command moto holds for the rendered worker instance,
 * reads the command's document from moto (the rendered one, deployed), checks every parameter
 * against the document's `allowedPattern` as SSM does before it accepts a command, substitutes
 * them textually, and runs the result with `sh` as the worker: the worker role's credentials in
 * the css account (an instance profile session, named after the instance as EC2 names it).
 *
 * What differs from the instance, and why, each in `onThisMachine` below: the registries' ECR
 * host names in the document are the twin's loopback registries (the twin's DNS), which speak
 * plain HTTP (so ECR_SYNC_TLS_VERIFY is false); the state directory (locks and the credential
 * cache) is the twin's, so each twin starts with an empty cache as a new instance does, and never
 * shares one with this machine's /run/ecr-sync; every `aws` call goes through a recording wrapper
 * on PATH so that the IAM check (local/twin/iam.ts) sees it.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { awsEnvironment, Credentials } from "../moto";
import { missingTool, toolPath } from "../registry";
import { MotoApi } from "./moto-api";
import { TwinPlan } from "./plan";
import { TwinWorld } from "./world";

interface DeclaredParameter {
  readonly allowedPattern?: string;
  readonly default?: string;
}

interface CommandDocumentContent {
  readonly parameters?: Record<string, DeclaredParameter>;
  readonly mainSteps: Array<{ action: string; inputs: { runCommand: string[] } }>;
}

export interface AgentRun {
  readonly commandId: string;
  readonly documentName: string;
  readonly parameters: Record<string, string>;
  readonly code: number;
  /** stdout, one JSON object per line (the script's result lines). */
  readonly results: Array<Record<string, string>>;
  readonly stderr: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
  /** The recorded `aws` calls: "ACCESS_KEY_ID ARGS...". */
  readonly awsCalls: string[];
}

/** A command SSM would refuse at SendCommand: the document's parameters do not accept it. */
export class RefusedCommand extends Error {}

const DOCUMENT_EXPORT = (name: string) => new RegExp(`^export ${name}='([^']*)'$`);

export class FakeSsmAgent {
  private readonly done = new Set<string>();

  private constructor(
    private readonly plan: TwinPlan,
    private readonly world: TwinWorld,
    private readonly api: MotoApi,
    private readonly worker: Credentials,
    private readonly binDir: string,
    private readonly stateDir: string,
  ) {}

  static async start(plan: TwinPlan, world: TwinWorld): Promise<FakeSsmAgent> {
    const api = await world.admin(plan.sourceAccount);
    // EC2 names an instance profile's session after the instance.
    const worker = await api.assumeRole(plan.workerRoleArn, plan.workerInstanceId);
    const binDir = join(world.dir, "worker-bin");
    // Made by the script itself (mode 0700), as /run/ecr-sync is on the instance.
    const stateDir = join(world.dir, "worker-state");
    await mkdir(binDir, { recursive: true });
    return new FakeSsmAgent(plan, world, api, worker, binDir, stateDir);
  }

  /** The worker's instance profile session, as IAM sees it. */
  get workerKeyId(): string {
    return this.worker.accessKeyId;
  }

  /** The commands moto holds for the worker instance that this agent has not run yet, oldest first. */
  async pending(): Promise<
    Array<{ CommandId: string; DocumentName: string; Parameters: Record<string, string[]> }>
  > {
    const { Commands = [] } = await this.api.json("ssm", "ListCommands", {
      InstanceId: this.plan.workerInstanceId,
    });
    return (
      Commands as Array<{
        CommandId: string;
        DocumentName: string;
        Parameters: Record<string, string[]>;
        RequestedDateTime: number;
      }>
    )
      .filter((c) => !this.done.has(c.CommandId))
      .sort((a, b) => a.RequestedDateTime - b.RequestedDateTime);
  }

  /** Runs one command as the agent would; throws RefusedCommand for one SSM would not have accepted. */
  async run(command: {
    CommandId: string;
    DocumentName: string;
    Parameters: Record<string, string[]>;
  }): Promise<AgentRun> {
    this.done.add(command.CommandId);
    const { Content } = await this.api.json("ssm", "GetDocument", { Name: command.DocumentName });
    const document = JSON.parse(Content) as CommandDocumentContent;
    const parameters = acceptedParameters(command.DocumentName, document, command.Parameters ?? {});
    const step = document.mainSteps[0];
    const script = step.inputs.runCommand
      .map((line) => this.onThisMachine(line))
      .join("\n")
      .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
    const awsLog = join(this.world.dir, `aws-calls-${command.CommandId}.log`);
    await writeFile(awsLog, "");
    await this.writeRecordingAws(awsLog);
    const env = {
      PATH: `${this.binDir}:${process.env.PATH ?? ""}`,
      HOME: this.world.dir,
      ...awsEnvironment(this.world.moto.endpoint, this.worker, this.plan.region),
      ECR_SYNC_STATE_DIR: this.stateDir,
    };
    const startedAt = new Date();
    const { code, stdout, stderr } = await runSh(script, env);
    const endedAt = new Date();
    const results = stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, string>;
        } catch {
          return { line: l };
        }
      });
    const awsCalls = (await readFile(awsLog, "utf8")).split("\n").filter((l) => l !== "");
    return {
      commandId: command.CommandId,
      documentName: command.DocumentName,
      parameters,
      code,
      results,
      stderr,
      startedAt,
      endedAt,
      awsCalls,
    };
  }

  /** The twin's network: the document's ECR registry hosts are the loopback registries, over plain HTTP. */
  private onThisMachine(line: string): string {
    const source = DOCUMENT_EXPORT("ECR_SYNC_SOURCE_REGISTRY").exec(line);
    if (source) return `export ECR_SYNC_SOURCE_REGISTRY='${this.world.css.host}'`;
    const target = DOCUMENT_EXPORT("ECR_SYNC_TARGET_REGISTRY").exec(line);
    if (target) return `export ECR_SYNC_TARGET_REGISTRY='${this.world.legacy.host}'`;
    if (DOCUMENT_EXPORT("ECR_SYNC_TLS_VERIFY").test(line)) return "export ECR_SYNC_TLS_VERIFY='false'";
    return line;
  }

  private async writeRecordingAws(log: string): Promise<void> {
    const real = await which("aws");
    const file = join(this.binDir, "aws");
    // The access key id tells whose credentials made the call (the worker's or the assumed role's);
    // nothing secret is written.
    await writeFile(
      file,
      `#!/bin/sh\nprintf '%s %s\\n' "\${AWS_ACCESS_KEY_ID:-none}" "$*" >> '${log}'\nexec '${real}' "$@"\n`,
    );
    await chmod(file, 0o755);
  }
}

/**
 * The parameters SSM accepts for `given` on `document`: each declared one given or defaulted and
 * matching its allowedPattern, none undeclared. Throws RefusedCommand naming the first that fails.
 */
export function acceptedParameters(
  documentName: string,
  document: CommandDocumentContent,
  given: Record<string, string[]>,
): Record<string, string> {
  const declared = document.parameters ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in declared))
      throw new RefusedCommand(
        `SSM refuses the command: document ${documentName} declares no parameter ${name}`,
      );
  }
  const accepted: Record<string, string> = {};
  for (const [name, declaration] of Object.entries(declared)) {
    const value = given[name]?.[0] ?? declaration.default;
    if (value === undefined)
      throw new RefusedCommand(
        `SSM refuses the command: document ${documentName} needs parameter ${name}, which was not sent`,
      );
    if (declaration.allowedPattern !== undefined && !new RegExp(declaration.allowedPattern).test(value)) {
      throw new RefusedCommand(
        `SSM refuses the command (InvalidParameters): parameter ${name}=${JSON.stringify(value)} does not match the allowedPattern ${JSON.stringify(declaration.allowedPattern)} of document ${documentName}`,
      );
    }
    accepted[name] = value;
  }
  return accepted;
}

function runSh(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function which(tool: string): Promise<string> {
  const path = toolPath(tool);
  if (path === "") throw new Error(missingTool(tool, { code: "ENOENT" }));
  return path;
}

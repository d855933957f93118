/**
 * A FAKE SSM agent: the hand-written stand-in for the agent on the worker instance (moto records
 * commands but runs nothing). It takes the commands moto holds for the rendered worker instance,
 * reads each command's document from moto (the rendered one, deployed), checks every parameter
 * against the document's `allowedPattern` as SSM does before it accepts a command, substitutes them
 * textually, and runs the result as the worker: with the root's `sh` inside the worker's Debian
 * root (local/worker-root.ts: the root's sh, AWS CLI v2, node, skopeo, flock and setpriv; never this
 * machine's), with the worker role's credentials in the css account (an instance profile session,
 * named after the instance as EC2 names it).
 *
 * How many at once, and what waits, is the model in local/twin/agent-model.ts (its header names the
 * agent's source files): at most `Mds.CommandWorkersLimit` run, read from the worker's RENDERED user
 * data, so the twin runs what will be deployed; `Mds.CommandWorkerBufferLimit` more wait accepted;
 * the rest stay with SSM, and one whose delivery timeout (the TimeoutSeconds its sender gave
 * SendCommand, as moto recorded it) passes ends TimedOut and never runs. The agent learns of new
 * commands when the twin polls it, which the twin does after every send (the real agent polls, or is
 * pushed to over its control channel, all the time).
 *
 * What differs from the instance, and why, each in `onThisMachine` below: the registries' ECR host
 * names in the document are relays on loopback in front of the twin's registries
 * (local/twin/relay.ts, which record the worker's requests for the IAM check), which speak plain
 * HTTP (so ECR_SYNC_TLS_VERIFY is false); the state directory (the tags' locks and each run's
 * private files) is the twin's, so each twin starts with an empty one as a new instance does, and
 * never shares one with this machine's /run/ecr-sync; every `aws` call (the documents' download of
 * the copier) goes through a recording wrapper on PATH (which execs the root's `aws`) so that the
 * IAM check (local/twin/iam.ts) sees it, and the worker's AWS endpoint is a relay in front of moto
 * (local/twin/aws-relay.ts) that records the copier's SDK calls the same way; the folder where the
 * documents keep the copier they fetched (/var/lib/ecr-sync/copier on the instance, read-only in
 * the root) is the twin's, empty at the start as on a new instance.
 */
import { ChildProcess, spawn } from "node:child_process";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { COPIER_CACHE_DIR, copierCacheLine } from "../../components/document-content";
import { awsEnvironment, Credentials } from "../moto";
import { inWorkerRoot, workerPathFrom, WORKER_PATH, workerToolPath } from "../worker-root";
import { AgentLimits, agentLimitsFromUserData, CommandWorkers, Transition, WorkerStats } from "./agent-model";
import { CommandOutput, commandOutputLogGroup, CommandOutputShipper, firstStepName } from "./agent-output";
import { AwsRelay, startAwsRelay } from "./aws-relay";
import { MotoApi } from "../moto-api";
import { TwinPlan } from "./plan";
import { RegistryRelay, startRelay } from "./relay";
import { TwinWorld } from "./world";

interface DeclaredParameter {
  readonly allowedPattern?: string;
  readonly default?: string;
}

interface CommandDocumentContent {
  readonly parameters?: Record<string, DeclaredParameter>;
  readonly mainSteps: Array<{ action: string; inputs: { runCommand: string[]; timeoutSeconds?: number } }>;
}

/** SSM's execution timeout for a step that sets none (SSM user guide, "Understanding command timeout values"). */
const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 3600;

export interface AgentOptions {
  /** Replaces the `Mds.CommandWorkersLimit` the rendered user data sets (a test's single worker). */
  readonly commandWorkersLimit?: number;
  /** Replaces every command's delivery timeout, in seconds (a test's short one). */
  readonly deliveryTimeoutSeconds?: number;
  /** Folders put first on the worker's PATH: a test's wrappers, in the temp dir the root shares. */
  readonly path?: readonly string[];
}

/** A command as SSM holds it for the worker. */
export interface SentCommand {
  readonly commandId: string;
  readonly documentName: string;
  /** As sent. */
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: Date;
  /** SendCommand's TimeoutSeconds, as the sender gave it and moto recorded it. */
  readonly timeoutSeconds: number;
}

export interface AgentRun {
  readonly commandId: string;
  readonly documentName: string;
  /** As SSM accepted them: declared defaults filled in. */
  readonly parameters: Record<string, string>;
  readonly code: number;
  /** stdout, one JSON object per line (the copier's result lines). */
  readonly results: Array<Record<string, string>>;
  readonly stderr: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

/** How a command ended. Refused: SSM would not have accepted it at SendCommand; it never existed. */
export type CommandOutcome =
  | {
      readonly status: "Success" | "Failed";
      readonly command: SentCommand;
      readonly run: AgentRun;
      readonly endedAt: Date;
    }
  | { readonly status: "TimedOut"; readonly command: SentCommand; readonly endedAt: Date }
  | { readonly status: "Refused"; readonly command: SentCommand; readonly reason: string };

/** One `aws` call the worker made, with the access key id that made it (never a secret). */
export interface RecordedAwsCall {
  readonly commandId: string;
  /** "ACCESS_KEY_ID ARGS...". */
  readonly call: string;
}

/** A command SSM would refuse at SendCommand: the document's parameters do not accept it. */
export class RefusedCommand extends Error {}

const DOCUMENT_EXPORT = (name: string) => new RegExp(`^export ${name}='([^']*)'$`);

interface Deferred {
  readonly promise: Promise<CommandOutcome>;
  resolve(outcome: CommandOutcome): void;
}

interface Prepared {
  readonly command: SentCommand;
  readonly parameters: Record<string, string>;
  readonly script: string;
  /** The document's execution timeout, in seconds. */
  readonly executionTimeoutSeconds: number;
}

export class FakeSsmAgent {
  /** Every command the agent learned of, by id. */
  private readonly commands = new Map<string, SentCommand>();
  private readonly prepared = new Map<string, Prepared>();
  private readonly outcomes = new Map<string, Deferred>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly listeners: Array<(outcome: CommandOutcome) => void> = [];
  private polling: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly documents = new Map<string, Promise<CommandDocumentContent>>();
  private outputShipper: CommandOutputShipper | undefined;

  private constructor(
    private readonly plan: TwinPlan,
    private readonly world: TwinWorld,
    private readonly api: MotoApi,
    private readonly worker: Credentials,
    private readonly root: string,
    private readonly awsPath: string,
    private readonly dirs: { bin: string; state: string; awsLog: string; copierCache: string },
    readonly relays: { readonly css: RegistryRelay; readonly legacy: RegistryRelay },
    private readonly awsRelay: AwsRelay,
    private readonly workers: CommandWorkers,
    private readonly options: AgentOptions,
  ) {}

  /** Starts the agent as the worker, in the worker's root `root` (local/worker-root.ts workerRoot()). */
  static async start(
    plan: TwinPlan,
    world: TwinWorld,
    root: string,
    options: AgentOptions = {},
  ): Promise<FakeSsmAgent> {
    const awsPath = workerToolPath("aws", root);
    if (awsPath === "")
      throw new Error(
        `the worker's root ${root} has no aws on ${WORKER_PATH}: build it again (npm run -s worker-root)`,
      );
    for (const dir of options.path ?? []) {
      if (!workerPathFrom(dir).startsWith(`${dir}:`))
        throw new Error(
          `agent path ${dir}: not in a folder the worker's root shares (the temp dir or the checkout)`,
        );
    }
    const rendered = agentLimitsFromUserData(plan.workerUserData);
    const limits: AgentLimits = { ...rendered, workers: options.commandWorkersLimit ?? rendered.workers };
    const api = await world.admin(plan.sourceAccount);
    // EC2 names an instance profile's session after the instance.
    const worker = await api.assumeRole(plan.workerRoleArn, plan.workerInstanceId);
    const dirs = {
      bin: join(world.dir, "worker-bin"),
      // Made by the copier itself (mode 0700), as /run/ecr-sync is on the instance.
      state: join(world.dir, "worker-state"),
      awsLog: join(world.dir, "worker-aws-calls.log"),
      // Made by the document (root's own, 0755), as /var/lib/ecr-sync/copier is on the instance.
      copierCache: join(world.dir, "worker-var-lib", "copier"),
    };
    await mkdir(dirs.bin, { recursive: true });
    await writeFile(dirs.awsLog, "");
    const [css, legacy, awsRelay] = await Promise.all([
      startRelay(world.css.host),
      startRelay(world.legacy.host),
      startAwsRelay(world.moto.endpoint, dirs.awsLog),
    ]);
    return new FakeSsmAgent(
      plan,
      world,
      api,
      worker,
      root,
      awsPath,
      dirs,
      { css, legacy },
      awsRelay,
      new CommandWorkers(limits),
      options,
    );
  }

  /** The worker's instance profile session, as IAM sees it. */
  get workerKeyId(): string {
    return this.worker.accessKeyId;
  }

  /** The limits the agent runs with: the rendered user data's, or a test's. */
  get limits(): AgentLimits {
    return this.workers.limits;
  }

  stats(): WorkerStats {
    return this.workers.stats();
  }

  /** The commands running now, by id. */
  running(): string[] {
    return this.workers.runningNow();
  }

  /** The commands waiting now, by id: accepted into the agent's buffer, and still with SSM. */
  queued(): { buffered: string[]; withService: string[] } {
    return this.workers.queued();
  }

  /** The command `commandId` as SSM holds it, once the agent learned of it. */
  sent(commandId: string): SentCommand | undefined {
    return this.commands.get(commandId);
  }

  /**
   * When SSM gives up on `commandId`, its ExpiresAfter: the delivery timeout plus the document's
   * execution timeout (SSM user guide, "Understanding command timeout values").
   */
  expiresAfter(commandId: string): Date {
    const command = this.commands.get(commandId);
    const prepared = this.prepared.get(commandId);
    if (command === undefined || prepared === undefined)
      throw new Error(`the fake agent has not accepted command ${commandId}`);
    const seconds = this.deliveryTimeoutSeconds(command) + prepared.executionTimeoutSeconds;
    return new Date(command.requestedAt.getTime() + seconds * 1000);
  }

  /** How `commandId` ended; waits until it does. */
  ended(commandId: string): Promise<CommandOutcome> {
    return this.deferred(commandId).promise;
  }

  /** Calls `listener` with every command's outcome, as it ends. */
  onEnded(listener: (outcome: CommandOutcome) => void): void {
    this.listeners.push(listener);
  }

  /** Every `aws` call the worker made so far, in the order made (a line still being written waits). */
  async awsCalls(): Promise<RecordedAwsCall[]> {
    const text = await readFile(this.dirs.awsLog, "utf8");
    return text
      .slice(0, text.lastIndexOf("\n") + 1)
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const space = line.indexOf(" ");
        return { commandId: line.slice(0, space), call: line.slice(space + 1) };
      });
  }

  /** Learns of the commands SSM holds for the worker that it has not seen, oldest first, and takes what fits. */
  poll(): Promise<void> {
    const next = this.polling.then(() => this.pollOnce());
    this.polling = next.catch(() => undefined);
    return next;
  }

  /** Ends every command still running (the twin is stopping) and the relays. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const child of this.children.values()) child.kill("SIGKILL");
    await Promise.all([this.relays.css.stop(), this.relays.legacy.stop(), this.awsRelay.stop()]);
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped) return;
    const { Commands = [] } = await this.api.json("ssm", "ListCommands", {
      InstanceId: this.plan.workerInstanceId,
    });
    const fresh = (Commands as MotoCommand[])
      .filter((c) => !this.commands.has(c.CommandId))
      .map(sentCommand)
      .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime());
    for (const command of fresh) {
      this.commands.set(command.commandId, command);
      try {
        this.prepared.set(command.commandId, await this.prepare(command));
      } catch (error) {
        if (!(error instanceof RefusedCommand)) throw error;
        this.settle({ status: "Refused", command, reason: error.message });
        continue;
      }
      const deliverBy = command.requestedAt.getTime() + this.deliveryTimeoutSeconds(command) * 1000;
      this.apply(this.workers.offer(command.commandId, deliverBy, Date.now()));
    }
  }

  private deliveryTimeoutSeconds(command: SentCommand): number {
    return this.options.deliveryTimeoutSeconds ?? command.timeoutSeconds;
  }

  /** The document's script for `command`, as SSM would accept it; throws RefusedCommand when it would not. */
  private async prepare(command: SentCommand): Promise<Prepared> {
    let document = this.documents.get(command.documentName);
    if (document === undefined) {
      document = this.api
        .json("ssm", "GetDocument", { Name: command.documentName })
        .then(({ Content }) => JSON.parse(Content) as CommandDocumentContent);
      this.documents.set(command.documentName, document);
    }
    const content = await document;
    const parameters = acceptedParameters(command.documentName, content, command.parameters);
    const [step] = content.mainSteps;
    const script = step.inputs.runCommand
      .map((line) => this.onThisMachine(line))
      .join("\n")
      .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
    const executionTimeoutSeconds = step.inputs.timeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS;
    return { command, parameters, script, executionTimeoutSeconds };
  }

  private apply(transitions: readonly Transition[]): void {
    for (const transition of transitions) {
      const command = this.commands.get(transition.commandId)!;
      if (transition.to === "running") this.launch(this.prepared.get(transition.commandId)!);
      else if (transition.to === "timed out")
        this.settle({ status: "TimedOut", command, endedAt: new Date(transition.at) });
      // "buffered": accepted and reported InProgress; it runs when a worker frees.
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = this.workers.nextDeadline();
    if (deadline !== undefined && !this.stopped) {
      this.timer = setTimeout(
        () => this.apply(this.workers.tick(Date.now())),
        Math.max(0, deadline - Date.now()),
      );
    }
  }

  /** Runs one accepted command in the worker's root, as the agent's document worker would. */
  private launch({ command, parameters, script }: Prepared): void {
    const { commandId } = command;
    const startedAt = new Date();
    let stdout = "";
    let stderr = "";
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      this.children.delete(commandId);
      const endedAt = new Date();
      const run: AgentRun = {
        commandId,
        documentName: command.documentName,
        parameters,
        code,
        results: resultLines(stdout),
        stderr,
        startedAt,
        endedAt,
      };
      this.settle({ status: code === 0 ? "Success" : "Failed", command, run, endedAt });
      if (!this.stopped) this.apply(this.workers.ended(commandId, Date.now()));
    };
    this.commandPath(commandId).then(
      (path) => {
        if (this.stopped) return finish(-1);
        const [bwrap, ...args] = inWorkerRoot(["sh", "-c", script], { root: this.root });
        const child = spawn(bwrap, args, {
          env: {
            PATH: path,
            HOME: this.world.dir,
            ...awsEnvironment(this.awsRelay.endpoint, this.worker, this.plan.region),
            ECR_SYNC_STATE_DIR: this.dirs.state,
            // Set by the agent for what it runs (agent/executers/executers.go envVarInstanceID).
            AWS_SSM_INSTANCE_ID: this.plan.workerInstanceId,
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        this.children.set(commandId, child);
        // What the command writes is also shipped to CloudWatch Logs, as the agent does it.
        const output = this.shipOutput(commandId, command.documentName);
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          output.stdout(chunk);
        });
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          output.stderr(chunk);
        });
        child.once("error", (error) => {
          stderr += `the fake agent could not start the command in the worker's root: ${error.message}\n`;
          finish(-1);
        });
        // The agent reports the end once the output's upload is done (fileS3.go File.Read).
        child.once("close", (code) => void output.complete().then(() => finish(code ?? -1)));
      },
      (error: unknown) => {
        stderr += `the fake agent could not prepare the command's PATH: ${String(error)}\n`;
        finish(-1);
      },
    );
  }

  /** Ships `commandId`'s output to moto's CloudWatch Logs as the worker's agent (local/twin/agent-output.ts). */
  private shipOutput(commandId: string, documentName: string): CommandOutput {
    this.outputShipper ??= new CommandOutputShipper(
      new CloudWatchLogsClient({
        ...this.world.moto.clientConfig(this.plan.region),
        credentials: this.worker,
      }),
      commandOutputLogGroup(this.plan),
      this.plan.workerInstanceId,
    );
    return this.outputShipper.start(commandId, firstStepName(this.plan, documentName));
  }

  /**
   * The command's PATH inside the root: its own recording `aws` first (which names the command in
   * the shared log and execs the root's aws), then a test's folders, then the worker's own.
   */
  private async commandPath(commandId: string): Promise<string> {
    const dir = join(this.dirs.bin, commandId);
    await mkdir(dir, { recursive: true });
    const file = join(dir, "aws");
    // The access key id tells whose credentials made the call (the worker's or the assumed role's);
    // nothing secret is written.
    await writeFile(
      file,
      `#!/bin/sh\nprintf '%s %s %s\\n' '${commandId}' "\${AWS_ACCESS_KEY_ID:-none}" "$*" >> '${this.dirs.awsLog}'\nexec '${this.awsPath}' "$@"\n`,
    );
    await chmod(file, 0o755);
    return workerPathFrom([dir, ...(this.options.path ?? [])].join(":"));
  }

  /** The twin's network: the document's ECR registry hosts are the relays to the loopback registries, over plain HTTP. */
  private onThisMachine(line: string): string {
    if (DOCUMENT_EXPORT("ECR_SYNC_SOURCE_REGISTRY").test(line))
      return `export ECR_SYNC_SOURCE_REGISTRY='${this.relays.css.host}'`;
    if (DOCUMENT_EXPORT("ECR_SYNC_TARGET_REGISTRY").test(line))
      return `export ECR_SYNC_TARGET_REGISTRY='${this.relays.legacy.host}'`;
    if (DOCUMENT_EXPORT("ECR_SYNC_TLS_VERIFY").test(line)) return "export ECR_SYNC_TLS_VERIFY='false'";
    if (line === copierCacheLine(COPIER_CACHE_DIR)) return copierCacheLine(this.dirs.copierCache);
    return line;
  }

  private deferred(commandId: string): Deferred {
    let deferred = this.outcomes.get(commandId);
    if (deferred === undefined) {
      let resolve!: (outcome: CommandOutcome) => void;
      const promise = new Promise<CommandOutcome>((r) => (resolve = r));
      deferred = { promise, resolve };
      this.outcomes.set(commandId, deferred);
    }
    return deferred;
  }

  private settle(outcome: CommandOutcome): void {
    this.deferred(outcome.command.commandId).resolve(outcome);
    for (const listener of this.listeners) listener(outcome);
  }
}

/** A command as moto's ListCommands answers it. */
interface MotoCommand {
  readonly CommandId: string;
  readonly DocumentName: string;
  readonly Parameters?: Record<string, string[]>;
  /** Epoch seconds, or ISO 8601. */
  readonly RequestedDateTime: number | string;
  readonly TimeoutSeconds: number;
}

function sentCommand(c: MotoCommand): SentCommand {
  const requested =
    typeof c.RequestedDateTime === "number" ? c.RequestedDateTime * 1000 : Date.parse(c.RequestedDateTime);
  return {
    commandId: c.CommandId,
    documentName: c.DocumentName,
    parameters: c.Parameters ?? {},
    requestedAt: new Date(requested),
    timeoutSeconds: c.TimeoutSeconds,
  };
}

function resultLines(stdout: string): Array<Record<string, string>> {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, string>;
      } catch {
        return { line: l };
      }
    });
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

/**
 * The twin of both stacks on one machine (`npm start`): renders css and legacy as `npm run synth`
 * does, deploys what moto can hold, pushes a multi-platform image to a mapped css repository,
 * and follows it through every link the program renders — the push rule, the push trigger's
 * bundle, the sync document run by a fake SSM agent as the worker in the worker's own Debian root,
 * IAM on every hop — until it is
 * verified in legacy; then deletes it there and lets the reconcile, sent as the rendered schedule
 * sends it, bring it back. Each job lives in its own file under local/twin/.
 */
import { randomUUID } from "node:crypto";
import { SYNC_PARAMETERS } from "../../common/ssm-command";
import { join } from "node:path";
import { pushImage } from "../oci";
import { COSIGN_SIGNATURE, createSigner } from "./sign";
import { renderStack, Rendering } from "../render";
import { workerRoot } from "../worker-root";
import { AgentOptions, AgentRun, CommandOutcome, FakeSsmAgent } from "./agent";
import { alertsFor } from "./alert";
import { deploy, Deployment } from "./deploy";
import { figureLines, readFigures, TwinFigures } from "./figures";
import { ecrImageAction, ManifestPush } from "./events";
import { AssumedSession, awsCallHops, denials, Hop, registryHops, sessionArn } from "./iam";
import { MotoApi } from "../moto-api";
import { planFrom, TwinPlan } from "./plan";
import { platformName, platformsOf } from "./platforms";
import { drain, putEvents } from "../moto-rules";
import { Progress, Step, timelineLines } from "./timeline";
import { loadPushTrigger, PushTrigger } from "./trigger";
import { basicAuth, startTwinWorld, TwinWorld } from "./world";

/** The platforms of the image the twin pushes (and offers for yours, with --keep). */
export const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
] as const;
const LAYER_BYTES = 256 * 1024;

export interface TwinOptions {
  /** Config changes per stack, as `renderStack` takes them. */
  readonly config?: { readonly css?: Record<string, unknown>; readonly legacy?: Record<string, unknown> };
  /** Changes the renderings before they are deployed (the broken-rendering tests). */
  readonly transform?: (renderings: { css: Rendering; legacy: Rendering }) => void;
  /** Where progress lines go (default: stdout). */
  readonly write?: (line: string) => void;
  /** Called with the running twin once the image has arrived and healed; the twin stops when it returns. */
  readonly whileRunning?: (twin: RunningTwin, result: TwinResult) => Promise<void>;
  /** The fake SSM agent's limits and the worker's PATH, for a test (default: as rendered). */
  readonly agent?: AgentOptions;
}

export interface TwinResult {
  readonly source: string;
  readonly target: string;
  readonly source_digest: string;
  readonly target_digest: string;
  readonly platforms: string[];
  /** The image's cosign signature as the copier copied it to legacy, where cosign verify accepted it (npm start's own push). */
  readonly signature_digest?: string;
  /** The push as ECR's event dates it (to the second): where the copier's latency starts. */
  readonly pushed_at: string;
  /** When the copier verified it in legacy: pushed_at + latency_s. */
  readonly available_at: string;
  /** Push (the event's time) to verified in legacy, as the copier's copy measured it on its result line. */
  readonly latency_s: number;
  /** The copy alone (from taking the tag's lock to verified), from the same result line. */
  readonly copy_s: number;
  readonly healed: boolean;
  /** What the run left in moto's CloudWatch: the copier's figures, its result events, the agent's output. */
  readonly figures?: TwinFigures;
}

/** A link of the path that does not hold: names it and what the twin saw. */
export class TwinFailure extends Error {
  constructor(
    readonly link: string,
    detail: string,
  ) {
    super(`${link}: ${detail}`);
  }
}

/** A push the twin sent through the push rule and the push trigger. */
export interface SentPush {
  readonly repository: string;
  readonly tag: string;
  /** The digest the push tagged. */
  readonly digest: string;
  /** The css registry's time of the push. */
  readonly pushedAt: Date;
  readonly matchedAt: Date;
  /** What the rule delivered, for the timeline. */
  readonly ruleNote: string;
  readonly sentAt: Date;
  /** The commands the push trigger sent for it. */
  readonly commandIds: string[];
}

/** A command that ended, and the texts the failed-command rule delivered for it. */
export interface SettledCommand {
  readonly outcome: CommandOutcome;
  readonly alerts: string[];
}

export interface RunningTwin {
  readonly plan: TwinPlan;
  readonly world: TwinWorld;
  readonly progress: Progress;
  /** The fake SSM agent: its limits, what it runs now and ran at most, the commands it knows. */
  readonly agent: Pick<FakeSsmAgent, "limits" | "stats" | "running" | "queued" | "sent">;
  /** Follows a push of repository:tag already made to the css registry until it is in legacy. */
  follow(repository: string, tag: string): Promise<TwinResult>;
  /**
   * Sends the events of pushes already made to the css registry through the push rule and the push
   * trigger, as one burst; the agent takes each command as it is sent. Does not wait for them.
   */
  sendPushes(pushes: ReadonlyArray<{ repository: string; tag: string }>): Promise<SentPush[]>;
  /** Sends the reconcile as the rendered schedule does; its command id, once the agent knows it. */
  sendReconcile(): Promise<string>;
  /**
   * Waits for the commands to end, then checks IAM on everything the worker did so far. Fails
   * (TwinFailure) only for IAM: a command's own end is in its outcome.
   */
  settle(commandIds: readonly string[]): Promise<SettledCommand[]>;
}

export async function runTwin(options: TwinOptions = {}): Promise<TwinResult> {
  const progress = new Progress(options.write ?? ((line) => process.stdout.write(`${line}\n`)));
  // First, and fatal when missing (WorkerRootMissing says how to build it): the copier runs with the
  // worker's own tools, never with this machine's.
  const root = workerRoot();
  progress.step("rendering the css and legacy stacks as `npm run synth` does");
  const css = await renderStack("css", { config: options.config?.css });
  const legacy = await renderStack("legacy", { config: options.config?.legacy, sourceOutputs: css.outputs });
  options.transform?.({ css, legacy });
  const plan = planFrom(css, legacy);

  progress.step(
    `starting moto, the css and legacy registries (accounts ${plan.sourceAccount}, ${plan.targetAccount})`,
  );
  const world = await startTwinWorld({ source: plan.sourceAccount, target: plan.targetAccount });
  const started = new Date();
  let twin: Twin | undefined;
  try {
    const deployment = await deploy(plan, world);
    for (const line of deployment.summary) progress.step(`deployed ${line}`);
    twin = await Twin.start(plan, world, deployment, progress, root, options.agent ?? {});
    const signer = await createSigner(join(world.dir, "cosign"), (host) =>
      world.login(host === world.css.host ? world.css : world.legacy),
    );

    const [source, target] = Object.entries(plan.repositories)[0];
    const tag = `twin-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomUUID().slice(0, 4)}`;
    const image = await world.layout.addMultiArch(PLATFORMS, [{ size: LAYER_BYTES }], tag);
    progress.step(
      `pushing ${source}:${tag} (${PLATFORMS.map(platformName).join(", ")}) to the css registry as a pipeline that signs before it tags: by digest, signed with cosign (a key made for this run, attached by subject), then tagged`,
    );
    // The tag last: its push is the event, and the copy it starts finds the signature already there.
    const into = { registry: world.css.host, repository: source, ...world.login(world.css) };
    await pushImage(world.layout, image, into);
    await signer.sign(world.css.host, source, image.digest);
    await pushImage(world.layout, image, { ...into, tag });
    const result = await twin.follow(source, tag, { signed: true });
    const refused = await signer.verify(world.legacy.host, target, image.digest);
    if (refused !== undefined)
      throw new TwinFailure(
        "the image's signature into legacy",
        `cosign verify of ${target}@${image.digest} in the legacy registry, with this run's key, failed: ${refused}`,
      );
    progress.step(`cosign verify ${target}:${tag} in the legacy registry with this run's key: verified`);
    // A heal that fails still leaves a result to report: the arrival happened; healed says the rest.
    const healed = await twin.heal(source, target, tag, result.source_digest).catch((error: unknown) => {
      if (!(error instanceof TwinFailure)) throw error;
      progress.step(`heal failed — ${error.message}`);
      return false;
    });
    const figures = await readFigures(
      plan,
      world.moto,
      (await world.admin(plan.sourceAccount)).credentials,
      started,
    );
    for (const line of figureLines(figures)) progress.step(line);
    const final = { ...result, healed, figures };
    if (options.whileRunning) await options.whileRunning(twin, final);
    return final;
  } finally {
    await twin?.stop();
    await world.stop();
  }
}

/** The bundle runs in a process per event; four at a time keep a burst's sends within seconds on two cores. */
const TRIGGER_PROCESSES = 4;

class Twin implements RunningTwin {
  /** The target role's session the worker assumed last: later runs use it from the copier's cache. */
  private assumed: AssumedSession | undefined;
  /** How much of the worker's recorded aws calls and registry requests the IAM check has seen. */
  private checked = { aws: 0, css: 0, legacy: 0 };
  private checking: Promise<void> = Promise.resolve();
  /** One command's status events at a time: each drains the alert queue. */
  private alerting: Promise<unknown> = Promise.resolve();
  private readonly alerts = new Map<string, Promise<string[]>>();
  private stopping = false;

  private constructor(
    readonly plan: TwinPlan,
    readonly world: TwinWorld,
    private readonly deployment: Deployment,
    readonly progress: Progress,
    private readonly css: MotoApi,
    private readonly trigger: PushTrigger,
    private readonly functionSession: string,
    readonly agent: FakeSsmAgent,
  ) {}

  static async start(
    plan: TwinPlan,
    world: TwinWorld,
    deployment: Deployment,
    progress: Progress,
    root: string,
    agentOptions: AgentOptions,
  ): Promise<Twin> {
    const css = await world.admin(plan.sourceAccount);
    // The services that assume the stack's roles: each trust must let them in.
    const group = plan.schedule.groupArn;
    await check(plan, "service trust", [
      {
        principal: "ec2.amazonaws.com",
        action: "sts:AssumeRole",
        resource: plan.workerRoleArn,
        what: "the worker's instance profile",
      },
      {
        principal: "lambda.amazonaws.com",
        action: "sts:AssumeRole",
        resource: plan.pushTrigger.roleArn,
        what: "the push trigger's execution role",
      },
      {
        principal: "scheduler.amazonaws.com",
        action: "sts:AssumeRole",
        resource: plan.schedule.roleArn,
        context: { "aws:SourceAccount": plan.sourceAccount, "aws:SourceArn": group },
        what: `the reconcile schedule ${plan.schedule.name} in group ${group}`,
      },
    ]);
    const functionName = plan.pushTrigger.roleArn.split("/").pop() ?? "function";
    const functionCredentials = await css.assumeRole(plan.pushTrigger.roleArn, functionName);
    const trigger = await loadPushTrigger(plan, world.dir, world.moto.endpoint, functionCredentials);
    const agent = await FakeSsmAgent.start(plan, world, root, agentOptions);
    const { workers, buffer } = agent.limits;
    progress.step(
      `push trigger bundle loaded (same sha256 as rendered); fake SSM agent ready as the worker, in its Debian root ${root}: ` +
        `${workers} command workers (${agentOptions.commandWorkersLimit === undefined ? "Mds.CommandWorkersLimit of the rendered user data" : "set by the caller"}), ${buffer} more buffered` +
        (agentOptions.deliveryTimeoutSeconds === undefined
          ? ""
          : `, every delivery timeout ${agentOptions.deliveryTimeoutSeconds} s (set by the caller)`),
    );
    const twin = new Twin(
      plan,
      world,
      deployment,
      progress,
      css,
      trigger,
      sessionArn(plan.pushTrigger.roleArn, functionName),
      agent,
    );
    agent.onEnded((outcome) => twin.onEnded(outcome));
    return twin;
  }

  async follow(source: string, tag: string, options: { signed?: boolean } = {}): Promise<TwinResult> {
    const { plan, progress } = this;
    const target = plan.repositories[source];
    const [sent] = await this.sendPushes([{ repository: source, tag }]);
    const steps: Step[] = [
      { label: "pushed", at: sent.pushedAt, note: `${source}:${tag} ${sent.digest}` },
      { label: "event matched", at: sent.matchedAt, note: sent.ruleNote },
      { label: "command sent", at: sent.sentAt, note: sent.commandIds.join(", ") },
    ];
    const runs: AgentRun[] = [];
    for (const settled of await this.settle(sent.commandIds)) runs.push(await this.finished(settled));
    const copy = runs[0];
    steps.push({ label: "copy started", at: copy.startedAt, note: `${copy.documentName} ${copy.commandId}` });
    progress.step(
      `copy command ${copy.commandId} ran ${secondsBetween(copy.startedAt, copy.endedAt)} s on the worker: ${copy.results.map((r) => `${r.result} ${r.target ?? ""}`).join("; ")}`,
    );

    // One clock for the figures: the copier's. It measures from the push as ECR's event dates it (to
    // the second), which is what the latency alarm sees; the twin's own read comes later, after the
    // agent has uploaded the output and reported the command done.
    const measured = measuredLatency(copy.results, target, tag);
    const verifiedAt = new Date(measured.pushedAt.getTime() + measured.latency_s * 1000);
    progress.step(
      `the copier measured ${measured.latency_s} s from the push (the event's time, ${measured.pushedAt.toISOString()}) to verified in legacy, ${measured.copy_s} s of it the copy itself`,
    );

    const arrived = await this.verify(source, target, tag, sent.digest, "the copy");
    const signature = copy.results.find(
      (r) => r.result === "copied" && r.artifact_type === COSIGN_SIGNATURE && r.subject === sent.digest,
    );
    if (options.signed === true && typeof signature?.referrer !== "string")
      throw new TwinFailure(
        "the image's signature into legacy",
        `the copy printed no copied line for its cosign signature: ${copy.results.map((r) => JSON.stringify(r)).join("; ")}`,
      );
    steps.unshift({
      label: "event time",
      at: measured.pushedAt,
      note: "the push as ECR's event dates it, to the second: the copier's latency counts from here",
    });
    steps.push(
      {
        label: "verified in legacy",
        at: verifiedAt,
        note: `${target}:${tag} (the copier: latency_s ${measured.latency_s}, copy_s ${measured.copy_s})`,
      },
      {
        label: "read by the twin",
        at: arrived.at,
        note: `${target}:${tag} ${arrived.digest}, once the agent reported the command done`,
      },
    );
    for (const line of timelineLines(
      `timeline of ${source}:${tag} → ${target}:${tag}`,
      steps,
      `latency, push to verified in legacy: ${measured.latency_s} s (the copier's latency_s, what the alarm sees); the copy itself: ${measured.copy_s} s`,
    ))
      progress.line(line);
    return {
      source: `${source}:${tag}`,
      target: `${target}:${tag}`,
      source_digest: sent.digest,
      target_digest: arrived.digest,
      platforms: arrived.platforms,
      ...(typeof signature?.referrer === "string" ? { signature_digest: signature.referrer } : {}),
      pushed_at: measured.pushedAt.toISOString(),
      available_at: verifiedAt.toISOString(),
      latency_s: measured.latency_s,
      copy_s: measured.copy_s,
      healed: false,
    };
  }

  async sendPushes(pushes: ReadonlyArray<{ repository: string; tag: string }>): Promise<SentPush[]> {
    const { plan, world, progress } = this;
    const taken: Array<{ repository: string; tag: string; manifests: ManifestPush[] }> = [];
    for (const push of pushes)
      taken.push({ ...push, manifests: await world.pushes.pushesUntilTagged(push.repository, push.tag) });
    const tagged = (t: (typeof taken)[number]) => t.manifests[t.manifests.length - 1];
    const events = taken.flatMap((t) => t.manifests.map(ecrImageAction));
    progress.step(
      `the css registry notified ${events.length} manifest pushes; ECR emits ${events.length} "ECR Image Action" events for them`,
    );

    await putEvents(this.css, events);
    const delivered = (await drain(this.css, this.deployment.pushQueue)).map(
      (body) => JSON.parse(body) as { detail: Record<string, string> },
    );
    const matchedAt = new Date();
    const isPushOf = (e: { detail: Record<string, string> }, t: (typeof taken)[number]) =>
      e.detail["repository-name"] === t.repository &&
      e.detail["image-digest"] === tagged(t).digest &&
      e.detail["image-tag"] === t.tag;
    for (const t of taken) {
      if (!delivered.some((e) => isPushOf(e, t)))
        throw new TwinFailure(
          `push rule ${plan.pushRule.name}`,
          `its rendered pattern ${JSON.stringify(plan.pushRule.pattern)} did not match the event ECR emits for the push of ${t.repository}:${t.tag} (${ecrImageAction(tagged(t)).Detail}); delivered ${delivered.length} of ${events.length} events`,
        );
    }
    const ruleNote = `rule ${plan.pushRule.name}: ${delivered.length} of ${events.length} events delivered`;
    progress.step(
      `rule ${plan.pushRule.name} delivered ${delivered.length} of ${events.length} events (the untagged ones, platform manifests and pushes by digest, stay behind)`,
    );

    // Lambda runs the function for several events at once; SSM hands each command to the agent as
    // soon as it is sent, so the agent is polled after every send.
    const runs = await mapConcurrently(delivered, TRIGGER_PROCESSES, async (event) => {
      const run = await this.trigger.invoke(event);
      const sentAt = new Date();
      if (run.result?.status === "sent" && run.result.commandId !== undefined) {
        await this.checkSender(run.result.commandId, this.functionSession, plan.pushTrigger.roleArn);
        await this.agent.poll();
      }
      return { event, run, sentAt };
    });
    const sent = taken.map((t) => ({
      repository: t.repository,
      tag: t.tag,
      digest: tagged(t).digest,
      pushedAt: new Date(tagged(t).timestamp),
      matchedAt,
      ruleNote,
      sentAt: matchedAt,
      commandIds: [] as string[],
    }));
    for (const { event, run, sentAt } of runs) {
      if (run.error !== undefined || run.result === undefined)
        throw new TwinFailure(
          "push trigger",
          `the handler failed on the delivered event: ${run.error ?? "no result"}`,
        );
      const index = taken.findIndex((t) => isPushOf(event, t));
      if (run.result.status === "sent") {
        if (index >= 0)
          sent[index] = {
            ...sent[index],
            sentAt,
            commandIds: [...sent[index].commandIds, run.result.commandId ?? ""],
          };
      } else if (index >= 0) {
        throw new TwinFailure(
          "push trigger",
          `the handler did not send a command for ${taken[index].repository}:${taken[index].tag}: ${run.result.status} (${run.result.reason})`,
        );
      } else {
        progress.step(
          `push trigger: ${run.result.status} ${event.detail["image-digest"]}: ${run.result.reason}`,
        );
      }
    }
    const ids = sent.flatMap((s) => s.commandIds);
    progress.step(
      `push trigger sent ${ids.length} command(s) to ${plan.workerInstanceId}: ${ids.join(", ")}`,
    );
    return sent;
  }

  async sendReconcile(): Promise<string> {
    const { plan } = this;
    const schedulerSession = sessionArn(plan.schedule.roleArn, `twin-${plan.schedule.name}`);
    const scheduler = this.css.as(
      await this.css.assumeRole(plan.schedule.roleArn, `twin-${plan.schedule.name}`),
    );
    const { Command } = await scheduler.json("ssm", "SendCommand", plan.schedule.input);
    await this.checkSender(Command.CommandId, schedulerSession, plan.schedule.roleArn);
    await this.agent.poll();
    return Command.CommandId;
  }

  async settle(commandIds: readonly string[]): Promise<SettledCommand[]> {
    const outcomes = await Promise.all(commandIds.map((id) => this.agent.ended(id)));
    const alerts = await Promise.all(commandIds.map((id) => this.alerts.get(id) ?? Promise.resolve([])));
    await this.checkWorker();
    return outcomes.map((outcome, i) => ({ outcome, alerts: alerts[i] }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.agent.stop();
    await this.alerting;
  }

  /** Deletes target:tag in legacy, sends the reconcile as the rendered schedule sends it, and checks the tag is back. */
  async heal(source: string, target: string, tag: string, digest: string): Promise<boolean> {
    const { plan, world, progress } = this;
    const legacy = world.login(world.legacy);
    const response = await fetch(`http://${world.legacy.host}/v2/${target}/manifests/${digest}`, {
      method: "DELETE",
      headers: { Authorization: basicAuth(legacy) },
    });
    if (response.status !== 202 || (await world.legacy.digestOf(target, tag)) !== undefined)
      throw new TwinFailure(
        "heal",
        `could not delete ${target}:${tag} in the legacy registry (HTTP ${response.status})`,
      );
    progress.step(
      `heal: deleted ${target}:${tag} in legacy; sending the reconcile as schedule ${plan.schedule.name} would`,
    );
    const [settled] = await this.settle([await this.sendReconcile()]);
    const reconcile = await this.finished(settled);
    progress.step(
      `reconcile ${reconcile.commandId}: ${reconcile.results
        .map((r) =>
          r.result === "reconcile"
            ? `summary: ${r.copied} copied, ${r.unchanged} unchanged, ${r.failed} failed`
            : `${r.result} ${r.target ?? ""}`,
        )
        .join("; ")}`,
    );
    const back = await this.verify(source, target, tag, digest, "the reconcile");
    progress.step(
      `healed: ${target}:${tag} is back in legacy as ${back.digest}, ${secondsBetween(reconcile.startedAt, back.at)} s after the reconcile started`,
    );
    return true;
  }

  /** SSM's status events for every command that ends, through the rendered failed-command rule. */
  private onEnded(outcome: CommandOutcome): void {
    // A refused command never existed in SSM; one ended by the twin stopping is no news.
    if (outcome.status === "Refused" || this.stopping) return;
    const { command } = outcome;
    const { plan, progress } = this;
    if (outcome.status === "TimedOut")
      progress.step(
        `SSM: command ${command.commandId} (${command.documentName}) ended TimedOut after ${secondsBetween(command.requestedAt, outcome.endedAt)} s: ` +
          `not delivered within its delivery timeout, the agent's ${this.agent.limits.workers} workers busy and its ${this.agent.limits.buffer} buffered places taken`,
      );
    const ended = {
      commandId: command.commandId,
      documentName: command.documentName,
      parameters: command.parameters,
      requestedAt: command.requestedAt,
      expiresAfter: this.agent.expiresAfter(command.commandId),
      status: outcome.status,
      endedAt: outcome.endedAt,
    };
    const texts = this.alerting.then(() => alertsFor(plan, this.css, this.deployment.alertQueue, ended));
    this.alerting = texts.catch(() => undefined);
    const printed = texts.then((found) => {
      for (const text of found)
        progress.step(`alert to the on-call engineer (rule ${plan.commandFailedRule.name}): ${text}`);
      if (found.length === 0 && outcome.status !== "Success")
        progress.step(
          `no alert: rule ${plan.commandFailedRule.name} did not match the ${outcome.status} status of ${command.documentName} (command ${command.commandId})`,
        );
      return found;
    });
    printed.catch(() => undefined);
    this.alerts.set(command.commandId, printed);
  }

  /** The run of a command that ended Success; a TwinFailure naming the link for any other end. */
  private async finished({ outcome }: SettledCommand): Promise<AgentRun> {
    const { command } = outcome;
    switch (outcome.status) {
      case "Success":
        return outcome.run;
      case "Refused":
        throw new TwinFailure(`document ${command.documentName}`, outcome.reason);
      case "TimedOut":
        throw new TwinFailure(
          `delivery to ${this.plan.workerInstanceId}`,
          `command ${command.commandId} (document ${command.documentName}) ended TimedOut: the agent did not take it within its delivery timeout`,
        );
      case "Failed": {
        const { run } = outcome;
        const failed = run.results.find((r) => r.result === "failed");
        throw new TwinFailure(
          `document ${run.documentName} on the worker`,
          `command ${run.commandId} ended Failed (exit ${run.code}): ${failed?.error ?? lastLine(run.stderr)}${await this.whatLegacyHolds(run)}`,
        );
      }
    }
  }

  /** IAM for SendCommand of `commandId` by the session that sent it: the document and the instance. */
  private async checkSender(commandId: string, session: string, roleArn: string): Promise<void> {
    const { Commands } = await this.css.json("ssm", "ListCommands", { CommandId: commandId });
    const [command] = Commands as Array<{ DocumentName: string; InstanceIds: string[] }>;
    await check(this.plan, `sender of ${commandId}`, sendCommandHops(this.plan, session, roleArn, command));
  }

  /**
   * IAM on everything the worker did since the last check: its recorded aws calls, and its requests
   * through the relays to each registry. Commands may still be running; what they do later is
   * checked next time.
   */
  private checkWorker(): Promise<void> {
    const next = this.checking.then(() => this.checkWorkerOnce());
    this.checking = next.catch(() => undefined);
    return next;
  }

  private async checkWorkerOnce(): Promise<void> {
    const { plan, agent } = this;
    const calls = (await agent.awsCalls()).slice(this.checked.aws);
    const cssRequests = agent.relays.css.requests.slice(this.checked.css);
    const legacyRequests = agent.relays.legacy.requests.slice(this.checked.legacy);
    this.checked = {
      aws: this.checked.aws + calls.length,
      css: this.checked.css + cssRequests.length,
      legacy: this.checked.legacy + legacyRequests.length,
    };
    if (calls.length + cssRequests.length + legacyRequests.length === 0) return;
    const { hops, assumed } = awsCallHops(
      plan,
      agent.workerKeyId,
      calls.map((c) => c.call),
      this.assumed,
    );
    this.assumed = assumed;
    const worker = {
      principal: sessionArn(plan.workerRoleArn, plan.workerInstanceId),
      roleArn: plan.workerRoleArn,
    };
    const targetCaller = assumed ?? {
      principal: sessionArn(plan.targetRoleArn, "unknown"),
      roleArn: plan.targetRoleArn,
    };
    const registry = (name: string, account: string) => ({ name, account, region: plan.region });
    const requests = [
      ...registryHops(cssRequests, worker, registry("css", plan.sourceAccount)),
      ...registryHops(legacyRequests, targetCaller, registry("legacy", plan.targetAccount)),
    ];
    const documents = [...new Set(calls.map((c) => agent.sent(c.commandId)?.documentName ?? "?"))];
    const allowed = await check(plan, `worker (${documents.join(", ")})`, [...hops, ...requests]);
    this.progress.step(
      `IAM: the rendered policies and trust allow the worker's ${hops.length} aws calls and ${requests.length} registry requests (${allowed} distinct principal, action, resource)`,
    );
  }

  /** For a failed copy: what the tag is in legacy against the source, platforms included. */
  private async whatLegacyHolds(run: AgentRun): Promise<string> {
    const { world } = this;
    const source = run.parameters[SYNC_PARAMETERS.sourceRepository];
    const target = run.parameters[SYNC_PARAMETERS.targetRepository];
    const tag = run.parameters[SYNC_PARAMETERS.tag];
    if (source === undefined || target === undefined || tag === undefined) return "";
    const actual = await world.legacy.digestOf(target, tag);
    const expected = await world.css.digestOf(source, tag);
    if (actual === undefined || expected === undefined) return `; ${target}:${tag} is not in legacy`;
    const platforms = await platformsOf(world.legacy, world.login(world.legacy), target, actual);
    const sourcePlatforms = await platformsOf(world.css, world.login(world.css), source, expected);
    return `; legacy now holds ${target}:${tag} with platforms [${platforms.join(", ")}], the source ${source}:${tag} has [${sourcePlatforms.join(", ")}]`;
  }

  /** target:tag in legacy resolves to `digest` and carries every platform the source has. */
  private async verify(source: string, target: string, tag: string, digest: string, by: string) {
    const { world } = this;
    const actual = await world.legacy.digestOf(target, tag);
    const at = new Date();
    const sourcePlatforms = await platformsOf(world.css, world.login(world.css), source, digest);
    if (actual === undefined)
      throw new TwinFailure(`${by} into legacy`, `${target}:${tag} is not in the legacy registry`);
    const platforms = await platformsOf(world.legacy, world.login(world.legacy), target, actual);
    if (actual !== digest || platforms.join() !== sourcePlatforms.join()) {
      throw new TwinFailure(
        `${by} into legacy`,
        `${target}:${tag} is ${actual} with platforms [${platforms.join(", ")}], but ${source}:${tag} is ${digest} with [${sourcePlatforms.join(", ")}]`,
      );
    }
    return { digest: actual, platforms, at };
  }
}

/** `work` on every item, at most `limit` at a time; results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sendCommandHops(
  plan: TwinPlan,
  principal: string,
  roleArn: string,
  input: { DocumentName: string; InstanceIds: string[] },
): Hop[] {
  const documentArn = `arn:aws:ssm:${plan.region}:${plan.sourceAccount}:document/${input.DocumentName}`;
  const instanceArn = (id: string) => `arn:aws:ec2:${plan.region}:${plan.sourceAccount}:instance/${id}`;
  return [documentArn, ...input.InstanceIds.map(instanceArn)].map((resource) => ({
    principal,
    roleArn,
    action: "ssm:SendCommand",
    resource,
    what: `SendCommand ${input.DocumentName} to ${input.InstanceIds.join(", ")}`,
  }));
}

/** Fails naming every hop of `link` that IAM would deny; returns how many distinct hops were allowed. */
async function check(plan: TwinPlan, link: string, hops: Hop[]): Promise<number> {
  const { denied, evaluated } = await denials(plan, hops);
  if (denied.length > 0) throw new TwinFailure(`IAM (${link})`, denied.join("; "));
  return evaluated;
}

/**
 * The latency on the copy's result line for target:tag: the push trigger passed the event's
 * time through the document as --pushed-at, and the copier measured from it. A line without
 * it means that link of the path is broken.
 */
function measuredLatency(
  results: ReadonlyArray<Record<string, unknown>>,
  target: string,
  tag: string,
): { pushedAt: Date; latency_s: number; copy_s: number } {
  const line = results.find(
    (r) => typeof r.target === "string" && r.target.endsWith(`/${target}:${tag}`) && r.result !== "failed",
  );
  const pushedAt = new Date(String(line?.pushed_at));
  if (
    line === undefined ||
    typeof line.latency_s !== "number" ||
    typeof line.copy_s !== "number" ||
    Number.isNaN(pushedAt.getTime())
  )
    throw new TwinFailure(
      "push time",
      `the copy's result line for ${target}:${tag} has no pushed_at time and latency_s and copy_s numbers, so the event's time did not reach the copier as --pushed-at: ${JSON.stringify(line ?? results)}`,
    );
  return { pushedAt, latency_s: line.latency_s, copy_s: line.copy_s };
}

function secondsBetween(a: Date, b: Date): string {
  return ((b.getTime() - a.getTime()) / 1000).toFixed(2);
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

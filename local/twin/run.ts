/**
 * The twin of both stacks on one machine (`npm start`): renders css and legacy as `npm run synth`
 * does, deploys what moto can hold, pushes a multi-platform image to a mapped css repository,
 * and follows it through every link the program renders — the push rule, the push trigger's
 * bundle, the sync document run by a fake SSM agent as the worker, IAM on every hop — until it is
 * verified in legacy; then deletes it there and lets the reconcile, sent as the rendered schedule
 * sends it, bring it back. Each job lives in its own file under local/twin/.
 */
import { randomUUID } from "node:crypto";
import { SYNC_PARAMETERS } from "../../common/ssm-command";
import { pushImage } from "../oci";
import { renderStack, Rendering } from "../render";
import { AgentRun, FakeSsmAgent, RefusedCommand } from "./agent";
import { deploy, Deployment } from "./deploy";
import { ecrImageAction } from "./events";
import { AssumedSession, awsCallHops, denials, Hop, registryHops, sessionArn } from "./iam";
import { MotoApi } from "./moto-api";
import { planFrom, TwinPlan } from "./plan";
import { alertText } from "./alert";
import { platformName, platformsOf } from "./platforms";
import { drain, putEvents } from "./rules";
import { Progress, Step, timelineLines } from "./timeline";
import { loadPushTrigger, PushTrigger } from "./trigger";
import { basicAuth, startTwinWorld, TwinWorld } from "./world";

/** The platforms of the image the twin pushes. */
const PLATFORMS = [
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
}

export interface TwinResult {
  readonly source: string;
  readonly target: string;
  readonly source_digest: string;
  readonly target_digest: string;
  readonly platforms: string[];
  readonly pushed_at: string;
  readonly available_at: string;
  /** Push (the event's time) to verified in legacy, as ecr-sync.sh's copy measured it on its result line. */
  readonly latency_s: number;
  /** The copy alone (from taking the tag's lock to verified), from the same result line. */
  readonly copy_s: number;
  readonly healed: boolean;
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

export interface RunningTwin {
  readonly plan: TwinPlan;
  readonly world: TwinWorld;
  readonly progress: Progress;
  /** Follows a push of repository:tag already made to the css registry until it is in legacy. */
  follow(repository: string, tag: string): Promise<TwinResult>;
}

export async function runTwin(options: TwinOptions = {}): Promise<TwinResult> {
  const progress = new Progress(options.write ?? ((line) => process.stdout.write(`${line}\n`)));
  progress.step("rendering the css and legacy stacks as `npm run synth` does");
  const css = await renderStack("css", { config: options.config?.css });
  const legacy = await renderStack("legacy", { config: options.config?.legacy, sourceOutputs: css.outputs });
  options.transform?.({ css, legacy });
  const plan = planFrom(css, legacy);

  progress.step(
    `starting moto, the css and legacy registries (accounts ${plan.sourceAccount}, ${plan.targetAccount})`,
  );
  const world = await startTwinWorld({ source: plan.sourceAccount, target: plan.targetAccount });
  try {
    const deployment = await deploy(plan, world);
    for (const line of deployment.summary) progress.step(`deployed ${line}`);
    const twin = await Twin.start(plan, world, deployment, progress);

    const [source, target] = Object.entries(plan.repositories)[0];
    const tag = `twin-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomUUID().slice(0, 4)}`;
    const image = await world.layout.addMultiArch(PLATFORMS, [{ size: LAYER_BYTES }], tag);
    progress.step(`pushing ${source}:${tag} (${PLATFORMS.map(platformName).join(", ")}) to the css registry`);
    await pushImage(world.layout, image, {
      registry: world.css.host,
      repository: source,
      tag,
      ...world.login(world.css),
    });
    const result = await twin.follow(source, tag);
    // A heal that fails still leaves a result to report: the arrival happened; healed says the rest.
    const healed = await twin.heal(source, target, tag, result.source_digest).catch((error: unknown) => {
      if (!(error instanceof TwinFailure)) throw error;
      progress.step(`heal failed — ${error.message}`);
      return false;
    });
    const final = { ...result, healed };
    if (options.whileRunning) await options.whileRunning(twin, final);
    return final;
  } finally {
    await world.stop();
  }
}

class Twin implements RunningTwin {
  /** The target role's session the worker assumed last: later runs use it from the copier's cache. */
  private assumed: AssumedSession | undefined;

  private constructor(
    readonly plan: TwinPlan,
    readonly world: TwinWorld,
    private readonly deployment: Deployment,
    readonly progress: Progress,
    private readonly css: MotoApi,
    private readonly trigger: PushTrigger,
    private readonly functionSession: string,
    private readonly agent: FakeSsmAgent,
  ) {}

  static async start(
    plan: TwinPlan,
    world: TwinWorld,
    deployment: Deployment,
    progress: Progress,
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
    const agent = await FakeSsmAgent.start(plan, world);
    progress.step("push trigger bundle loaded (same sha256 as rendered); fake SSM agent ready as the worker");
    return new Twin(
      plan,
      world,
      deployment,
      progress,
      css,
      trigger,
      sessionArn(plan.pushTrigger.roleArn, functionName),
      agent,
    );
  }

  async follow(source: string, tag: string): Promise<TwinResult> {
    const { plan, world, progress } = this;
    const target = plan.repositories[source];
    const steps: Step[] = [];
    const pushes = await world.pushes.pushesUntilTagged(source, tag);
    const tagged = pushes[pushes.length - 1];
    steps.push({
      label: "pushed",
      at: new Date(tagged.timestamp),
      note: `${source}:${tag} ${tagged.digest}`,
    });
    const events = pushes.map(ecrImageAction);
    progress.step(
      `the css registry notified ${pushes.length} manifest pushes; ECR emits ${events.length} "ECR Image Action" events for them`,
    );

    await putEvents(this.css, events);
    const delivered = (await drain(this.css, this.deployment.pushQueue)).map(
      (body) => JSON.parse(body) as { detail: Record<string, string> },
    );
    const matched = delivered.filter(
      (e) => e.detail["image-digest"] === tagged.digest && e.detail["image-tag"] === tag,
    );
    if (matched.length === 0) {
      throw new TwinFailure(
        `push rule ${plan.pushRule.name}`,
        `its rendered pattern ${JSON.stringify(plan.pushRule.pattern)} did not match the event ECR emits for the push of ${source}:${tag} (${events[events.length - 1].Detail}); delivered ${delivered.length} of ${events.length} events`,
      );
    }
    steps.push({
      label: "event matched",
      at: new Date(),
      note: `rule ${plan.pushRule.name}: ${delivered.length} of ${events.length} events delivered`,
    });
    progress.step(
      `rule ${plan.pushRule.name} delivered ${delivered.length} of ${events.length} events (the untagged platform manifests stay behind)`,
    );

    const commandIds: string[] = [];
    for (const event of delivered) {
      const run = await this.trigger.invoke(event);
      if (run.error !== undefined || run.result === undefined)
        throw new TwinFailure(
          "push trigger",
          `the handler failed on the delivered event: ${run.error ?? "no result"}`,
        );
      const isThePush = event.detail["image-digest"] === tagged.digest && event.detail["image-tag"] === tag;
      if (run.result.status === "sent") commandIds.push(run.result.commandId ?? "");
      else if (isThePush)
        throw new TwinFailure(
          "push trigger",
          `the handler did not send a command for ${source}:${tag}: ${run.result.status} (${run.result.reason})`,
        );
      else
        progress.step(
          `push trigger: ${run.result.status} ${event.detail["image-digest"]}: ${run.result.reason}`,
        );
    }
    steps.push({ label: "command sent", at: new Date(), note: commandIds.join(", ") });
    progress.step(
      `push trigger sent ${commandIds.length} command(s) to ${plan.workerInstanceId}: ${commandIds.join(", ")}`,
    );

    const runs = await this.runPending(this.functionSession, plan.pushTrigger.roleArn);
    const copy = runs.find((r) => commandIds.includes(r.commandId));
    if (copy === undefined)
      throw new TwinFailure("fake SSM agent", `none of ${commandIds.join(", ")} reached the worker`);
    steps.push({ label: "copy started", at: copy.startedAt, note: `${copy.documentName} ${copy.commandId}` });
    progress.step(
      `copy ${copy.commandId}: ${copy.results.map((r) => `${r.result} ${r.target ?? ""}`).join("; ")} in ${secondsBetween(copy.startedAt, copy.endedAt)} s`,
    );

    const measured = measuredLatency(copy.results, target, tag);
    progress.step(
      `ecr-sync.sh measured ${measured.latency_s} s from the push (the event's time, ${measured.pushed_at}) to verified in legacy, ${measured.copy_s} s of it the copy itself`,
    );

    const arrived = await this.verify(source, target, tag, tagged.digest, "the copy");
    steps.push({
      label: "verified in legacy",
      at: arrived.at,
      note: `${target}:${tag} ${arrived.digest} (ecr-sync.sh: latency_s ${measured.latency_s}, copy_s ${measured.copy_s})`,
    });
    for (const line of timelineLines(
      `timeline of ${source}:${tag} → ${target}:${tag}`,
      steps,
      "total from push to available",
    ))
      progress.line(line);
    return {
      source: `${source}:${tag}`,
      target: `${target}:${tag}`,
      source_digest: tagged.digest,
      target_digest: arrived.digest,
      platforms: arrived.platforms,
      pushed_at: steps[0].at.toISOString(),
      available_at: arrived.at.toISOString(),
      latency_s: measured.latency_s,
      copy_s: measured.copy_s,
      healed: false,
    };
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

    const schedulerSession = sessionArn(plan.schedule.roleArn, `twin-${plan.schedule.name}`);
    const scheduler = this.css.as(
      await this.css.assumeRole(plan.schedule.roleArn, `twin-${plan.schedule.name}`),
    );
    const input = plan.schedule.input as { DocumentName: string; InstanceIds: string[] };
    const { Command } = await scheduler.json("ssm", "SendCommand", plan.schedule.input);
    await check(
      plan,
      `schedule ${plan.schedule.name}`,
      sendCommandHops(plan, schedulerSession, plan.schedule.roleArn, input),
    );
    const runs = await this.runPending(schedulerSession, plan.schedule.roleArn);
    const reconcile = runs.find((r) => r.commandId === Command.CommandId);
    if (reconcile === undefined)
      throw new TwinFailure("fake SSM agent", `the reconcile ${Command.CommandId} never ran`);
    progress.step(
      `reconcile ${reconcile.commandId}: ${reconcile.results.map((r) => `${r.result} ${r.target ?? ""}`).join("; ")}`,
    );
    const back = await this.verify(source, target, tag, digest, "the reconcile");
    progress.step(
      `healed: ${target}:${tag} is back in legacy as ${back.digest}, ${secondsBetween(reconcile.startedAt, back.at)} s after the reconcile started`,
    );
    return true;
  }

  /**
   * Runs every pending command on the fake agent, checks IAM for the sender and for each hop the
   * worker made, and fails on a command that ended non-zero after printing its alert.
   */
  private async runPending(senderSession: string, senderRoleArn: string): Promise<AgentRun[]> {
    const { plan, world } = this;
    const runs: AgentRun[] = [];
    for (const command of await this.agent.pending()) {
      await check(
        plan,
        `sender of ${command.CommandId}`,
        sendCommandHops(plan, senderSession, senderRoleArn, {
          DocumentName: command.DocumentName,
          InstanceIds: [plan.workerInstanceId],
        }),
      );
      const cssMark = await world.css.mark();
      const legacyMark = await world.legacy.mark();
      let run: AgentRun;
      try {
        run = await this.agent.run(command);
      } catch (error) {
        if (error instanceof RefusedCommand)
          throw new TwinFailure(`document ${command.DocumentName}`, error.message);
        throw error;
      }
      const { hops, assumed } = awsCallHops(plan, this.agent.workerKeyId, run.awsCalls, this.assumed);
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
        ...registryHops(
          (await world.css.accessLog()).slice(cssMark),
          worker,
          registry("css", plan.sourceAccount),
        ),
        ...registryHops(
          (await world.legacy.accessLog()).slice(legacyMark),
          targetCaller,
          registry("legacy", plan.targetAccount),
        ),
      ];
      const allowed = await check(plan, `worker (${command.DocumentName})`, [...hops, ...requests]);
      this.progress.step(
        `IAM: the rendered policies and trust allow the worker's ${hops.length} aws calls and ${requests.length} registry requests (${allowed} distinct principal, action, resource)`,
      );
      if (run.code !== 0) {
        const alert = await this.alert(run);
        this.progress.step(`alert to the on-call engineer (rule ${plan.commandFailedRule.name}): ${alert}`);
        const failed = run.results.find((r) => r.result === "failed");
        throw new TwinFailure(
          `document ${run.documentName} on the worker`,
          `command ${run.commandId} ended Failed (exit ${run.code}): ${failed?.error ?? lastLine(run.stderr)}${await this.whatLegacyHolds(run)}`,
        );
      }
      runs.push(run);
    }
    return runs;
  }

  private alert(run: AgentRun): Promise<string> {
    return alertText(this.plan, this.css, this.deployment.alertQueue, run);
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
 * time through the document as --pushed-at, and ecr-sync.sh measured from it. A line without
 * it means that link of the path is broken.
 */
function measuredLatency(
  results: ReadonlyArray<Record<string, unknown>>,
  target: string,
  tag: string,
): { pushed_at: string; latency_s: number; copy_s: number } {
  const line = results.find(
    (r) => typeof r.target === "string" && r.target.endsWith(`/${target}:${tag}`) && r.result !== "failed",
  );
  if (line === undefined || typeof line.latency_s !== "number" || typeof line.copy_s !== "number")
    throw new TwinFailure(
      "push time",
      `the copy's result line for ${target}:${tag} has no latency_s and copy_s numbers, so the event's time did not reach ecr-sync.sh as --pushed-at: ${JSON.stringify(line ?? results)}`,
    );
  return { pushed_at: String(line.pushed_at), latency_s: line.latency_s, copy_s: line.copy_s };
}

function secondsBetween(a: Date, b: Date): string {
  return ((b.getTime() - a.getTime()) / 1000).toFixed(2);
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

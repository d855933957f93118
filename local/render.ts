/**
 * Offline rendering of a stack: runs the real program (index.ts) under Pulumi's runtime mocks
 * with the stack's real config (Pulumi.yaml + Pulumi.<stack>.yaml) and records every resource
 * with its resolved inputs and the state the mocks gave it, plus the stack outputs. No Pulumi
 * CLI, no cloud credentials.
 *
 * The mocks are strict (an unknown resource type or invoke throws) and realistic: ARNs carry
 * the stack's own account id (from aws:allowedAccountIds) and region, named resources keep
 * their names, ids have AWS's shapes. For a stack that reads another through a StackReference
 * (legacy reads css), the referenced stack is rendered first and its outputs feed the reference.
 *
 * Pulumi's runtime is process-global, so each stack renders in its own child process
 * (`renderStack`); `renderInThisProcess` is the part that runs inside it.
 *
 * Used by scripts/synth.ts and the tests.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** The organization a self-managed backend uses in stack names (organization/project/stack). */
export const ORGANIZATION = "organization";

/** One resource as the program registered it. */
export interface RenderedResource {
  /** Pulumi type token, e.g. aws:iam/role:Role. */
  readonly type: string;
  /** The Pulumi resource name (not the cloud name). */
  readonly name: string;
  /** The id the mocks gave it ("" for components). */
  readonly id: string;
  /** Every input, resolved; assets and archives as { asset|archive, sha256, bytes }. */
  readonly inputs: Record<string, unknown>;
  /** What the resource resolved to: its inputs plus id, ARN, name and other computed values. */
  readonly state: Record<string, unknown>;
}

/** A stack as `synth --json` prints it. */
export interface Rendering {
  readonly stack: string;
  readonly resources: RenderedResource[];
  readonly outputs: Record<string, unknown>;
}

/** Flat stack config as the Pulumi runtime holds it: "namespace:key" → string (JSON for objects). */
export type StackConfig = Record<string, string>;

export interface RenderRequest {
  readonly stack: string;
  readonly config: StackConfig;
  /** Outputs of the stacks the program references, by fully qualified stack name. */
  readonly stackReferences: Record<string, Record<string, unknown>>;
}

export interface RenderOptions {
  /**
   * Changes to the stack's config before rendering: "namespace:key" → value (objects are
   * stored as JSON, as Pulumi does); `null` removes the key.
   */
  readonly config?: Record<string, unknown>;
  /** Outputs for the referenced stack instead of rendering it (legacy only). */
  readonly sourceOutputs?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Config: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, as the Pulumi CLI merges them.

function configText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The project's name from Pulumi.yaml. */
export function projectName(root = PROJECT_ROOT): string {
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof project?.name !== "string")
    throw new Error(`${path.join(root, "Pulumi.yaml")}: no project name`);
  return project.name;
}

/** The stacks that have a Pulumi.<stack>.yaml. */
export function stackNames(root = PROJECT_ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * The config a stack's program sees: Pulumi.yaml's declared defaults, overlaid by
 * Pulumi.<stack>.yaml, overlaid by `overrides`. Like the CLI, refuses a stack file that lacks
 * a key Pulumi.yaml declares without a default.
 */
export function readStackConfig(
  stack: string,
  overrides: Record<string, unknown> = {},
  root = PROJECT_ROOT,
): StackConfig {
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(
      `unknown stack ${JSON.stringify(stack)}: there is no ${path.basename(stackFile)} (stacks: ${stackNames(root).join(", ")})`,
    );
  }
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, unknown>;
  };
  const stackConfig =
    ((parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> }).config ??
    {};
  const config: StackConfig = {};
  for (const [key, value] of Object.entries(stackConfig)) config[key] = configText(value);

  for (const [rawKey, declaration] of Object.entries(project.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project.name}:${rawKey}`;
    if (key in config) continue;
    const d = declaration as { default?: unknown; value?: unknown; type?: unknown } | null;
    if (d !== null && typeof d === "object" && "value" in d) {
      config[key] = configText(d.value);
    } else if (d !== null && typeof d === "object" && "default" in d) {
      config[key] = configText(d.default);
    } else if (d !== null && typeof d === "object" && "type" in d) {
      throw new Error(
        `${path.basename(stackFile)} lacks ${key}, which Pulumi.yaml declares without a default; pulumi would refuse this stack`,
      );
    } else {
      config[key] = configText(d);
    }
  }

  for (const [key, value] of Object.entries(overrides)) {
    if (value === null || value === undefined) delete config[key];
    else config[key] = configText(value);
  }
  return config;
}

/** Stands in for the account in mock ARNs when aws:allowedAccountIds names none. */
const UNKNOWN_ACCOUNT = "000000000000";

/**
 * The account a stack deploys into, for the mocks' ARNs: the single entry of
 * aws:allowedAccountIds. When that is missing or malformed, a stand-in, so that the program
 * itself runs and reports the problem with its own message (which says how to fix it).
 */
export function stackAccountId(config: StackConfig): string {
  let ids: unknown;
  try {
    ids = JSON.parse(config["aws:allowedAccountIds"] ?? "[]");
  } catch {
    return UNKNOWN_ACCOUNT;
  }
  return Array.isArray(ids) && typeof ids[0] === "string" ? ids[0] : UNKNOWN_ACCOUNT;
}

// ---------------------------------------------------------------------------------------------
// Mocks.

function hex(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

/** Strict mocks that return what AWS would, in the stack's account and region. */
export class StackMocks implements pulumi.runtime.Mocks {
  readonly resources: {
    type: string;
    name: string;
    id: string;
    inputs: Record<string, unknown>;
    state: Record<string, unknown>;
  }[] = [];
  readonly invokes: { token: string; inputs: Record<string, unknown> }[] = [];
  private readonly zones: string[];

  constructor(
    readonly accountId: string,
    readonly region: string,
    readonly stackReferences: Record<string, Record<string, unknown>>,
  ) {
    this.zones = ["a", "b", "c", "d", "e", "f"].map((z) => `${region}${z}`);
  }

  private subnetIdFor(zone: string): string {
    return `subnet-${hex(`${this.accountId}/${zone}`, 17)}`;
  }

  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string | undefined;
    state: Record<string, unknown>;
  } {
    const { type, name } = args;
    const inputs = args.inputs as Record<string, unknown>;
    const { accountId: account, region } = this;
    const seed = `${account}/${region}/${type}/${name}`;
    const named = (typeof inputs.name === "string" ? inputs.name : `${name}-${hex(seed, 7)}`) as string;
    let id: string;
    let computed: Record<string, unknown>;
    switch (type) {
      case "ecr-sync:index:SourceSync":
      case "ecr-sync:index:TargetRole":
        id = "";
        computed = {};
        break;
      case "pulumi:pulumi:StackReference": {
        const stackName = String(inputs.name ?? args.id);
        const outputs = this.stackReferences[stackName];
        if (outputs === undefined) {
          throw new Error(
            `StackReference to ${JSON.stringify(stackName)}: no rendered stack of that name (have: ${Object.keys(this.stackReferences).join(", ") || "none"})`,
          );
        }
        id = stackName;
        computed = { name: stackName, outputs, secretOutputNames: [] };
        break;
      }
      case "aws:cloudwatch/logGroup:LogGroup":
        id = named;
        computed = { name: named, arn: `arn:aws:logs:${region}:${account}:log-group:${named}` };
        break;
      case "aws:iam/role:Role":
        id = named;
        computed = {
          name: named,
          arn: `arn:aws:iam::${account}:role/${named}`,
          uniqueId: `AROA${hex(seed, 17).toUpperCase()}`,
          maxSessionDuration: inputs.maxSessionDuration ?? 3600,
          path: "/",
        };
        break;
      case "aws:iam/rolePolicy:RolePolicy":
        id = `${String(inputs.role)}:${named}`;
        computed = { name: named };
        break;
      case "aws:iam/instanceProfile:InstanceProfile":
        id = named;
        computed = {
          name: named,
          arn: `arn:aws:iam::${account}:instance-profile/${named}`,
          uniqueId: `AIPA${hex(seed, 17).toUpperCase()}`,
        };
        break;
      case "aws:ec2/securityGroup:SecurityGroup":
        id = `sg-${hex(seed, 17)}`;
        computed = {
          name: named,
          arn: `arn:aws:ec2:${region}:${account}:security-group/${id}`,
          ownerId: account,
        };
        break;
      case "aws:ec2/instance:Instance": {
        id = `i-${hex(seed, 17)}`;
        const octets = createHash("sha256").update(seed).digest();
        computed = {
          arn: `arn:aws:ec2:${region}:${account}:instance/${id}`,
          instanceState: "running",
          privateIp: `172.31.${octets[0]}.${(octets[1] % 254) + 1}`,
          availabilityZone: this.zoneOfSubnet(String(inputs.subnetId)),
          primaryNetworkInterfaceId: `eni-${hex(`${seed}/eni`, 17)}`,
        };
        break;
      }
      case "aws:ssm/document:Document":
        id = named;
        computed = {
          name: named,
          arn: `arn:aws:ssm:${region}:${account}:document/${named}`,
          defaultVersion: "1",
          latestVersion: "1",
          documentVersion: "1",
          status: "Active",
          owner: account,
        };
        break;
      case "aws:lambda/function:Function": {
        id = named;
        const arn = `arn:aws:lambda:${region}:${account}:function:${named}`;
        computed = {
          name: named,
          arn,
          qualifiedArn: `${arn}:$LATEST`,
          invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
          version: "$LATEST",
        };
        break;
      }
      case "aws:lambda/permission:Permission":
        id = typeof inputs.statementId === "string" ? inputs.statementId : `${name}-${hex(seed, 7)}`;
        computed = { statementId: id };
        break;
      case "aws:cloudwatch/eventRule:EventRule":
        id = named;
        computed = {
          name: named,
          arn: `arn:aws:events:${region}:${account}:rule/${named}`,
          eventBusName: "default",
        };
        break;
      case "aws:cloudwatch/eventTarget:EventTarget":
        id = `${String(inputs.rule)}-${String(inputs.targetId)}`;
        computed = { eventBusName: "default" };
        break;
      case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig":
        // The provider's id: the function name, with ":QUALIFIER" when one is set.
        id =
          inputs.qualifier === undefined
            ? String(inputs.functionName)
            : `${String(inputs.functionName)}:${String(inputs.qualifier)}`;
        computed = {};
        break;
      case "aws:sqs/queue:Queue": {
        // An SQS queue's id is its URL.
        id = `https://sqs.${region}.amazonaws.com/${account}/${named}`;
        computed = {
          name: named,
          arn: `arn:aws:sqs:${region}:${account}:${named}`,
          url: id,
          messageRetentionSeconds: inputs.messageRetentionSeconds ?? 345600,
          visibilityTimeoutSeconds: inputs.visibilityTimeoutSeconds ?? 30,
        };
        break;
      }
      case "aws:sqs/queuePolicy:QueuePolicy":
        id = String(inputs.queueUrl);
        computed = {};
        break;
      case "aws:sns/topic:Topic": {
        // An SNS topic's id is its ARN.
        id = `arn:aws:sns:${region}:${account}:${named}`;
        computed = { name: named, arn: id, owner: account };
        break;
      }
      case "aws:sns/topicPolicy:TopicPolicy":
        id = String(inputs.arn);
        computed = { owner: account };
        break;
      case "aws:sns/topicSubscription:TopicSubscription": {
        const uuid = hex(seed, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
        id = `${String(inputs.topic)}:${uuid}`;
        // An e-mail subscription waits for the recipient to confirm it.
        computed = {
          arn: id,
          ownerId: account,
          pendingConfirmation: inputs.protocol === "email" || inputs.protocol === "email-json",
        };
        break;
      }
      case "aws:cloudwatch/metricAlarm:MetricAlarm":
        id = named;
        computed = { name: named, arn: `arn:aws:cloudwatch:${region}:${account}:alarm:${named}` };
        break;
      case "aws:scheduler/scheduleGroup:ScheduleGroup":
        id = named;
        computed = {
          name: named,
          arn: `arn:aws:scheduler:${region}:${account}:schedule-group/${named}`,
          state: "ACTIVE",
        };
        break;
      case "aws:scheduler/schedule:Schedule": {
        const group = typeof inputs.groupName === "string" ? inputs.groupName : "default";
        id = `${group}/${named}`;
        computed = {
          name: named,
          groupName: group,
          arn: `arn:aws:scheduler:${region}:${account}:schedule/${group}/${named}`,
        };
        break;
      }
      default:
        throw new Error(
          `synth mocks: unknown resource type ${type} (resource ${name}); teach local/render.ts what AWS returns for it`,
        );
    }
    const state = { ...inputs, ...computed };
    this.resources.push({ type, name, id, inputs, state });
    return { id: id === "" ? undefined : id, state };
  }

  private zoneOfSubnet(subnetId: string): string {
    return this.zones.find((z) => this.subnetIdFor(z) === subnetId) ?? this.zones[0];
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = args.inputs as Record<string, unknown>;
    this.invokes.push({ token: args.token, inputs });
    const { accountId: account, region } = this;
    const filter = (name: string): string[] | undefined =>
      (inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === name)
        ?.values;
    switch (args.token) {
      case "aws:ssm/getParameter:getParameter": {
        const name = String(inputs.name);
        if (!name.startsWith("/aws/service/"))
          throw new Error(`synth mocks: only public /aws/service/ parameters exist here, not ${name}`);
        return {
          ...inputs,
          id: name,
          arn: `arn:aws:ssm:${region}::parameter${name}`,
          type: "String",
          value: `ami-${hex(`${region}${name}`, 17)}`,
          insecureValue: `ami-${hex(`${region}${name}`, 17)}`,
          version: 1,
          withDecryption: true,
        };
      }
      case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
        const types = filter("instance-type") ?? [];
        // As in us-east-1, one zone (e) offers no current-generation types.
        const zones = this.zones.filter((z) => !z.endsWith("e"));
        const pairs = types.flatMap((t) => zones.map((z) => [t, z] as const));
        return {
          ...inputs,
          id: region,
          instanceTypes: pairs.map(([t]) => t),
          locations: pairs.map(([, z]) => z),
          locationTypes: pairs.map(() => "availability-zone"),
        };
      }
      case "aws:ec2/getSubnets:getSubnets": {
        const zones = filter("availability-zone") ?? this.zones;
        const defaultForAz = filter("default-for-az");
        if (defaultForAz !== undefined && !defaultForAz.includes("true"))
          return { ...inputs, id: region, ids: [] };
        return {
          ...inputs,
          id: region,
          ids: this.zones.filter((z) => zones.includes(z)).map((z) => this.subnetIdFor(z)),
        };
      }
      case "aws:ec2/getSubnet:getSubnet": {
        const id = String(inputs.id);
        const zone = this.zoneOfSubnet(id);
        return {
          ...inputs,
          id,
          arn: `arn:aws:ec2:${region}:${account}:subnet/${id}`,
          vpcId: `vpc-${hex(`${account}/${region}/default-vpc`, 17)}`,
          availabilityZone: zone,
          defaultForAz: this.zones.some((z) => this.subnetIdFor(z) === id),
          mapPublicIpOnLaunch: true,
          ownerId: account,
        };
      }
      default:
        throw new Error(
          `synth mocks: unknown invoke ${args.token}; teach local/render.ts what AWS returns for it`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering inside this process.

/** Turns mock inputs into plain JSON: assets and archives become their kind, hash and size. */
export async function plain(value: unknown): Promise<unknown> {
  if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
    const v = value as unknown as Record<string, unknown>;
    if (v.text !== undefined) {
      const text = String(await v.text);
      return {
        asset: "StringAsset",
        sha256: createHash("sha256").update(text).digest("hex"),
        bytes: Buffer.byteLength(text),
      };
    }
    if (v.assets !== undefined) {
      const assets = (await v.assets) as Record<string, unknown>;
      const entries = await Promise.all(
        Object.entries(assets).map(async ([k, a]) => [k, await plain(a)] as const),
      );
      return { archive: "AssetArchive", assets: Object.fromEntries(entries) };
    }
    for (const k of ["path", "uri"]) if (v[k] !== undefined) return { asset: k, [k]: await v[k] };
    return { asset: "unknown" };
  }
  if (Array.isArray(value)) return Promise.all((value as unknown[]).map(plain));
  if (value !== null && typeof value === "object") {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await plain(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

function outputPromise(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return (value as unknown as { promise(): Promise<unknown> }).promise();
  }
  return Promise.resolve(value);
}

let rendered = false;

/**
 * Runs index.ts under mocks for `request` and collects what it registered. Once per process:
 * the Pulumi runtime and the program module are process-global.
 */
export async function renderInThisProcess(request: RenderRequest): Promise<Rendering> {
  if (rendered)
    throw new Error("renderInThisProcess runs once per process; use renderStack for another stack");
  rendered = true;
  const mocks = new StackMocks(
    stackAccountId(request.config),
    request.config["aws:region"] ?? "",
    request.stackReferences,
  );
  await pulumi.runtime.setMocks(mocks, projectName(), request.stack, false, ORGANIZATION);
  for (const [key, value] of Object.entries(request.config)) pulumi.runtime.setConfig(key, value);

  const program = (await import(path.join(PROJECT_ROOT, "index.ts"))) as Record<string, unknown>;
  const exported = (program.default ?? program) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    outputs[key] = await plain(await outputPromise(value));
  }
  // Resources whose outputs no stack output depends on (the rule's target, the permission)
  // may still be registering.
  let seen = -1;
  while (seen !== mocks.resources.length) {
    seen = mocks.resources.length;
    // Not in the runtime's type declarations, but exported: waits for outstanding registrations.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const resources: RenderedResource[] = [];
  for (const r of mocks.resources) {
    resources.push({
      type: r.type,
      name: r.name,
      id: r.id,
      inputs: (await plain(r.inputs)) as Record<string, unknown>,
      state: (await plain(r.state)) as Record<string, unknown>,
    });
  }
  return { stack: request.stack, resources, outputs };
}

// ---------------------------------------------------------------------------------------------
// Rendering a stack in a child process.

const CHILD_FLAG = "--render-child";

/** The local stack a StackReference name points at: its last segment (organization/ecr-sync/css → css). */
export function localStackOf(reference: string): string {
  return reference.split("/").pop() ?? reference;
}

/**
 * Renders `stack` in a child process (the Pulumi runtime is process-global). A target stack's
 * StackReference is fed with the outputs of the stack it names, rendered first (or
 * `options.sourceOutputs`). Rejects with the program's error message if it fails.
 */
export async function renderStack(stack: string, options: RenderOptions = {}): Promise<Rendering> {
  const config = readStackConfig(stack, options.config ?? {});
  const stackReferences: Record<string, Record<string, unknown>> = {};
  const namespace = projectName();
  const reference = config[`${namespace}:sourceStack`];
  if (config[`${namespace}:participant`] === "target" && reference !== undefined) {
    stackReferences[reference] =
      options.sourceOutputs ?? (await referencedStackOutputs(localStackOf(reference)));
  }
  return runChild({ stack, config, stackReferences });
}

/**
 * The outputs of a referenced stack rendered with its own, unchanged config: rendered once per
 * process and reused (the stack files do not change while a process runs), so a series of target
 * renders does not pay for the same source render each time.
 */
const referencedRenders = new Map<string, Promise<Record<string, unknown>>>();
function referencedStackOutputs(stack: string): Promise<Record<string, unknown>> {
  let outputs = referencedRenders.get(stack);
  if (outputs === undefined) {
    outputs = renderStack(stack).then((r) => r.outputs);
    // A failed render is not cached: the next caller sees the error afresh.
    outputs.catch(() => referencedRenders.delete(stack));
    referencedRenders.set(stack, outputs);
  }
  return outputs;
}

async function runChild(request: RenderRequest): Promise<Rendering> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-render-"));
  try {
    const requestFile = path.join(dir, "request.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", __filename, CHILD_FLAG, requestFile, resultFile],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, NODE_NO_WARNINGS: "1" },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let err = "";
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.once("error", reject);
      child.once("close", (exitCode) => resolve({ code: exitCode, stderr: err }));
    });
    if (fs.existsSync(resultFile)) {
      const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as {
        rendering?: Rendering;
        error?: string;
      };
      if (result.error !== undefined) throw new Error(`stack ${request.stack}: ${result.error}`);
      if (result.rendering !== undefined && code === 0) return result.rendering;
    }
    throw new Error(`rendering stack ${request.stack} failed (exit ${code}):\n${stderr.trim()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

async function childMain(requestFile: string, resultFile: string): Promise<void> {
  const request = JSON.parse(fs.readFileSync(requestFile, "utf8")) as RenderRequest;
  // An error in an apply can surface as an unhandled rejection rather than through an output.
  const fail = (error: unknown) => {
    fs.writeFileSync(resultFile, JSON.stringify({ error: errorText(error) }));
    process.exit(1);
  };
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);
  try {
    const rendering = await renderInThisProcess(request);
    fs.writeFileSync(resultFile, JSON.stringify({ rendering }));
    process.exit(0);
  } catch (error) {
    fail(error);
  }
}

if (process.argv[2] === CHILD_FLAG) {
  void childMain(process.argv[3], process.argv[4]);
}

// ---------------------------------------------------------------------------------------------
// Looking things up in a rendering (for synth's review output and the tests).

/** Every resource of `type`. */
export function resourcesOfType(r: Rendering, type: string): RenderedResource[] {
  return r.resources.filter((x) => x.type === type);
}

/** The one resource of `type` named `name`; throws listing what there is otherwise. */
export function resource(r: Rendering, type: string, name: string): RenderedResource {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (found === undefined) {
    const names = resourcesOfType(r, type).map((x) => x.name);
    throw new Error(`stack ${r.stack} has no ${type} named ${name} (has: ${names.join(", ") || "none"})`);
  }
  return found;
}

/** An input that holds JSON text (a policy, a pattern, a document), parsed. */
export function jsonInput(res: RenderedResource, input: string): unknown {
  const value = res.inputs[input];
  if (typeof value !== "string")
    throw new Error(`${res.type} ${res.name}: input ${input} is ${JSON.stringify(value)}, not JSON text`);
  return JSON.parse(value);
}

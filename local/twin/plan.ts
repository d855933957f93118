/**
 * What the twin takes from the renderings, and nothing else: every name, account, pattern,
 * policy, document and environment below is read from the css and legacy stacks as
 * `npm run synth` renders them (local/render). The twin never types a repository, role,
 * document or rule name of its own, so a change to the program changes the twin.
 */
import type { PolicyDocument } from "../../components/policies";
import { jsonInput, resourcesOfType, Rendering, RenderedResource } from "../render";

export interface PlannedRole {
  readonly account: string;
  readonly name: string;
  readonly arn: string;
  readonly trust: PolicyDocument;
  /** The role's inline policies (aws:iam/rolePolicy:RolePolicy), by their Pulumi name. */
  readonly policies: ReadonlyArray<{ readonly name: string; readonly document: PolicyDocument }>;
}

export interface PlannedDocument {
  readonly name: string;
  readonly content: string;
  readonly documentType: string;
  readonly documentFormat: string;
}

export interface PlannedRule {
  readonly name: string;
  readonly pattern: unknown;
}

export interface TwinPlan {
  readonly region: string;
  readonly sourceAccount: string;
  readonly targetAccount: string;
  /** css repository → legacy repository. */
  readonly repositories: Readonly<Record<string, string>>;
  /** Every IAM role of both stacks. */
  readonly roles: readonly PlannedRole[];
  readonly workerRoleArn: string;
  readonly targetRoleArn: string;
  readonly workerInstanceId: string;
  readonly workerInstanceArn: string;
  /** The worker instance's user data (its first-boot script), which configures its SSM agent. */
  readonly workerUserData: string;
  readonly pushRule: PlannedRule;
  readonly commandFailedRule: PlannedRule & {
    /** The alert target's input transformer, as EventBridge takes it. */
    readonly inputPathsMap: Record<string, string>;
    readonly inputTemplate: string;
  };
  readonly documents: readonly PlannedDocument[];
  /** The css stack's log groups, by name: the commands' output, the copier's results, the function's. */
  readonly logGroups: readonly string[];
  /** The copier's bucket and the bundle the stack uploads into it (the documents fetch it by key). */
  readonly copier: {
    readonly bucket: string;
    readonly key: string;
    /** The sha256 of the bundle's bytes, as the rendered object's asset has it. */
    readonly sha256: string;
    readonly bytes: number;
  };
  readonly pushTrigger: {
    readonly roleArn: string;
    readonly environment: Readonly<Record<string, string>>;
    /** "index.handler": the file (without .js) and the export. */
    readonly handler: string;
    /** The code archive's one file and the sha256 the stack deploys it with. */
    readonly fileName: string;
    readonly sha256: string;
  };
  readonly schedule: {
    readonly name: string;
    readonly roleArn: string;
    readonly groupArn: string;
    /** The SendCommand input the schedule's target sends, parsed. */
    readonly input: Record<string, unknown>;
  };
}

function text(res: RenderedResource, key: string, from: "inputs" | "state" = "inputs"): string {
  const value = res[from][key];
  if (typeof value !== "string" || value === "")
    throw new Error(`${res.type} ${res.name}: ${from}.${key} is ${JSON.stringify(value)}, not a string`);
  return value;
}

function output(r: Rendering, key: string): string {
  const value = r.outputs[key];
  if (typeof value !== "string")
    throw new Error(`stack ${r.stack}: output ${key} is ${JSON.stringify(value)}`);
  return value;
}

function byCloudName(r: Rendering, type: string, name: string): RenderedResource {
  const found = resourcesOfType(r, type).find((x) => x.inputs.name === name);
  if (found === undefined) throw new Error(`stack ${r.stack}: no ${type} named ${JSON.stringify(name)}`);
  return found;
}

const accountOf = (arn: string): string => arn.split(":")[4];

function rolesOf(r: Rendering): PlannedRole[] {
  const policies = resourcesOfType(r, "aws:iam/rolePolicy:RolePolicy");
  return resourcesOfType(r, "aws:iam/role:Role").map((role) => {
    const name = text(role, "name");
    const arn = text(role, "arn", "state");
    return {
      account: accountOf(arn),
      name,
      arn,
      trust: jsonInput(role, "assumeRolePolicy") as PolicyDocument,
      policies: policies
        .filter((p) => p.inputs.role === name)
        .map((p) => ({ name: p.name, document: jsonInput(p, "policy") as PolicyDocument })),
    };
  });
}

/** Reads the twin's plan from the css rendering and the legacy rendering fed by its outputs. */
export function planFrom(css: Rendering, legacy: Rendering): TwinPlan {
  const repositories = css.outputs.repositories as Record<string, string>;
  const pushRule = byCloudName(css, "aws:cloudwatch/eventRule:EventRule", output(css, "pushRuleName"));
  const failedRuleName = output(css, "commandFailedRuleName");
  const failedRule = byCloudName(css, "aws:cloudwatch/eventRule:EventRule", failedRuleName);
  const failedTarget = resourcesOfType(css, "aws:cloudwatch/eventTarget:EventTarget").find(
    (t) => t.inputs.rule === failedRuleName,
  );
  if (failedTarget === undefined) throw new Error(`stack css: rule ${failedRuleName} has no target`);
  const transformer = failedTarget.inputs.inputTransformer as {
    inputPaths: Record<string, string>;
    inputTemplate: string;
  };
  const fn = byCloudName(css, "aws:lambda/function:Function", output(css, "functionName"));
  const code = fn.inputs.code as { assets: Record<string, { sha256: string }> };
  const [fileName, asset] = Object.entries(code.assets)[0];
  const workerInstanceId = output(css, "workerInstanceId");
  const instance = resourcesOfType(css, "aws:ec2/instance:Instance").find((i) => i.id === workerInstanceId);
  if (instance === undefined)
    throw new Error(`stack css: no aws:ec2/instance:Instance has the id ${workerInstanceId}`);
  const schedule = byCloudName(css, "aws:scheduler/schedule:Schedule", output(css, "reconcileScheduleName"));
  const scheduleTarget = schedule.inputs.target as { roleArn: string; input: string };
  const group = byCloudName(css, "aws:scheduler/scheduleGroup:ScheduleGroup", text(schedule, "groupName"));
  const copierBucket = output(css, "copierBucketName");
  const copierObject = resourcesOfType(css, "aws:s3/bucketObjectv2:BucketObjectv2").find(
    (o) => o.inputs.bucket === copierBucket,
  );
  if (copierObject === undefined)
    throw new Error(`stack css: no object is uploaded to bucket ${copierBucket}`);
  const copierAsset = copierObject.inputs.source as { sha256: string; bytes: number };
  return {
    region: output(css, "region"),
    sourceAccount: output(css, "sourceAccountId"),
    targetAccount: output(css, "targetAccountId"),
    repositories,
    roles: [...rolesOf(css), ...rolesOf(legacy)],
    workerRoleArn: output(css, "workerRoleArn"),
    targetRoleArn: output(legacy, "targetRoleArn"),
    workerInstanceId,
    workerInstanceArn: output(css, "workerInstanceArn"),
    workerUserData: text(instance, "userData"),
    pushRule: { name: text(pushRule, "name"), pattern: jsonInput(pushRule, "eventPattern") },
    commandFailedRule: {
      name: failedRuleName,
      pattern: jsonInput(failedRule, "eventPattern"),
      inputPathsMap: transformer.inputPaths,
      inputTemplate: transformer.inputTemplate,
    },
    copier: {
      bucket: copierBucket,
      key: text(copierObject, "key"),
      sha256: copierAsset.sha256,
      bytes: copierAsset.bytes,
    },
    logGroups: resourcesOfType(css, "aws:cloudwatch/logGroup:LogGroup").map((g) => text(g, "name")),
    documents: resourcesOfType(css, "aws:ssm/document:Document").map((d) => ({
      name: text(d, "name"),
      content: text(d, "content"),
      documentType: text(d, "documentType"),
      documentFormat: text(d, "documentFormat"),
    })),
    pushTrigger: {
      roleArn: text(fn, "role"),
      environment: (fn.inputs.environment as { variables: Record<string, string> }).variables,
      handler: text(fn, "handler"),
      fileName,
      sha256: asset.sha256,
    },
    schedule: {
      name: text(schedule, "name"),
      roleArn: scheduleTarget.roleArn,
      groupArn: text(group, "arn", "state"),
      input: JSON.parse(scheduleTarget.input) as Record<string, unknown>,
    },
  };
}

/** The role of `arn` in the plan; throws naming it when neither stack renders it. */
export function roleOf(plan: TwinPlan, arn: string): PlannedRole {
  const role = plan.roles.find((r) => r.arn === arn);
  if (role === undefined)
    throw new Error(
      `no rendered role has the ARN ${arn} (rendered: ${plan.roles.map((r) => r.arn).join(", ")})`,
    );
  return role;
}

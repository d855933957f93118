import { isAccountId, isRegion, isRepositoryName, isRoleName, parseRoleArn } from "../common/naming";
import { shown } from "../common/shown";

/**
 * The stack configuration, checked. index.ts reads the raw values (every one a string, as
 * Pulumi holds them; objects and arrays as JSON text) and hands them to `parseStackConfig`,
 * which returns typed settings or throws one `ConfigError` listing every problem, each naming
 * the key, the value and what to do. Nothing here touches Pulumi, so it is tested alone.
 */

/** The project's config namespace (the project name in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "ecr-sync";

/** Keys in the `ecr-sync` namespace that the program reads. Pulumi.yaml documents each one. */
export const CONFIG_KEYS = [
  "participant",
  "sourceAccountId",
  "targetAccountId",
  "repositories",
  "sourceStack",
  "targetRoleName",
  "workerInstanceType",
  "workerSubnetId",
  "workerAmiParameter",
  "logRetentionDays",
  "alertEmail",
  "reconcileSchedule",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Defaults for optional keys; Pulumi.yaml declares the same ones (a test keeps them equal). */
export const CONFIG_DEFAULTS = {
  sourceStack: "organization/ecr-sync/css",
  targetRoleName: "ecr-sync-target",
  workerInstanceType: "t4g.small",
  workerAmiParameter: "/aws/service/debian/release/12/latest/arm64",
  logRetentionDays: 90,
  reconcileSchedule: "rate(1 day)",
} as const;

/** The `reconcileSchedule` value that switches the scheduled reconcile off. */
export const RECONCILE_OFF = "off";

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** What a stack is: `source` builds the sync machinery (css), `target` the role it assumes (legacy). */
export type Participant = "source" | "target";
export const PARTICIPANTS: readonly Participant[] = ["source", "target"];

/** What index.ts passes in: the raw config strings, `undefined` where a key is not set. */
export interface RawStackConfig {
  /**
   * Every `ecr-sync:*` value the stack sets, by key (without the namespace): the keys the
   * program reads and any others (which are misspellings or leftovers).
   */
  readonly values: Readonly<Partial<Record<ConfigKey, string>>> &
    Readonly<Record<string, string | undefined>>;
  /** `aws:region`. */
  readonly region: string | undefined;
  /** `aws:allowedAccountIds`, as JSON text. */
  readonly allowedAccountIds: string | undefined;
  /** The stack being deployed, as `organization/project/stack`; `undefined` when unknown. */
  readonly stack?: string;
}

/**
 * The raw config of a stack from everything the Pulumi runtime holds (`pulumi.runtime.allConfig()`:
 * "namespace:key" → string) and the stack's own fully qualified name.
 */
export function rawStackConfig(all: Readonly<Record<string, string>>, stack?: string): RawStackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    if (name.startsWith(prefix)) values[name.slice(prefix.length)] = value;
  }
  return { values, region: all["aws:region"], allowedAccountIds: all["aws:allowedAccountIds"], stack };
}

interface CommonSettings {
  /** The AWS region of this stack. */
  readonly region: string;
  /** The account this stack deploys into: the single entry of `aws:allowedAccountIds`. */
  readonly accountId: string;
  /** The css account, where images are pushed and the worker runs. */
  readonly sourceAccountId: string;
  /** The legacy account, where images are copied to and the target role lives. */
  readonly targetAccountId: string;
}

export interface SourceSettings extends CommonSettings {
  readonly participant: "source";
  /** Source repository name (css) → target repository name (legacy). */
  readonly repositories: Readonly<Record<string, string>>;
  /** The name of the role in the legacy account that the worker assumes. */
  readonly targetRoleName: string;
  readonly workerInstanceType: string;
  /** A subnet for the worker; `undefined` means a default subnet of the default VPC. */
  readonly workerSubnetId: string | undefined;
  /** The public SSM parameter that names the worker's AMI. */
  readonly workerAmiParameter: string;
  readonly logRetentionDays: number;
  /** Where alerts are e-mailed (an SNS e-mail subscription); `undefined`: no subscription. */
  readonly alertEmail: string | undefined;
  /** An EventBridge Scheduler expression (rate(…) or cron(…)) for the reconcile; `undefined`: off. */
  readonly reconcileSchedule: string | undefined;
}

export interface TargetSettings extends CommonSettings {
  readonly participant: "target";
  /** The css stack to read the worker role, the mapping and the role name from. */
  readonly sourceStack: string;
}

export type StackSettings = SourceSettings | TargetSettings;

/** Every config problem found, one per line. */
export class ConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    heading = "invalid stack configuration",
  ) {
    super(`${heading}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
/** Graviton families carry a `g` right after the generation digit (t4g, m7g, c6gn, r8gd). */
const ARM64_INSTANCE_TYPE = /^[a-z]+\d+g[a-z]*\./;
const SUBNET_ID = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const AMI_PARAMETER = /^\/aws\/service\/[A-Za-z0-9_.\-/]+$/;
/** `stack`, `project/stack` or `organization/project/stack`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+){0,2}$/;

function key(name: ConfigKey): string {
  return `${CONFIG_NAMESPACE}:${name}`;
}

/**
 * Checks the raw config and returns the settings for this stack's participant, or throws a
 * ConfigError naming every bad key and value.
 */
export function parseStackConfig(raw: RawStackConfig): StackSettings {
  const problems: string[] = [];
  const value = (name: ConfigKey): string | undefined => {
    const v = raw.values[name];
    return v === undefined || v.trim() === "" ? undefined : v;
  };
  const required = (name: ConfigKey, why: string): string | undefined => {
    const v = value(name);
    if (v === undefined) problems.push(`${key(name)} is missing: ${why}`);
    return v;
  };

  const participantText = required("participant", "set it to source (css stack) or target (legacy stack)");
  let participant: Participant | undefined;
  if (participantText !== undefined) {
    if ((PARTICIPANTS as readonly string[]).includes(participantText)) {
      participant = participantText as Participant;
    } else {
      problems.push(
        `${key("participant")}: ${shown(participantText)} is not a participant; use source (css stack) or target (legacy stack)`,
      );
    }
  }

  const region = raw.region === undefined || raw.region.trim() === "" ? undefined : raw.region;
  if (region === undefined) {
    problems.push("aws:region is missing: set it, e.g. pulumi config set aws:region us-east-1");
  } else if (!isRegion(region)) {
    problems.push(`aws:region: ${shown(region)} is not an AWS region name (e.g. us-east-1)`);
  }

  const accountIdOf = (name: "sourceAccountId" | "targetAccountId", side: string): string | undefined => {
    const v = required(name, `set it to the 12-digit id of the ${side} account`);
    if (v !== undefined && !isAccountId(v)) {
      problems.push(`${key(name)}: ${shown(v)} is not a 12-digit AWS account id`);
      return undefined;
    }
    return v;
  };
  const sourceAccountId = accountIdOf("sourceAccountId", "css (source)");
  const targetAccountId = accountIdOf("targetAccountId", "legacy (target)");
  if (sourceAccountId !== undefined && sourceAccountId === targetAccountId) {
    problems.push(
      `${key("sourceAccountId")} and ${key("targetAccountId")} are both ${shown(sourceAccountId)}: the sync copies between two accounts`,
    );
  }

  const accountId = parseAllowedAccountIds(raw.allowedAccountIds, problems);
  if (accountId !== undefined && participant !== undefined) {
    const [expectedKey, expected] =
      participant === "source"
        ? (["sourceAccountId", sourceAccountId] as const)
        : (["targetAccountId", targetAccountId] as const);
    if (expected !== undefined && expected !== accountId) {
      problems.push(
        `aws:allowedAccountIds is [${shown(accountId)}] but a ${participant} stack deploys into ${key(expectedKey)} ${shown(expected)}: fix whichever is wrong`,
      );
    }
  }

  const specific =
    participant === "source"
      ? sourceSettings(value, problems)
      : participant === "target"
        ? targetSettings(value, problems)
        : undefined;
  if (problems.length > 0 || specific === undefined) throw new ConfigError(problems);
  return {
    region: region!,
    accountId: accountId!,
    sourceAccountId: sourceAccountId!,
    targetAccountId: targetAccountId!,
    ...specific,
  };
}

type ValueOf = (name: ConfigKey) => string | undefined;

/** The settings only a source (css) stack has; problems go to `problems`. */
function sourceSettings(value: ValueOf, problems: string[]): Omit<SourceSettings, keyof CommonSettings> {
  const repositories = parseRepositories(value("repositories"), problems);
  const targetRoleName = value("targetRoleName") ?? CONFIG_DEFAULTS.targetRoleName;
  if (!isRoleName(targetRoleName)) {
    problems.push(
      `${key("targetRoleName")}: ${shown(targetRoleName)} is not a valid IAM role name (1–64 of letters, digits and +=,.@_-)`,
    );
  }
  const workerInstanceType = value("workerInstanceType") ?? CONFIG_DEFAULTS.workerInstanceType;
  if (!INSTANCE_TYPE.test(workerInstanceType)) {
    problems.push(
      `${key("workerInstanceType")}: ${shown(workerInstanceType)} is not an EC2 instance type (e.g. t4g.small)`,
    );
  }
  const workerSubnetId = value("workerSubnetId");
  if (workerSubnetId !== undefined && !SUBNET_ID.test(workerSubnetId)) {
    problems.push(
      `${key("workerSubnetId")}: ${shown(workerSubnetId)} is not a subnet id (subnet- and 8 or 17 hex digits); leave it unset to use a default subnet`,
    );
  }
  const workerAmiParameter = value("workerAmiParameter") ?? CONFIG_DEFAULTS.workerAmiParameter;
  if (!AMI_PARAMETER.test(workerAmiParameter)) {
    problems.push(
      `${key("workerAmiParameter")}: ${shown(workerAmiParameter)} is not a public AMI parameter (it starts with /aws/service/)`,
    );
  } else if (INSTANCE_TYPE.test(workerInstanceType)) {
    const armImage = /(^|[/_-])(arm64|aarch64)($|[/_-])/.test(workerAmiParameter);
    const armType = ARM64_INSTANCE_TYPE.test(workerInstanceType);
    if (armImage !== armType) {
      problems.push(
        `${key("workerAmiParameter")} ${shown(workerAmiParameter)} is for ${armImage ? "arm64" : "x86_64"} but ${key("workerInstanceType")} ${shown(workerInstanceType)} is ${armType ? "arm64 (Graviton)" : "x86_64"}: change one so they match`,
      );
    }
  }
  const logRetentionDays = parseRetention(value("logRetentionDays"), problems);
  const alertEmail = parseAlertEmail(value("alertEmail"), problems);
  const reconcileSchedule = parseReconcileSchedule(value("reconcileSchedule"), problems);
  return {
    participant: "source",
    repositories: repositories!,
    targetRoleName,
    workerInstanceType,
    workerSubnetId,
    workerAmiParameter,
    logRetentionDays,
    alertEmail,
    reconcileSchedule,
  };
}

/** The settings only a target (legacy) stack has; problems go to `problems`. */
function targetSettings(value: ValueOf, problems: string[]): Omit<TargetSettings, keyof CommonSettings> {
  if (value("repositories") !== undefined) {
    problems.push(
      `${key("repositories")} is set on a target stack: the mapping lives in the css stack's config only (Pulumi.css.yaml) and the legacy stack reads it from the css stack; remove it here`,
    );
  }
  const sourceStack = value("sourceStack") ?? CONFIG_DEFAULTS.sourceStack;
  if (!STACK_NAME.test(sourceStack)) {
    problems.push(
      `${key("sourceStack")}: ${shown(sourceStack)} is not a stack name (organization/project/stack, e.g. organization/ecr-sync/css)`,
    );
  }
  return { participant: "target", sourceStack };
}

function parseAllowedAccountIds(text: string | undefined, problems: string[]): string | undefined {
  const fix = 'set it to the one account this stack may deploy into, e.g. ["770203350335"]';
  if (text === undefined || text.trim() === "") {
    problems.push(`aws:allowedAccountIds is missing: ${fix}`);
    return undefined;
  }
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch {
    problems.push(`aws:allowedAccountIds: ${shown(text)} is not a list: ${fix}`);
    return undefined;
  }
  if (!Array.isArray(ids) || ids.length !== 1 || !isAccountId(ids[0])) {
    problems.push(`aws:allowedAccountIds: ${shown(ids)} must list exactly one 12-digit account id: ${fix}`);
    return undefined;
  }
  return ids[0];
}

function parseRetention(text: string | undefined, problems: string[]): number {
  if (text === undefined) return CONFIG_DEFAULTS.logRetentionDays;
  const days = Number(text);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    problems.push(
      `${key("logRetentionDays")}: ${shown(text)} is not a retention CloudWatch Logs accepts (one of ${LOG_RETENTION_DAYS.join(", ")})`,
    );
  }
  return days;
}

/** One address, as SNS's e-mail protocol takes it: local@domain.tld, no spaces, no list. */
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function parseAlertEmail(text: string | undefined, problems: string[]): string | undefined {
  if (text === undefined) return undefined;
  const address = text.trim();
  if (address.length > 254 || !EMAIL.test(address)) {
    problems.push(
      `${key("alertEmail")}: ${shown(text)} is not one e-mail address (e.g. kuali-oncall@example.edu); set a single address, or leave it unset for no e-mail subscription`,
    );
    return undefined;
  }
  return address;
}

const RATE = /^rate\((\d+) (minutes?|hours?|days?)\)$/;
const CRON = /^cron\(([^()]+)\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;
const SCHEDULE_EXAMPLES = `e.g. "rate(1 day)", "rate(12 hours)" or "cron(0 6 * * ? *)" (06:00 UTC daily), or "${RECONCILE_OFF}" to switch the reconcile off`;

/**
 * Checks an EventBridge Scheduler expression for the recurring reconcile: `rate(N unit)` (unit
 * singular for 1, plural otherwise, as Scheduler requires) or `cron(…)` with its six fields and
 * `?` in exactly one of day-of-month and day-of-week. One-time `at(…)` schedules are refused: a
 * reconcile that runs once does not heal later gaps. Returns `undefined` for "off".
 */
export function parseReconcileSchedule(text: string | undefined, problems: string[]): string | undefined {
  const expression = (text ?? CONFIG_DEFAULTS.reconcileSchedule).trim();
  if (expression === RECONCILE_OFF) return undefined;
  const problem = (why: string) => {
    problems.push(`${key("reconcileSchedule")}: ${shown(text)} ${why}; ${SCHEDULE_EXAMPLES}`);
    return undefined;
  };
  const rate = RATE.exec(expression);
  if (rate !== null) {
    const count = Number(rate[1]);
    const plural = rate[2].endsWith("s");
    if (count < 1) return problem("runs never: the rate must be at least 1");
    if (count === 1 && plural)
      return problem(
        `is not accepted by EventBridge Scheduler: write ${JSON.stringify(`rate(1 ${rate[2].slice(0, -1)})`)}`,
      );
    if (count > 1 && !plural)
      return problem(
        `is not accepted by EventBridge Scheduler: write ${JSON.stringify(`rate(${count} ${rate[2]}s)`)}`,
      );
    return expression;
  }
  const cron = CRON.exec(expression);
  if (cron !== null) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6)
      return problem(
        `has ${fields.length} cron fields; Scheduler takes six (minutes hours day-of-month month day-of-week year)`,
      );
    if (!fields.every((f) => CRON_FIELD.test(f)))
      return problem("has a character a cron field does not take");
    if ((fields[2] === "?") === (fields[4] === "?"))
      return problem("must have ? in exactly one of day-of-month and day-of-week");
    return expression;
  }
  if (expression.startsWith("at(")) return problem("is a one-time schedule; the reconcile must recur");
  return problem("is not a schedule expression");
}

/**
 * Checks the mapping source → target: an object of valid ECR repository names, not empty,
 * no repository mapped to itself, no two sources mapped to one target.
 */
export function parseRepositories(
  text: string | undefined,
  problems: string[],
): Record<string, string> | undefined {
  const k = key("repositories");
  const example = `e.g. pulumi config set --path '${k}.kuali-coeus' coeus -s css`;
  if (text === undefined) {
    problems.push(`${k} is missing: map each source repository to its target, ${example}`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push(`${k}: ${shown(text)} is not an object of source → target repository names, ${example}`);
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push(`${k}: ${shown(parsed)} is not an object of source → target repository names, ${example}`);
    return undefined;
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) {
    problems.push(`${k} is empty: nothing would be synced; map at least one repository, ${example}`);
    return undefined;
  }
  const before = problems.length;
  const sourcesByTarget = new Map<string, string>();
  for (const [source, target] of entries) {
    if (!isRepositoryName(source)) {
      problems.push(
        `${k}[${shown(source)}]: the source ${shown(source)} is not a valid ECR repository name (2–256 lowercase letters, digits and . _ - /)`,
      );
    }
    if (!isRepositoryName(target)) {
      problems.push(
        `${k}[${shown(source)}]: the target ${shown(target)} is not a valid ECR repository name (2–256 lowercase letters, digits and . _ - /)`,
      );
      continue;
    }
    if (source === target) {
      problems.push(
        `${k}[${shown(source)}] maps the repository to itself; name the legacy repository it should be copied to`,
      );
    }
    const other = sourcesByTarget.get(target);
    if (other !== undefined) {
      problems.push(
        `${k}: ${shown(other)} and ${shown(source)} are both mapped to ${shown(target)}; each target takes one source`,
      );
    } else {
      sourcesByTarget.set(target, source);
    }
  }
  return problems.length === before ? (parsed as Record<string, string>) : undefined;
}

/** What the legacy stack reads from the css stack's outputs. */
export interface SourceStackOutputs {
  readonly workerRoleArn: string;
  readonly targetRoleName: string;
  readonly targetAccountId: string;
  readonly repositories: Readonly<Record<string, string>>;
}

/**
 * Checks the css stack's outputs as the legacy stack receives them: the worker role must live
 * in the configured source account, the css stack must expect this account as its target, and
 * the mapping and role name must be well formed. Throws naming the output and the value.
 */
export function checkSourceStackOutputs(
  outputs: Record<string, unknown>,
  settings: Pick<TargetSettings, "sourceStack" | "sourceAccountId" | "accountId">,
): SourceStackOutputs {
  const problems: string[] = [];
  const from = (name: string) => `output ${name} of stack ${shown(settings.sourceStack)}`;
  const workerRoleArn = outputs.workerRoleArn;
  if (parseRoleArn(workerRoleArn)?.accountId !== settings.sourceAccountId) {
    problems.push(
      `${from("workerRoleArn")} is ${shown(workerRoleArn)}, not a role in ${key("sourceAccountId")} ${shown(settings.sourceAccountId)}: check ${key("sourceStack")} names the css stack and that it is deployed`,
    );
  }
  const targetAccountId = outputs.targetAccountId;
  if (targetAccountId !== settings.accountId) {
    problems.push(
      `${from("targetAccountId")} is ${shown(targetAccountId)} but this stack deploys into ${shown(settings.accountId)}: the css stack syncs into another account`,
    );
  }
  const targetRoleName = outputs.targetRoleName;
  if (!isRoleName(targetRoleName)) {
    problems.push(`${from("targetRoleName")} is ${shown(targetRoleName)}, not an IAM role name`);
  }
  const mappingProblems: string[] = [];
  const repositories = parseRepositories(JSON.stringify(outputs.repositories ?? null), mappingProblems);
  problems.push(...mappingProblems.map((p) => `${from("repositories")}: ${p}`));
  if (problems.length > 0)
    throw new ConfigError(
      problems,
      `the outputs of stack ${shown(settings.sourceStack)} do not fit this stack`,
    );
  return {
    workerRoleArn: workerRoleArn as string,
    targetRoleName: targetRoleName as string,
    targetAccountId: targetAccountId as string,
    repositories: repositories!,
  };
}

import { isAccountId, isRegion, isRoleName, parseRoleArn } from "../common/naming";
import { checkRepositoryMap, checkRepositoryMapText } from "../common/repository-map";
import { shown } from "../common/shown";
import { INSTANCE_ARN } from "./arns";
import {
  CONFIG_DEFAULTS,
  CONFIG_NAMESPACE,
  ConfigKey,
  PARTICIPANTS,
  Participant,
  configKey as key,
  keyProblems,
  namespaceProblems,
  stackFileName,
} from "./config-keys";
import {
  checkRoleName,
  checkStackName,
  checkWorkerImage,
  parseAlertEmail,
  parseLatencyAlarmSeconds,
  parseRunbookUrl,
  lostLeadingZero,
  parseAllowedAccountIds,
  parseReconcileParallelism,
  parseCopyReferrers,
  parseReconcileSchedule,
  parseRetention,
  parseSubnetId,
} from "./config-values";

export * from "./config-keys";
export { LOG_RETENTION_DAYS, RECONCILE_OFF, parseReconcileSchedule } from "./config-values";

/**
 * The stack configuration, checked. index.ts reads the raw values (every one a string, as
 * Pulumi holds them; objects and arrays as JSON text) and hands them to `parseStackConfig`,
 * which refuses keys the program does not read or the stack's participant does not use, applies
 * every default (components/config-keys.ts) once, checks each value (components/config-values.ts)
 * and returns fully resolved settings, or throws one `ConfigError` listing every problem, each
 * naming the key, the value and what to do. Nothing here touches Pulumi, so it is tested alone.
 */

/** What index.ts passes in: the raw config strings, `undefined` where a key is not set. */
export interface RawStackConfig {
  /**
   * Every `ecr-sync:*` value the stack sets, by key (without the namespace): the keys the
   * program reads and any others (which are misspellings or leftovers, and are refused).
   */
  readonly values: Readonly<Partial<Record<ConfigKey, string>>> &
    Readonly<Record<string, string | undefined>>;
  /** `aws:region`. */
  readonly region: string | undefined;
  /** `aws:allowedAccountIds`, as JSON text. */
  readonly allowedAccountIds: string | undefined;
  /** The stack being deployed, as `organization/project/stack`; `undefined` when unknown. */
  readonly stack?: string;
  /** Every other key the stack holds (`aws:region`, `pulumi:…`, a misspelt namespace), namespace included. */
  readonly otherKeys?: readonly string[];
}

/**
 * The raw config of a stack from everything the Pulumi runtime holds (`pulumi.runtime.allConfig()`:
 * "namespace:key" → string) and the stack's own fully qualified name.
 */
export function rawStackConfig(all: Readonly<Record<string, string>>, stack?: string): RawStackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values: Record<string, string> = {};
  const otherKeys: string[] = [];
  for (const [name, value] of Object.entries(all)) {
    if (name.startsWith(prefix)) values[name.slice(prefix.length)] = value;
    else otherKeys.push(name);
  }
  return {
    values,
    region: all["aws:region"],
    allowedAccountIds: all["aws:allowedAccountIds"],
    stack,
    otherKeys,
  };
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
  /** Where alerts are e-mailed (an SNS e-mail subscription); `undefined`: `none`, no subscription. */
  readonly alertEmail: string | undefined;
  /** The latency (push to verified in legacy, seconds) above which the latency alarm fires. */
  readonly latencyAlarmSeconds: number;
  /**
   * How alerts name the runbook: its web address (https://…/docs/runbook.md), or the path
   * `docs/runbook.md` when none is configured. Sections are added as `#anchor`.
   */
  readonly runbook: string;
  /** An EventBridge Scheduler expression (rate(…) or cron(…)) for the reconcile; `undefined`: off. */
  readonly reconcileSchedule: string | undefined;
  /** How many missing tags a reconcile copies at a time (ECR_SYNC_RECONCILE_PARALLELISM). */
  readonly reconcileParallelism: number;
  /** Whether an image's referrers (signatures, SBOMs) travel with it (ECR_SYNC_COPY_REFERRERS). */
  readonly copyReferrers: boolean;
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

/** A key's value: as set, else its default; `undefined` for a key that is neither, or whose default is "none". */
type ValueOf = (name: ConfigKey) => string | undefined;

/**
 * Checks the raw config and returns the settings for this stack's participant, or throws a
 * ConfigError naming every bad key and value.
 */
export function parseStackConfig(raw: RawStackConfig): StackSettings {
  const problems: string[] = [];
  const value: ValueOf = (name) => {
    const set = raw.values[name];
    if (set !== undefined && set.trim() !== "") return set;
    const declared = (CONFIG_DEFAULTS as Partial<Record<ConfigKey, string | number | boolean>>)[name];
    return declared === undefined || declared === "" ? undefined : String(declared);
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
  problems.push(...keyProblems(raw.values, participant, raw.stack));
  problems.push(...namespaceProblems(raw.otherKeys ?? [], raw.stack));

  const region = raw.region === undefined || raw.region.trim() === "" ? undefined : raw.region;
  if (region === undefined) {
    problems.push("aws:region is missing: set it, e.g. pulumi config set aws:region us-east-1");
  } else if (!isRegion(region)) {
    problems.push(`aws:region: ${shown(region)} is not an AWS region name (e.g. us-east-1)`);
  }

  const shortName = raw.stack?.split("/").pop();
  const file = shortName === undefined ? "the stack's config" : stackFileName(shortName);
  const accountIdOf = (name: "sourceAccountId" | "targetAccountId", side: string): string | undefined => {
    const v = required(name, `set it to the 12-digit id of the ${side} account`);
    if (v !== undefined && !isAccountId(v)) {
      problems.push(`${key(name)}: ${shown(v)} is not a 12-digit AWS account id${lostLeadingZero(v, file)}`);
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

  const accountId = parseAllowedAccountIds(raw.allowedAccountIds, problems, file);
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
        ? targetSettings(value, raw, problems)
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

/** The settings only a source (css) stack has; problems go to `problems`. */
function sourceSettings(value: ValueOf, problems: string[]): Omit<SourceSettings, keyof CommonSettings> {
  const repositories = parseRepositories(value("repositories"), problems);
  const targetRoleName = value("targetRoleName")!;
  checkRoleName(targetRoleName, problems);
  const workerInstanceType = value("workerInstanceType")!;
  const workerAmiParameter = value("workerAmiParameter")!;
  checkWorkerImage(workerInstanceType, workerAmiParameter, problems);
  return {
    participant: "source",
    repositories: repositories!,
    targetRoleName,
    workerInstanceType,
    workerSubnetId: parseSubnetId(value("workerSubnetId"), problems),
    workerAmiParameter,
    logRetentionDays: parseRetention(value("logRetentionDays")!, problems),
    alertEmail: parseAlertEmail(value("alertEmail"), problems),
    reconcileSchedule: parseReconcileSchedule(value("reconcileSchedule")!, problems),
    reconcileParallelism: parseReconcileParallelism(value("reconcileParallelism")!, problems),
    copyReferrers: parseCopyReferrers(value("copyReferrers")!, problems),
    latencyAlarmSeconds: parseLatencyAlarmSeconds(value("latencyAlarmSeconds")!, problems),
    runbook: parseRunbookUrl(value("runbookUrl"), problems),
  };
}

/** The settings only a target (legacy) stack has; problems go to `problems`. */
function targetSettings(
  value: ValueOf,
  raw: RawStackConfig,
  problems: string[],
): Omit<TargetSettings, keyof CommonSettings> {
  if (value("repositories") !== undefined) {
    problems.push(
      `${key("repositories")} is set on a target stack: the mapping lives in the css stack's config only (Pulumi.css.yaml) and the legacy stack reads it from the css stack; remove it here`,
    );
  }
  const sourceStack = value("sourceStack")!;
  checkStackName(sourceStack, problems);
  if (raw.stack !== undefined && qualifiedStackName(sourceStack, raw.stack) === raw.stack) {
    // The CLI injects the declared default, so "its default" can only mean "equal to it".
    const defaulted = sourceStack === CONFIG_DEFAULTS.sourceStack;
    problems.push(
      `${key("sourceStack")} is ${shown(sourceStack)}${defaulted ? " (its default)" : ""}, this stack itself: a target stack reads the css (source) stack's outputs, so it would reference itself; ` +
        `set ${key("sourceStack")} to the css stack's name, or, if this stack is the css stack, set ${key("participant")} to source`,
    );
  }
  return { participant: "target", sourceStack };
}

/**
 * A stack name as Pulumi resolves it from within `current` (organization/project/stack): `stack`
 * and `project/stack` are taken to be in the current organization (and project).
 */
export function qualifiedStackName(name: string, current: string): string {
  const parts = name.split("/");
  return [...current.split("/").slice(0, Math.max(0, 3 - parts.length)), ...parts].join("/");
}

/** The css stack's mapping, checked by the one rule set (common/repository-map.ts). */
function parseRepositories(text: string | undefined, problems: string[]): Record<string, string> | undefined {
  const k = key("repositories");
  const example = `e.g. pulumi config set --path '${k}.kuali-coeus' coeus -s css`;
  if (text === undefined) {
    problems.push(`${k} is missing: map each source repository to its target, ${example}`);
    return undefined;
  }
  const checked = checkRepositoryMapText(text, k, example);
  problems.push(...checked.problems);
  return checked.map;
}

/** What the legacy stack reads from the css stack's outputs. */
export interface SourceStackOutputs {
  readonly workerRoleArn: string;
  /** The worker instance: the trust admits the worker role only with its credentials. */
  readonly workerInstanceArn: string;
  readonly targetRoleName: string;
  readonly targetAccountId: string;
  readonly repositories: Readonly<Record<string, string>>;
}

/**
 * Checks the css stack's outputs as the legacy stack receives them: the worker role and the
 * worker instance must live in the configured source account, the css stack must expect this
 * account as its target, and the mapping and role name must be well formed. Throws naming the
 * output and the value.
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
  const workerInstanceArn = outputs.workerInstanceArn;
  const instanceAccount = INSTANCE_ARN.pattern.test(String(workerInstanceArn))
    ? String(workerInstanceArn).split(":")[4]
    : undefined;
  if (typeof workerInstanceArn !== "string" || instanceAccount === undefined) {
    problems.push(
      `${from("workerInstanceArn")} is ${shown(workerInstanceArn)}, not an EC2 instance ARN (${INSTANCE_ARN.shape}): check ${key("sourceStack")} names the css stack and that it is deployed with this version of ecr-sync`,
    );
  } else if (instanceAccount !== settings.sourceAccountId) {
    problems.push(
      `${from("workerInstanceArn")} is ${shown(workerInstanceArn)}, an instance in account ${shown(instanceAccount)}, not in ${key("sourceAccountId")} ${shown(settings.sourceAccountId)}: check ${key("sourceStack")} names the css stack`,
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
  const mapping = checkRepositoryMap(
    outputs.repositories ?? null,
    from("repositories"),
    `check that ${key("sourceStack")} names the css stack and that it is deployed`,
  );
  problems.push(...mapping.problems);
  if (problems.length > 0)
    throw new ConfigError(
      problems,
      `the outputs of stack ${shown(settings.sourceStack)} do not fit this stack`,
    );
  return {
    workerRoleArn: workerRoleArn as string,
    workerInstanceArn: workerInstanceArn as string,
    targetRoleName: targetRoleName as string,
    targetAccountId: targetAccountId as string,
    repositories: mapping.map!,
  };
}

import {
  isImageDigest,
  isImageTag,
  isRegion,
  isRegistry,
  isRepositoryName,
  isUtcTimestamp,
  parseRoleArn,
} from "../../common/naming";
import { checkRepositoryMapText } from "../../common/repository-map";
import { EXIT } from "../../common/result-lines";
import { Failure, failure } from "./failure";
import { LIMITS } from "./limits";

/**
 * The command line and the ECR_SYNC_* environment, read once and checked at the boundary: what
 * passes is typed, and nothing below checks it again.
 */

/**
 * A value as a message shows it: in single quotes when it is plain printable text, else as a JSON
 * string, so a newline or a control character in a variable cannot forge a line of the log.
 */
export function quoted(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
}

const REPOSITORY_RULE =
  "2-256 characters: lowercase letters, digits, '.', '_', '-' between them, '/' between parts";

export interface Config {
  readonly sourceRegistry: string;
  readonly targetRegistry: string;
  readonly targetRoleArn: string;
  readonly region: string;
  /** ECR_SYNC_TLS_VERIFY: https and verified certificates, or plain http (local registries). */
  readonly tlsVerify: boolean;
  readonly stateDir: string;
  /** The map in its own order. */
  readonly mappings: ReadonlyArray<readonly [string, string]>;
  readonly awsMaxAttempts: number;
  readonly copyTimeoutSeconds: number;
  /** ECR_SYNC_RECONCILE_PARALLELISM: how many missing tags a reconcile copies at a time. */
  readonly reconcileParallelism: number;
  /**
   * ECR_SYNC_COPY_REFERRERS: an image's referrers (signatures, SBOMs, attestations) travel with it
   * (default true, as the stack's `ecr-sync:copyReferrers`, which the documents export).
   */
  readonly copyReferrers: boolean;
}

export type Command =
  | { readonly kind: "help" }
  | {
      readonly kind: "copy";
      readonly sourceRepository: string;
      readonly targetRepository: string;
      readonly tag: string;
      readonly digest?: string;
      /** --pushed-at as given, and as microseconds since the epoch. */
      readonly pushedAt?: { readonly text: string; readonly epochMicros: number };
    }
  | { readonly kind: "reconcile"; readonly dryRun: boolean };

/** A usage error: exit 2, each problem on a line of its own, then the short usage (usage.ts). */
export class UsageError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("; "));
    this.problems = list;
  }
}

const COPY_FLAGS = [
  "--source-repository",
  "--target-repository",
  "--tag",
  "--digest",
  "--pushed-at",
] as const;

export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const [command, ...rest] = argv;
  switch (command) {
    case "copy":
      return parseCopy(rest);
    case "reconcile":
      return parseReconcile(rest);
    case "-h":
    case "--help":
    case "help":
      return { kind: "help" };
    case undefined:
      throw new UsageError("a command is required: copy or reconcile");
    default:
      throw new UsageError(`unknown command ${quoted(command)}`);
  }
}

const isFlag = (arg: string) =>
  (COPY_FLAGS as readonly string[]).includes(arg) || arg === "-h" || arg === "--help";

/** copy's flags, every problem with them found at once (a person fixes them in one go). */
function parseCopy(args: readonly string[]): Command {
  const values = new Map<string, string>();
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === "-h" || flag === "--help") {
      if (problems.length > 0) throw new UsageError(problems);
      return { kind: "help" };
    }
    if (!(COPY_FLAGS as readonly string[]).includes(flag)) {
      problems.push(`copy: unknown argument ${quoted(flag)}`);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || isFlag(value)) {
      problems.push(`${flag} needs a value`);
      continue;
    }
    if (value === "") {
      problems.push(`${flag} needs a value`);
      i++;
      continue;
    }
    values.set(flag, value);
    i++;
  }
  const sourceRepository = values.get("--source-repository");
  const targetRepository = values.get("--target-repository");
  const tag = values.get("--tag");
  for (const [flag, value] of [
    ["--source-repository", sourceRepository],
    ["--target-repository", targetRepository],
    ["--tag", tag],
  ] as const) {
    if (value === undefined && !problems.includes(`${flag} needs a value`))
      problems.push(`copy: ${flag} is required`);
  }
  for (const [flag, name] of [
    ["--source-repository", sourceRepository],
    ["--target-repository", targetRepository],
  ] as const) {
    if (name !== undefined && !isRepositoryName(name))
      problems.push(`${flag} ${quoted(name)} is not a valid ECR repository name (${REPOSITORY_RULE})`);
  }
  if (tag !== undefined && !isImageTag(tag)) {
    problems.push(
      `--tag ${quoted(tag)} is not a valid image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)`,
    );
  }
  const digest = values.get("--digest");
  if (digest !== undefined && !isImageDigest(digest)) {
    problems.push(`--digest ${quoted(digest)} is not sha256: followed by 64 lowercase hex digits`);
  }
  const pushedAt = values.get("--pushed-at");
  if (pushedAt !== undefined && !isUtcTimestamp(pushedAt)) {
    problems.push(`--pushed-at ${quoted(pushedAt)} is not an ISO-8601 UTC time (2026-06-01T12:00:03Z)`);
  }
  if (
    problems.length > 0 ||
    sourceRepository === undefined ||
    targetRepository === undefined ||
    tag === undefined
  )
    throw new UsageError(problems);
  return {
    kind: "copy",
    sourceRepository,
    targetRepository,
    tag,
    digest,
    pushedAt: pushedAt === undefined ? undefined : { text: pushedAt, epochMicros: epochMicros(pushedAt) },
  };
}

/**
 * An ISO-8601 UTC time (isUtcTimestamp) as microseconds since the epoch: whole seconds from
 * Date.parse, the fraction (up to 9 digits) read as decimal digits, never as a number literal
 * (ecr-sync.sh read 1970-01-01T00:00:00.5Z's "0500000" as octal and died after the copy).
 */
export function epochMicros(timestamp: string): number {
  const seconds = Date.parse(`${timestamp.slice(0, 19)}Z`) / 1000;
  const fraction = /\.([0-9]+)Z$/.exec(timestamp)?.[1] ?? "";
  const micros = Number.parseInt(fraction.padEnd(6, "0").slice(0, 6), 10);
  return seconds * 1_000_000 + micros;
}

function parseReconcile(args: readonly string[]): Command {
  let dryRun = false;
  const unknown: string[] = [];
  for (const arg of args) {
    if (arg === "--dry-run") dryRun = true;
    else if (arg === "-h" || arg === "--help") {
      if (unknown.length > 0) throw new UsageError(unknown);
      return { kind: "help" };
    } else unknown.push(`reconcile: unknown argument ${quoted(arg)}`);
  }
  if (unknown.length > 0) throw new UsageError(unknown);
  return { kind: "reconcile", dryRun };
}

function reconcileParallelismOf(env: NodeJS.ProcessEnv): number {
  const text = env.ECR_SYNC_RECONCILE_PARALLELISM ?? String(LIMITS.reconcileDefaultParallelism);
  const value = /^[1-9][0-9]?$/.test(text) ? Number(text) : NaN;
  if (!(value <= LIMITS.reconcileMaxParallelism)) {
    throw failure(
      EXIT.config,
      `ECR_SYNC_RECONCILE_PARALLELISM=${quoted(text)} is not a number of copies at a time from 1 to ${LIMITS.reconcileMaxParallelism} (unset it for ${LIMITS.reconcileDefaultParallelism})`,
    );
  }
  return value;
}

/**
 * The ECR_SYNC_* settings, checked; any missing or invalid is exit 3, every one of them named at
 * once (one line each), so a person fixes them in one go.
 */
export function readConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const checked = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      // A problem with a setting is reported with the others; anything else is a bug, not exit 3.
      if (!(error instanceof Failure)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const required = (name: string, valid: (value: string) => boolean, rule: string): string => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set: the SSM document (or you) must export it`);
    else if (!valid(value)) problems.push(`${name}=${quoted(value)} ${rule}`);
    return value ?? "";
  };
  const registryRule = "is not host[:port] (e.g. 770203350335.dkr.ecr.us-east-1.amazonaws.com)";
  const sourceRegistry = required("ECR_SYNC_SOURCE_REGISTRY", isRegistry, registryRule);
  const targetRegistry = required("ECR_SYNC_TARGET_REGISTRY", isRegistry, registryRule);
  const targetRoleArn = required(
    "ECR_SYNC_TARGET_ROLE_ARN",
    (value) => parseRoleArn(value) !== undefined,
    "is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
  );
  const region = required("ECR_SYNC_REGION", isRegion, "is not an AWS region (e.g. us-east-1)");
  const tls = env.ECR_SYNC_TLS_VERIFY ?? "true";
  if (tls !== "true" && tls !== "false")
    problems.push(`ECR_SYNC_TLS_VERIFY=${quoted(tls)} must be true or false`);
  const referrers = env.ECR_SYNC_COPY_REFERRERS ?? "true";
  if (referrers !== "true" && referrers !== "false")
    problems.push(`ECR_SYNC_COPY_REFERRERS=${quoted(referrers)} must be true or false`);
  const stateDir = checked(() => stateDirOf(env));
  const mappings = checked(() => readMap(env));
  const awsMaxAttempts = checked(() =>
    boundedNumber(env, "AWS_MAX_ATTEMPTS", LIMITS.awsDefaultAttempts, 99, "attempts"),
  );
  const copyTimeoutSeconds = checked(() =>
    boundedNumber(
      env,
      "ECR_SYNC_COPY_TIMEOUT_SECONDS",
      LIMITS.copyTimeoutSeconds,
      LIMITS.copyTimeoutMaxSeconds,
      "seconds",
    ),
  );
  const reconcileParallelism = checked(() => reconcileParallelismOf(env));
  if (
    problems.length > 0 ||
    reconcileParallelism === undefined ||
    stateDir === undefined ||
    mappings === undefined ||
    awsMaxAttempts === undefined ||
    copyTimeoutSeconds === undefined
  )
    throw failure(EXIT.config, problems.join("\n"));
  return {
    sourceRegistry,
    targetRegistry,
    targetRoleArn,
    region,
    tlsVerify: tls === "true",
    stateDir,
    mappings,
    awsMaxAttempts,
    copyTimeoutSeconds,
    reconcileParallelism,
    copyReferrers: referrers === "true",
  };
}

function stateDirOf(env: NodeJS.ProcessEnv): string {
  const dir = env.ECR_SYNC_STATE_DIR || "/run/ecr-sync";
  if (dir.includes("\n")) {
    throw failure(
      EXIT.config,
      "ECR_SYNC_STATE_DIR holds a newline: set it to a plain absolute path such as /run/ecr-sync",
    );
  }
  if (!dir.startsWith("/")) {
    throw failure(
      EXIT.config,
      `ECR_SYNC_STATE_DIR=${quoted(dir)} is not an absolute path: set it to a root-only directory such as /run/ecr-sync`,
    );
  }
  return dir;
}

function boundedNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  max: number,
  unit: string,
): number {
  const text = env[name] ?? String(fallback);
  const value = /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) {
    throw failure(
      EXIT.config,
      `${name}=${quoted(text)} is not a number of ${unit} from 1 to ${max} (unset it for ${fallback})`,
    );
  }
  return value;
}

function readMap(env: NodeJS.ProcessEnv): Array<readonly [string, string]> {
  const text = env.ECR_SYNC_REPOSITORY_MAP;
  if (!text) {
    throw failure(
      EXIT.config,
      "ECR_SYNC_REPOSITORY_MAP is not set: copy and reconcile need the JSON object of source -> target repository names (the SSM documents export it)",
    );
  }
  const checked = checkRepositoryMapText(
    text,
    "ECR_SYNC_REPOSITORY_MAP",
    "the SSM documents export the stack's map",
  );
  if (checked.map === undefined) throw failure(EXIT.config, checked.problems.join("; "));
  return Object.entries(checked.map);
}

/**
 * copy stays inside the map: the target role may push to every legacy repository, so a pair the
 * map does not hold is refused (exit 2) before any AWS call or registry request.
 */
export function checkMappedPair(config: Config, sourceRepository: string, targetRepository: string): void {
  const mapped = config.mappings.find(([source]) => source === sourceRepository)?.[1];
  const pair = `copy: ${sourceRepository} -> ${targetRepository} is outside ECR_SYNC_REPOSITORY_MAP`;
  if (mapped === undefined) {
    const sources = config.mappings
      .map(([source]) => source)
      .sort()
      .join(", ");
    throw new UsageError(
      `${pair}: it has no entry for '${sourceRepository}' (its sources: ${sources}); nothing was read or written`,
    );
  }
  if (mapped !== targetRepository) {
    throw new UsageError(
      `${pair}: it maps '${sourceRepository}' to '${mapped}'; nothing was read or written`,
    );
  }
}

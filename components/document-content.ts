import { copierObjectKey, requireBucketName } from "./arns";
import {
  IMAGE_DIGEST_PATTERN,
  IMAGE_TAG_PATTERN,
  isRegion,
  REPOSITORY_NAME_MAX_LENGTH,
  REPOSITORY_NAME_MIN_LENGTH,
  REPOSITORY_NAME_PATTERN,
  UTC_TIMESTAMP,
} from "../common/naming";
import { SYNC_PARAMETERS } from "../common/ssm-command";
import { RESULTS_LOG_GROUP_ENV } from "../common/telemetry";

/**
 * The content of the SSM Command documents that run the copier (ec2-scripts/copier, bundled by
 * ec2-scripts/bundle.ts) on the worker. The bundle is far larger than a document may be, so the
 * document names it instead: the bucket and key the stack uploaded it to and the sha256 of its
 * bytes. On the worker the command runs the copier only from a file whose sha256 it has just
 * checked; the first command after a deploy downloads it, later ones use the copy kept by hash
 * (fetchCopier). Pure functions of plain values; the SourceSync component only wires them.
 *
 * SSM substitutes `{{name}}` textually into the command before the shell sees it. The
 * parameters' allowedPatterns are therefore what keeps event text out of the shell: every
 * pattern below admits no quote, space, `$`, backtick or `;`. The placeholders are also
 * single-quoted in the command, so a value could not split into words even if a pattern
 * were loosened.
 */

/** A String parameter of a Command document (schema 2.2). */
export interface DocumentParameter {
  readonly type: "String";
  readonly description: string;
  readonly allowedPattern: string;
  readonly minChars?: number;
  readonly maxChars?: number;
  readonly default?: string;
}

/** A Command document (schemaVersion 2.2) with one aws:runShellScript step. */
export interface CommandDocument {
  readonly schemaVersion: "2.2";
  readonly description: string;
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  readonly mainSteps: readonly [
    {
      readonly action: "aws:runShellScript";
      readonly name: string;
      readonly precondition: { readonly StringEquals: readonly ["platformType", "Linux"] };
      readonly inputs: { readonly timeoutSeconds: number; readonly runCommand: readonly string[] };
    },
  ];
}

/** Where the copier's bundle is and what it must hash to: what a document names instead of carrying it. */
export interface CopierLocation {
  /** The bucket the stack uploaded it to (components/copier-artifact.ts). */
  readonly bucket: string;
  /** The sha256 (hex) of the bundle's bytes; its key is `copier/<sha256>.cjs`. */
  readonly sha256: string;
  /** The bucket's region: the AWS CLI's --region for the download. */
  readonly region: string;
}

export interface CopierDocumentArgs {
  /** What the document does, shown in the SSM console. */
  readonly description: string;
  /** The copier's bundle to run. */
  readonly copier: CopierLocation;
  /** Environment variables exported before the copier runs; values are plain text. */
  readonly environment: Readonly<Record<string, string>>;
  /** The document's parameters. */
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  /** The copier's arguments; `{{name}}` references a parameter. Each is single-quoted. */
  readonly arguments: readonly string[];
  /**
   * Flags appended after `arguments` when a `true`/`false` parameter is `true`, e.g.
   * { parameter: "dryRun", flag: "--dry-run" }. Default: none.
   */
  readonly switches?: readonly DocumentSwitch[];
  /**
   * Flags with a value appended after the switches when an optional parameter is not empty, e.g.
   * { parameter: "pushedAt", flag: "--pushed-at" } passes `--pushed-at VALUE`. Default: none.
   */
  readonly options?: readonly DocumentOption[];
  /** How long one run may take before SSM stops it. */
  readonly timeoutSeconds: number;
  /** The step's name. */
  readonly stepName: string;
}

/** A flag the command passes to the copier only when a boolean-like parameter is "true". */
export interface DocumentSwitch {
  /** A declared parameter whose allowedPattern admits only "true" and "false". */
  readonly parameter: string;
  /** The flag to pass, e.g. "--dry-run". */
  readonly flag: string;
}

/** A flag and its value that the command passes to the copier only when an optional parameter is given. */
export interface DocumentOption {
  /** A declared parameter with default "" (not given: the flag is left out). */
  readonly parameter: string;
  /** The flag to pass before the value, e.g. "--pushed-at". */
  readonly flag: string;
}

/**
 * SSM's limit on a document's content: "Maximum size of 64 KB"
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html, Content).
 */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** How long one copy may run (a large multi-platform image over a slow link). */
export const SYNC_TIMEOUT_SECONDS = 3600;
/**
 * How long one reconcile may run: every tag of every mapping, copying what is missing. The first
 * run after an outage can copy many images; a run that outlives this is stopped, reported as
 * TimedOut, and the next run continues where it stopped (copies already made are "unchanged").
 */
export const RECONCILE_TIMEOUT_SECONDS = 4 * 3600;
/** The allowedPattern of a parameter that is a switch: exactly "true" or "false". */
export const BOOLEAN_PATTERN = "^(true|false)$";
/** The sync document's pushedAt: empty (the default: no push time known) or an ISO-8601 UTC time. */
export const OPTIONAL_TIMESTAMP_PATTERN = `^(?:${UTC_TIMESTAMP})?$`;
/** The reconcile document's parameter names. */
export const RECONCILE_PARAMETERS = { dryRun: "dryRun" } as const;

/**
 * Where the worker keeps the copier's bundles it fetched, one file per sha256 (root's own, 0755):
 * under /var/lib, which survives a reboot, so only the first command after a deploy downloads.
 */
export const COPIER_CACHE_DIR = "/var/lib/ecr-sync/copier";
/**
 * The document's line that names the cache folder. The tests and the twin run the command in the
 * worker's root, which is read-only, and replace this one line with a folder of their own.
 */
export const copierCacheLine = (dir: string): string => `ecr_sync_cache=${shellQuote(dir)}`;
/** How old (minutes) a download left by a command that was killed mid-way must be before one is cleared. */
const STALE_DOWNLOAD_MINUTES = 60;

const ENVIRONMENT_NAME = /^[A-Z_][A-Z0-9_]*$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}/g;

/** Quotes a value for POSIX sh: single quotes, an embedded `'` as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Throws if `text` contains `{{`, which SSM would try to interpolate. */
function refuseInterpolation(text: string, where: string): void {
  const lines = text.split("\n");
  const index = lines.findIndex((line) => line.includes("{{"));
  if (index >= 0) {
    throw new Error(
      `${where} line ${index + 1} contains "{{", which SSM Run Command would interpolate as a document parameter before the shell runs: ` +
        `${JSON.stringify(lines[index].trim())}. Rewrite it without "{{" (e.g. split the braces: "{""{").`,
    );
  }
}

/** The copier's location, checked: a bucket name S3 accepts, a sha256 in hex, a region name. */
function checkedCopier(copier: CopierLocation): CopierLocation & { key: string } {
  const bucket = requireBucketName("copier.bucket", copier?.bucket);
  const key = copierObjectKey(copier?.sha256);
  if (!isRegion(copier?.region))
    throw new Error(
      `copier.region: ${JSON.stringify(copier?.region)} is not an AWS region name (e.g. us-east-1)`,
    );
  return { bucket, sha256: copier.sha256, region: copier.region, key };
}

/**
 * The lines that leave "$ecr_sync_copier" naming a file whose sha256 is `copier.sha256`, or stop
 * the command (exit 1, the reason on stderr) before anything of the copier runs.
 *
 * A kept copy (COPIER_CACHE_DIR/<sha256>.cjs) is used when its bytes still have that hash. Else the
 * bundle is downloaded with the AWS CLI (`aws s3 cp`, the instance profile's credentials) into a
 * new temporary file in the same folder, its hash checked, and the file renamed into place: two
 * commands that start together after a deploy each download their own file and each rename a
 * checked one, so the kept copy is always whole and right. The file about to run is hashed once
 * more just before it runs. The folder is refused unless it is root's own with mode 0755 (nobody
 * else can replace a file between the check and the run).
 */
export function fetchCopier(copier: CopierLocation): string[] {
  const c = checkedCopier(copier);
  const source = `s3://${c.bucket}/${c.key}`;
  return [
    copierCacheLine(COPIER_CACHE_DIR),
    `ecr_sync_sha256='${c.sha256}'`,
    `ecr_sync_source='${source}'`,
    'ecr_sync_copier="$ecr_sync_cache/$ecr_sync_sha256.cjs"',
    `ecr_sync_refuse() { printf 'ecr-sync: %s; the copier was not run\\n' "$1" >&2; exit 1; }`,
    `ecr_sync_sha256_of() { ecr_sync_sum="$(sha256sum < "$1")" || return 1; printf '%s' "\${ecr_sync_sum%% *}"; }`,
    'if [ ! -f "$ecr_sync_copier" ] || [ "$(ecr_sync_sha256_of "$ecr_sync_copier")" != "$ecr_sync_sha256" ]; then',
    '  install -d -m 0755 "$ecr_sync_cache" || ecr_sync_refuse "cannot make $ecr_sync_cache"',
    `  find "$ecr_sync_cache" -maxdepth 1 -name '.download.*' -mmin +${STALE_DOWNLOAD_MINUTES} -delete 2>/dev/null || true`,
    '  ecr_sync_download="$(mktemp "$ecr_sync_cache/.download.XXXXXXXXXX")" || ecr_sync_refuse "cannot write to $ecr_sync_cache"',
    `  trap 'rm -f "$ecr_sync_download"' EXIT`,
    `  aws s3 cp --region '${c.region}' --only-show-errors "$ecr_sync_source" "$ecr_sync_download" >&2 || ecr_sync_refuse "downloading $ecr_sync_source failed (the AWS CLI says why, above)"`,
    '  ecr_sync_got="$(ecr_sync_sha256_of "$ecr_sync_download")" || ecr_sync_refuse "cannot read the download of $ecr_sync_source"',
    '  [ "$ecr_sync_got" = "$ecr_sync_sha256" ] || ecr_sync_refuse "$ecr_sync_source has sha256 $ecr_sync_got, not the $ecr_sync_sha256 this document names: it was changed after the deploy; deploy the css stack again (pulumi up) to upload the copier anew"',
    '  chmod 0644 "$ecr_sync_download" || ecr_sync_refuse "cannot keep the copier at $ecr_sync_copier"',
    '  mv -f "$ecr_sync_download" "$ecr_sync_copier" || ecr_sync_refuse "cannot keep the copier at $ecr_sync_copier"',
    "fi",
    `[ "$(stat -c '%u %a' "$ecr_sync_cache")" = '0 755' ] || ecr_sync_refuse "$ecr_sync_cache is not root's own with mode 0755"`,
    'ecr_sync_got="$(ecr_sync_sha256_of "$ecr_sync_copier")" || ecr_sync_refuse "cannot read $ecr_sync_copier"',
    '[ "$ecr_sync_got" = "$ecr_sync_sha256" ] || ecr_sync_refuse "$ecr_sync_copier has sha256 $ecr_sync_got, not $ecr_sync_sha256"',
  ];
}

/**
 * Builds a Command document that fetches the copier (fetchCopier), exports its environment and
 * runs it with the worker's node: `exec node FILE ARGUMENTS...`, so the copier's exit code is the
 * command's.
 */
export function buildCopierDocument(a: CopierDocumentArgs): CommandDocument {
  const fetchLines = fetchCopier(a.copier);
  for (const [name, value] of Object.entries(a.environment)) {
    if (!ENVIRONMENT_NAME.test(name))
      throw new Error(`environment variable name ${JSON.stringify(name)} is not UPPER_SNAKE_CASE`);
    if (value.includes("\n"))
      throw new Error(
        `environment variable ${name}: the value must be one line, got ${JSON.stringify(value)}`,
      );
    refuseInterpolation(value, `environment variable ${name}`);
  }
  for (const argument of a.arguments) {
    if (argument.includes("\n")) throw new Error(`argument ${JSON.stringify(argument)}: must be one line`);
    for (const [, parameter] of argument.matchAll(PLACEHOLDER)) {
      if (!(parameter in a.parameters)) {
        throw new Error(
          `argument ${JSON.stringify(argument)} references {{${parameter}}}, which the document does not declare`,
        );
      }
    }
  }

  const switches = a.switches ?? [];
  for (const s of switches) {
    const declared = a.parameters[s.parameter];
    if (declared === undefined)
      throw new Error(
        `switch ${JSON.stringify(s.flag)} reads {{${s.parameter}}}, which the document does not declare`,
      );
    if (declared.allowedPattern !== BOOLEAN_PATTERN) {
      throw new Error(
        `switch ${JSON.stringify(s.flag)}: parameter ${s.parameter} must have allowedPattern ${BOOLEAN_PATTERN}, got ${declared.allowedPattern}`,
      );
    }
    if (!/^--[a-z][a-z0-9-]*$/.test(s.flag))
      throw new Error(`switch flag ${JSON.stringify(s.flag)} is not a long option (--name)`);
  }
  const options = a.options ?? [];
  for (const o of options) {
    const declared = a.parameters[o.parameter];
    if (declared === undefined)
      throw new Error(
        `option ${JSON.stringify(o.flag)} reads {{${o.parameter}}}, which the document does not declare`,
      );
    if (declared.default !== "")
      throw new Error(
        `option ${JSON.stringify(o.flag)}: parameter ${o.parameter} must default to "" (left out when not given), got ${JSON.stringify(declared.default)}`,
      );
    if (new RegExp(declared.allowedPattern).test("'"))
      throw new Error(
        `option ${JSON.stringify(o.flag)}: the allowedPattern of ${o.parameter} admits a quote, which would break out of the command line`,
      );
    if (!/^--[a-z][a-z0-9-]*$/.test(o.flag))
      throw new Error(`option flag ${JSON.stringify(o.flag)} is not a long option (--name)`);
  }
  // With switches or options, the flags are collected in the positional parameters ("$@"), which
  // keeps each one a single word and adds nothing when the parameter is "false" or empty.
  const flagLines =
    switches.length + options.length === 0
      ? []
      : [
          "set --",
          ...switches.map(
            (s) => `if [ '{{${s.parameter}}}' = 'true' ]; then set -- "$@" ${shellQuote(s.flag)}; fi`,
          ),
          ...options.map(
            (o) =>
              `if [ -n '{{${o.parameter}}}' ]; then set -- "$@" ${shellQuote(o.flag)} '{{${o.parameter}}}'; fi`,
          ),
        ];
  const runCommand = [
    "set -eu",
    ...fetchLines,
    ...Object.entries(a.environment).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    ...flagLines,
    `exec node "$ecr_sync_copier" ${a.arguments.map(shellQuote).join(" ")}${flagLines.length === 0 ? "" : ' "$@"'}`,
  ];
  for (const line of runCommand.slice(0, 1 + fetchLines.length)) refuseInterpolation(line, "the fetch");

  const document: CommandDocument = {
    schemaVersion: "2.2",
    description: a.description,
    parameters: a.parameters,
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: a.stepName,
        precondition: { StringEquals: ["platformType", "Linux"] },
        inputs: { timeoutSeconds: a.timeoutSeconds, runCommand },
      },
    ],
  };
  const bytes = Buffer.byteLength(JSON.stringify(document));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new Error(
      `the document "${a.stepName}" is ${bytes} bytes; SSM accepts at most ${MAX_DOCUMENT_BYTES}. Shorten its environment or parameters.`,
    );
  }
  return document;
}

/** The sync document's parameters, as strict as ECR's own naming rules. */
export function syncDocumentParameters(): Record<string, DocumentParameter> {
  return {
    [SYNC_PARAMETERS.sourceRepository]: {
      type: "String",
      description: "The repository in the source (css) registry that received the push.",
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: REPOSITORY_NAME_MIN_LENGTH,
      maxChars: REPOSITORY_NAME_MAX_LENGTH,
    },
    [SYNC_PARAMETERS.targetRepository]: {
      type: "String",
      description: "The repository in the target (legacy) registry to copy the image into.",
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: REPOSITORY_NAME_MIN_LENGTH,
      maxChars: REPOSITORY_NAME_MAX_LENGTH,
    },
    [SYNC_PARAMETERS.tag]: {
      type: "String",
      description: "The image tag to copy.",
      allowedPattern: IMAGE_TAG_PATTERN,
      minChars: 1,
      maxChars: 128,
    },
    [SYNC_PARAMETERS.digest]: {
      type: "String",
      description:
        "The digest the tag pointed to when it was pushed. If the tag names another digest now, that one is copied (superseded) and this one is never written.",
      allowedPattern: IMAGE_DIGEST_PATTERN,
      minChars: 71,
      maxChars: 71,
    },
    [SYNC_PARAMETERS.pushedAt]: {
      type: "String",
      description:
        'When ECR finished the push (the event\'s time, ISO-8601 UTC), for the latency on the result line. Default "": copied all the same, without a latency.',
      allowedPattern: OPTIONAL_TIMESTAMP_PATTERN,
      maxChars: 30,
      default: "",
    },
  };
}

/** The environment the copier reads (see its --help). */
export interface SyncEnvironment {
  /** `<css-account>.dkr.ecr.<region>.amazonaws.com` */
  readonly sourceRegistry: string;
  /** `<legacy-account>.dkr.ecr.<region>.amazonaws.com` */
  readonly targetRegistry: string;
  readonly targetRoleArn: string;
  readonly region: string;
  /** Source → target repository names. */
  readonly repositories: Readonly<Record<string, string>>;
  /** The log group the copier writes each result line to, one per event (common/telemetry.ts). */
  readonly resultsLogGroup: string;
  /** Whether an image's referrers travel with it (`ecr-sync:copyReferrers`). */
  readonly copyReferrers: boolean;
}

/** The variables, by name, that the document exports for the copier. */
export function syncEnvironment(e: SyncEnvironment): Record<string, string> {
  return {
    ECR_SYNC_SOURCE_REGISTRY: e.sourceRegistry,
    ECR_SYNC_TARGET_REGISTRY: e.targetRegistry,
    ECR_SYNC_TARGET_ROLE_ARN: e.targetRoleArn,
    ECR_SYNC_REGION: e.region,
    ECR_SYNC_REPOSITORY_MAP: JSON.stringify(e.repositories),
    ECR_SYNC_TLS_VERIFY: "true",
    ECR_SYNC_COPY_REFERRERS: String(e.copyReferrers),
    [RESULTS_LOG_GROUP_ENV]: e.resultsLogGroup,
  };
}

/** The document the push trigger sends: the copier's `copy` for one pushed tag. */
export function buildSyncDocument(a: {
  copier: CopierLocation;
  environment: SyncEnvironment;
}): CommandDocument {
  const p = SYNC_PARAMETERS;
  return buildCopierDocument({
    description:
      "Copies one pushed image (tag and digest) from the css ECR repository to its mapped legacy repository with the ecr-sync copier.",
    copier: a.copier,
    environment: syncEnvironment(a.environment),
    parameters: syncDocumentParameters(),
    arguments: [
      "copy",
      "--source-repository",
      `{{${p.sourceRepository}}}`,
      "--target-repository",
      `{{${p.targetRepository}}}`,
      "--tag",
      `{{${p.tag}}}`,
      "--digest",
      `{{${p.digest}}}`,
    ],
    options: [{ parameter: p.pushedAt, flag: "--pushed-at" }],
    timeoutSeconds: SYNC_TIMEOUT_SECONDS,
    stepName: "copyImage",
  });
}

/** The reconcile document's one parameter: dryRun, "false" unless an operator asks for a plan. */
export function reconcileDocumentParameters(): Record<string, DocumentParameter> {
  return {
    [RECONCILE_PARAMETERS.dryRun]: {
      type: "String",
      description: 'true: print the plan (what would be copied) and write nothing. Default "false".',
      allowedPattern: BOOLEAN_PATTERN,
      minChars: 4,
      maxChars: 5,
      default: "false",
    },
  };
}

/**
 * The document the reconcile schedule (and an operator's backfill) sends: the copier's `reconcile`
 * over every mapping in the baked ECR_SYNC_REPOSITORY_MAP, with `--dry-run` when dryRun is "true".
 * Its environment is the sync document's plus the parallelism, which only reconcile reads.
 */
export function buildReconcileDocument(a: {
  copier: CopierLocation;
  environment: SyncEnvironment;
  /** How many missing tags it copies at a time (`ecr-sync:reconcileParallelism`, checked by the config). */
  reconcileParallelism: number;
}): CommandDocument {
  return buildCopierDocument({
    description:
      "Copies every tag of every mapped css ECR repository whose digest the legacy repository lacks (the ecr-sync copier's reconcile). dryRun=true prints the plan only.",
    copier: a.copier,
    environment: {
      ...syncEnvironment(a.environment),
      ECR_SYNC_RECONCILE_PARALLELISM: String(a.reconcileParallelism),
    },
    parameters: reconcileDocumentParameters(),
    arguments: ["reconcile"],
    switches: [{ parameter: RECONCILE_PARAMETERS.dryRun, flag: "--dry-run" }],
    timeoutSeconds: RECONCILE_TIMEOUT_SECONDS,
    stepName: "reconcile",
  });
}

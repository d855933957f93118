import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  IMAGE_DIGEST_PATTERN,
  IMAGE_TAG_PATTERN,
  REPOSITORY_NAME_MAX_LENGTH,
  REPOSITORY_NAME_MIN_LENGTH,
  REPOSITORY_NAME_PATTERN,
  UTC_TIMESTAMP,
} from "../common/naming";
import { SYNC_PARAMETERS } from "../common/ssm-command";

/**
 * The content of the SSM Command documents that run ec2-scripts/ecr-sync.sh on the worker.
 * The document carries the script itself (compressed, see scriptBlob), so a script change is a
 * document update and never an instance rebuild. Pure functions of plain values; the SourceSync
 * component only wires them.
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

export interface ScriptDocumentArgs {
  /** What the document does, shown in the SSM console. */
  readonly description: string;
  /** The text of the script to run (ec2-scripts/ecr-sync.sh), carried byte for byte. */
  readonly script: string;
  /** Where the script came from, for error messages (e.g. "ec2-scripts/ecr-sync.sh"). */
  readonly scriptPath: string;
  /** Environment variables exported before the script runs; values are plain text. */
  readonly environment: Readonly<Record<string, string>>;
  /** The document's parameters. */
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  /** The script's arguments; `{{name}}` references a parameter. Each is single-quoted. */
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

/** A flag the command passes to the script only when a boolean-like parameter is "true". */
export interface DocumentSwitch {
  /** A declared parameter whose allowedPattern admits only "true" and "false". */
  readonly parameter: string;
  /** The flag to pass, e.g. "--dry-run". */
  readonly flag: string;
}

/** A flag and its value that the command passes to the script only when an optional parameter is given. */
export interface DocumentOption {
  /** A declared parameter with default "" (not given: the flag is left out). */
  readonly parameter: string;
  /** The flag to pass before the value, e.g. "--pushed-at". */
  readonly flag: string;
}

/** The heredoc delimiter that carries the encoded script into a file on the worker. */
export const SCRIPT_DELIMITER = "ECR_SYNC_SCRIPT_END";
/** SSM's limit on a document's content. */
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

/** The width of the base64 lines that carry the script (base64's own default). */
const BLOB_LINE_WIDTH = 76;
/** The gzip header's OS byte (RFC 1952): 3, Unix, whichever system renders the document. */
const GZIP_OS_UNIX = 3;

/** The script as a document carries it: its lines and SHA-256 for the reader, and the encoded bytes. */
interface ScriptBlob {
  /** The script's line count, as `wc -l` gives it for a file that ends in a newline. */
  readonly lines: number;
  /** The SHA-256 of the script's bytes, in hex. */
  readonly sha256: string;
  /** The script's bytes, gzip (level 9) in base64, in lines of 76 characters. */
  readonly base64Lines: readonly string[];
}

/**
 * The script's exact bytes, compressed. SSM accepts at most 64 KiB per document and ecr-sync.sh
 * with its comments is about 80 KB; gzip takes it to a third of that, and since the file arrives
 * on the worker unchanged, the line numbers its ERR trap reports are exactly those of the file.
 * Base64 has neither `{{` (which SSM would interpolate) nor a line of its own that could end the
 * heredoc, so the script may contain both.
 *
 * The same script gives the same blob: gzipSync writes no file name and an mtime of 0, and the OS
 * byte, which zlib sets from the system it was built for (19 on macOS, 3 on Linux), is fixed here.
 * A zlib of another Node.js release may still compress the same text to other bytes: a document
 * diff whose comment line keeps its sha256 is that, not a script change.
 */
function scriptBlob(script: string): ScriptBlob {
  const bytes = Buffer.from(script, "utf8");
  const gzip = gzipSync(bytes, { level: 9 });
  gzip[9] = GZIP_OS_UNIX;
  const encoded = gzip.toString("base64");
  const base64Lines: string[] = [];
  for (let i = 0; i < encoded.length; i += BLOB_LINE_WIDTH)
    base64Lines.push(encoded.slice(i, i + BLOB_LINE_WIDTH));
  const newlines = bytes.filter((b) => b === 0x0a).length;
  return {
    lines: newlines + (bytes.length > 0 && !script.endsWith("\n") ? 1 : 0),
    sha256: createHash("sha256").update(bytes).digest("hex"),
    base64Lines,
  };
}

/**
 * The lines that put `script` into "$ecr_sync_dir/script.sh" on the worker: a comment naming it,
 * the blob in a heredoc, decoded, decompressed, and its SHA-256 checked. A step that finds the
 * copy damaged calls ecr_sync_damaged (defined before these lines), which stops the command
 * before any of the script runs.
 */
export function carryScript(script: string, scriptPath: string): string[] {
  const blob = scriptBlob(script);
  const damaged = (why: string) => `ecr_sync_damaged ${shellQuote(why)}`;
  return [
    `# ${scriptPath}: ${blob.lines} lines, sha256 ${blob.sha256} (gzip, base64)`,
    `base64 -d > "$ecr_sync_dir/script.sh.gz" <<'${SCRIPT_DELIMITER}' || ${damaged("base64 -d failed")}`,
    ...blob.base64Lines,
    SCRIPT_DELIMITER,
    `gzip -dc "$ecr_sync_dir/script.sh.gz" > "$ecr_sync_dir/script.sh" || ${damaged("gzip -d failed")}`,
    `[ "$(sha256sum < "$ecr_sync_dir/script.sh")" = '${blob.sha256}  -' ] || ${damaged(`its sha256 is not ${blob.sha256}`)}`,
  ];
}

/**
 * Where a document's command carries the script (carryScript's lines): `comment` is the line
 * naming it, `runCommand.slice(start, end)` the base64 lines, `after` the first line past the
 * check. Undefined for a command that carries none.
 */
export function carriedScriptRange(
  runCommand: readonly string[],
):
  | { readonly comment: number; readonly start: number; readonly end: number; readonly after: number }
  | undefined {
  const opening = runCommand.findIndex(
    (line) => line.startsWith("base64 -d ") && line.includes(`<<'${SCRIPT_DELIMITER}'`),
  );
  const end = runCommand.indexOf(SCRIPT_DELIMITER, opening + 1);
  if (opening < 1 || end < 0 || !runCommand[end + 2]?.startsWith('[ "$(sha256sum ')) return undefined;
  return { comment: opening - 1, start: opening + 1, end, after: end + 3 };
}

/** The script a document's command carries, decoded: the bytes the worker runs. */
export function carriedScript(runCommand: readonly string[]): Buffer {
  const range = carriedScriptRange(runCommand);
  if (range === undefined)
    throw new Error(`the command carries no script (no <<'${SCRIPT_DELIMITER}' heredoc)`);
  return gunzipSync(Buffer.from(runCommand.slice(range.start, range.end).join(""), "base64"));
}

/**
 * Builds a Command document that writes `script` to a temporary file and runs it. On the worker
 * the command decodes the blob, decompresses it and checks its SHA-256 before anything of the
 * script runs; a document damaged on the way fails there, naming the script.
 */
export function buildScriptDocument(a: ScriptDocumentArgs): CommandDocument {
  if (a.scriptPath.includes("\n") || a.scriptPath.includes("{{"))
    throw new Error(
      `scriptPath ${JSON.stringify(a.scriptPath)}: must be one line without "{{" (the document names it in a comment)`,
    );
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
  // A step of carryScript's that finds the carried copy damaged says so, naming the script.
  const damagedBefore = shellQuote(`${a.scriptPath}: the copy this document carries is damaged`);
  const damagedAfter = shellQuote(
    ", so it was not run; deploy the css stack again (pulumi up) to replace the document",
  );
  const runCommand = [
    "set -eu",
    'ecr_sync_dir="$(mktemp -d)"',
    `trap 'rm -rf "$ecr_sync_dir"' EXIT`,
    `ecr_sync_damaged() { printf '%s (%s)%s\\n' ${damagedBefore} "$1" ${damagedAfter} >&2; exit 1; }`,
    ...carryScript(a.script, a.scriptPath),
    ...Object.entries(a.environment).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    ...flagLines,
    `bash "$ecr_sync_dir/script.sh" ${a.arguments.map(shellQuote).join(" ")}${flagLines.length === 0 ? "" : ' "$@"'}`,
  ];

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
      `the document for ${a.scriptPath} is ${bytes} bytes; SSM accepts at most ${MAX_DOCUMENT_BYTES}. Shorten the script (it is carried gzip-compressed, so its size compressed is what counts).`,
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

/** The environment ecr-sync.sh reads (see its usage). */
export interface SyncEnvironment {
  /** `<css-account>.dkr.ecr.<region>.amazonaws.com` */
  readonly sourceRegistry: string;
  /** `<legacy-account>.dkr.ecr.<region>.amazonaws.com` */
  readonly targetRegistry: string;
  readonly targetRoleArn: string;
  readonly region: string;
  /** Source → target repository names. */
  readonly repositories: Readonly<Record<string, string>>;
}

/** The variables, by name, that the document exports for ecr-sync.sh. */
export function syncEnvironment(e: SyncEnvironment): Record<string, string> {
  return {
    ECR_SYNC_SOURCE_REGISTRY: e.sourceRegistry,
    ECR_SYNC_TARGET_REGISTRY: e.targetRegistry,
    ECR_SYNC_TARGET_ROLE_ARN: e.targetRoleArn,
    ECR_SYNC_REGION: e.region,
    ECR_SYNC_REPOSITORY_MAP: JSON.stringify(e.repositories),
    ECR_SYNC_TLS_VERIFY: "true",
  };
}

/** The document the push trigger sends: `ecr-sync.sh copy` for one pushed tag. */
export function buildSyncDocument(a: {
  script: string;
  scriptPath: string;
  environment: SyncEnvironment;
}): CommandDocument {
  const p = SYNC_PARAMETERS;
  return buildScriptDocument({
    description:
      "Copies one pushed image (tag and digest) from the css ECR repository to its mapped legacy repository with ecr-sync.sh.",
    script: a.script,
    scriptPath: a.scriptPath,
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
 * The document the reconcile schedule (and an operator's backfill) sends: `ecr-sync.sh reconcile`
 * over every mapping in the baked ECR_SYNC_REPOSITORY_MAP, with `--dry-run` when dryRun is "true".
 * Its environment is the sync document's plus the parallelism, which only reconcile reads.
 */
export function buildReconcileDocument(a: {
  script: string;
  scriptPath: string;
  environment: SyncEnvironment;
  /** How many missing tags it copies at a time (`ecr-sync:reconcileParallelism`, checked by the config). */
  reconcileParallelism: number;
}): CommandDocument {
  return buildScriptDocument({
    description:
      "Copies every tag of every mapped css ECR repository whose digest the legacy repository lacks (ecr-sync.sh reconcile). dryRun=true prints the plan only.",
    script: a.script,
    scriptPath: a.scriptPath,
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

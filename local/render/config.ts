/**
 * A stack's config as the Pulumi CLI hands it to the program, read from the same files by the same
 * rules, so that synth, the tests and `pulumi up` see the same keys and values. The rules, from the
 * CLI's own source (github.com/pulumi/pulumi, read at 1b59498, August 2026):
 *
 * - A key in Pulumi.<stack>.yaml without a namespace belongs to the project: `participant:` is
 *   `ecr-sync:participant` (sdk/go/common/workspace/loaders.go, `stackConfigNamespacedWithProject`).
 *   So a mapping line indented as a key of its own is `ecr-sync:<source repository>`, which the
 *   program refuses as a key it does not read (components/config-keys.ts).
 * - `ns:name` is kept; `ns:config:name` is the old spelling of `ns:name`; any other key stops the CLI:
 *   "could not parse … as a configuration key" (sdk/go/common/resource/config/key.go, `ParseKey`).
 * - A value reaches the program as text: a string as written, a number or boolean as its JSON text,
 *   a list or map as JSON (sdk/go/common/resource/config/object.go, `MarshalString`). The CLI decodes
 *   YAML with gopkg.in/yaml.v3 (sdk/go/common/encoding/marshal.go), which reads an unquoted `0123` as
 *   the octal 83; this renderer's YAML 1.2 reads 123. Both lose the zero, so such a number is refused.
 * - Pulumi.yaml: a key without a namespace is the project's; a key the stack file does not set takes
 *   its `value` or `default` (a number as its digits); a project key with neither is missing, and a
 *   typed key's stack value must have its type (pkg/workspace/config.go, `mergeConfig`,
 *   `validateStackConfigValue`; sdk/go/common/workspace/project.go, `ValidateConfigValue`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Document, isMap, isScalar, isSeq, LineCounter, Node, parseDocument } from "yaml";
import { StackConfig } from "./types";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");
/** The organization a self-managed backend uses in stack names (organization/project/stack). */
export const ORGANIZATION = "organization";

/** A stack file (or Pulumi.yaml) that the Pulumi CLI would refuse or misread; every problem at once. */
export class StackFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file} is refused:\n  - ${problems.join("\n  - ")}`);
    this.name = "StackFileError";
  }
}

/** The value as the program receives it (object.go `MarshalString`). */
function configText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A YAML file's document, or a StackFileError naming the file and every syntax error's line and column. */
function readYaml(file: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(fs.readFileSync(file, "utf8"), { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new StackFileError(
      path.basename(file),
      doc.errors.map((e) => `not valid YAML: ${e.message.trim()}`),
    );
  }
  return { doc, lines };
}

interface ProjectFile {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

function readProject(root: string): ProjectFile {
  const file = path.join(root, "Pulumi.yaml");
  const project = readYaml(file).doc.toJS() as { name?: unknown; config?: Record<string, unknown> } | null;
  if (typeof project?.name !== "string") throw new StackFileError("Pulumi.yaml", ["it has no project name"]);
  return { name: project.name, config: project.config ?? {} };
}

/** The project's name from Pulumi.yaml. */
export function projectName(root = PROJECT_ROOT): string {
  return readProject(root).name;
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
 * A config key as the CLI reads it from `project`'s files (loaders.go, key.go): `undefined` for a
 * key it refuses.
 */
export function qualifiedConfigKey(key: string, project: string): string | undefined {
  const parts = key.split(":");
  if (parts.length === 1) return `${project}:${key}`;
  if (parts.length === 2 && parts[0] !== "") return key;
  if (parts.length === 3 && parts[1] === "config" && parts[0] !== "") return `${parts[0]}:${parts[2]}`;
  return undefined;
}

/** A number written with a leading zero (0123, -012), which YAML reads as another number. */
function leadingZeroProblems(node: unknown, where: string, at: (node: Node) => string): string[] {
  if (isScalar(node)) {
    const written = node.source;
    if (typeof node.value === "number" && node.type === "PLAIN" && /^[-+]?0[0-9]/.test(String(written))) {
      return [
        `${where} is ${written} without quotes (${at(node)}): YAML reads a number with a leading zero as another number ` +
          `(${String(node.value)} here; the Pulumi CLI's YAML even reads 0123 as octal, 83), so the zero is lost; ` +
          `quote it: "${written}"`,
      ];
    }
    return [];
  }
  if (isSeq(node)) return node.items.flatMap((item, i) => leadingZeroProblems(item, `${where}[${i}]`, at));
  if (isMap(node)) {
    return node.items.flatMap((pair) =>
      leadingZeroProblems(
        pair.value,
        `${where}.${String(isScalar(pair.key) ? pair.key.value : pair.key)}`,
        at,
      ),
    );
  }
  return [];
}

/** Pulumi.yaml's `type:` of a config key, checked as the CLI checks it (project.go `ValidateConfigValue`). */
function hasDeclaredType(type: string, items: { type?: unknown } | undefined, content: unknown): boolean {
  switch (type) {
    case "string":
      return typeof content === "string";
    case "integer":
      return typeof content === "string"
        ? /^[-+]?\d+$/.test(content)
        : typeof content === "number" && Number.isInteger(content);
    case "boolean":
      return content === "true" || content === "false" || typeof content === "boolean";
    case "object":
      return content !== null && typeof content === "object" && !Array.isArray(content);
    case "array":
      return (
        Array.isArray(content) &&
        typeof items?.type === "string" &&
        content.every((item) => hasDeclaredType(items.type as string, undefined, item))
      );
    default:
      return false;
  }
}

/**
 * The config a stack's program sees: Pulumi.yaml's declared values and defaults, overlaid by
 * Pulumi.<stack>.yaml, overlaid by `overrides` ("namespace:key" → value, `null` removes the key;
 * the values a test wants the program to receive, not checked here). Refuses, with a
 * StackFileError naming the file and every problem, what the CLI would refuse (a key it cannot
 * parse, a missing required key, a value of the wrong declared type) or misread (a key set twice
 * under two spellings, a number with a leading zero).
 */
export function readStackConfig(
  stack: string,
  overrides: Record<string, unknown> = {},
  root = PROJECT_ROOT,
): StackConfig {
  const fileName = `Pulumi.${stack}.yaml`;
  const stackFile = path.join(root, fileName);
  if (!fs.existsSync(stackFile)) {
    throw new Error(
      `unknown stack ${JSON.stringify(stack)}: there is no ${fileName} (stacks: ${stackNames(root).join(", ")})`,
    );
  }
  const project = readProject(root);
  const { doc, lines } = readYaml(stackFile);
  const at = (node: Node) => {
    const { line, col } = lines.linePos(node.range?.[0] ?? 0);
    return `line ${line}, column ${col}`;
  };
  const problems: string[] = [];
  const config: StackConfig = {};
  /** Each key the stack file sets: as written there, and its value as decoded. */
  const writtenAs = new Map<string, string>();
  const decoded = new Map<string, unknown>();
  if (doc.get("environment") !== undefined) {
    problems.push(
      "it imports Pulumi ESC environments (environment:), whose values only the Pulumi CLI can fetch, so synth " +
        "would render without them: set the values in the stack file, or check this stack with pulumi preview",
    );
  }
  const configNode = doc.get("config", true);
  if (configNode !== undefined && configNode !== null && !isMap(configNode)) {
    problems.push(`config is not a map of keys to values (${at(configNode as Node)})`);
  }
  for (const pair of isMap(configNode) ? configNode.items : []) {
    const written = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const where = at(pair.key as Node);
    const key = qualifiedConfigKey(written, project.name);
    if (key === undefined) {
      problems.push(
        `${written} (${where}) is not a config key the Pulumi CLI can read ("could not parse ${written} as a configuration key"): ` +
          `write namespace:key, e.g. ${project.name}:participant or aws:region`,
      );
      continue;
    }
    const earlier = writtenAs.get(key);
    if (earlier !== undefined) {
      problems.push(
        `${key} is set twice, as ${earlier} and as ${written} (${where}), and the Pulumi CLI keeps either one: remove one of them`,
      );
      continue;
    }
    writtenAs.set(key, written);
    problems.push(...leadingZeroProblems(pair.value, key, at));
    const value: unknown = pair.value === null ? null : (pair.value as Node).toJS(doc);
    // `pulumi config set --secret` writes `key: {secure: v1:…}`, which only the CLI can decrypt
    // (with the stack's secrets provider): the renderer cannot know the value.
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      problems.push(
        `${key} is a secret (secure: in ${where}), which synth, the tests and npm run status cannot decrypt: nothing this program reads is secret, so set it in plain text (pulumi config set ${key} VALUE -s ${stack})`,
      );
      continue;
    }
    decoded.set(key, value);
    config[key] = configText(value);
  }

  const missing: string[] = [];
  for (const [declared, declaration] of Object.entries(project.config)) {
    const key = qualifiedConfigKey(declared, project.name);
    if (key === undefined)
      throw new StackFileError("Pulumi.yaml", [`config key ${declared} cannot be parsed`]);
    const d: { type?: unknown; items?: { type?: unknown }; default?: unknown; value?: unknown } =
      declaration !== null && typeof declaration === "object" && !Array.isArray(declaration)
        ? declaration
        : { value: declaration };
    if (key in config) {
      if (typeof d.type === "string" && decoded.has(key)) {
        // The CLI checks the text the program gets, or the structure for a list or a map.
        const value = decoded.get(key);
        const content = value !== null && typeof value === "object" ? value : config[key];
        if (!hasDeclaredType(d.type, d.items, content)) {
          problems.push(
            `${key} is ${JSON.stringify(config[key])}, but Pulumi.yaml declares it ${d.type === "integer" ? "an" : "a"} ${d.type}; ` +
              `the Pulumi CLI refuses it ("Stack '${stack}' with configuration key '${declared}' must be of type '${d.type}'")`,
          );
        }
      }
      continue;
    }
    const given = d.value !== undefined ? d.value : d.default;
    if (given !== undefined && given !== null) config[key] = configText(given);
    else if (key.startsWith(`${project.name}:`)) missing.push(key);
  }
  if (missing.length > 0) {
    problems.push(
      `it lacks ${missing.join(", ")}, which Pulumi.yaml declares without a default, so the Pulumi CLI refuses the stack ` +
        `("Stack '${stack}' is missing configuration value${missing.length > 1 ? "s" : ""}"): set ${missing.length > 1 ? "them" : "it"} in ${fileName}`,
    );
  }
  if (problems.length > 0) throw new StackFileError(fileName, problems);

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

/** One stack file's side of a pair, as read; `undefined` when the file cannot be read. */
function pairSide(stack: string, root: string): StackConfig | undefined {
  try {
    return readStackConfig(stack, {}, root);
  } catch {
    return undefined; // its own synth names what is wrong with it
  }
}

/**
 * What no single `pulumi up` can check: a target (legacy) stack and the source (css) stack its
 * sourceStack names must name the same two accounts. `pulumi up -s css` sees css's config only, so
 * a digit swapped in its targetAccountId passes there and is refused only when legacy is deployed;
 * synth has every stack file, and compares `stack` with each file paired with it. The problems,
 * each naming both files, the key and both values.
 */
export function stackPairProblems(stack: string, root = PROJECT_ROOT): string[] {
  const ns = projectName(root);
  const config = (s: string) => (s === stack ? readStackConfig(stack, {}, root) : pairSide(s, root));
  const referenced = (c: StackConfig) =>
    c[`${ns}:participant`] === "target" ? c[`${ns}:sourceStack`]?.split("/").pop() : undefined;
  const own = config(stack)!;
  const pairs: [string, string][] = [];
  const source = referenced(own);
  if (source !== undefined && source !== stack && stackNames(root).includes(source))
    pairs.push([source, stack]);
  for (const other of stackNames(root)) {
    const c = other === stack ? undefined : config(other);
    if (c !== undefined && referenced(c) === stack) pairs.push([stack, other]);
  }
  const problems: string[] = [];
  for (const [sourceStack, targetStack] of pairs) {
    const s = config(sourceStack);
    const t = config(targetStack);
    if (s === undefined || t === undefined) continue;
    for (const name of ["sourceAccountId", "targetAccountId"]) {
      const key = `${ns}:${name}`;
      if (s[key] !== undefined && t[key] !== undefined && s[key] !== t[key]) {
        problems.push(
          `Pulumi.${sourceStack}.yaml sets ${key} ${JSON.stringify(s[key])}, but Pulumi.${targetStack}.yaml, the target stack ` +
            `that reads ${sourceStack}, sets ${JSON.stringify(t[key])}: a pair names the same two accounts ` +
            `(pulumi up -s ${targetStack} would refuse ${sourceStack}'s outputs); fix whichever is wrong`,
        );
      }
    }
  }
  return problems;
}

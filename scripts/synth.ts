/**
 * synth: renders a stack offline (no Pulumi CLI, no cloud credentials) by running the real
 * program under Pulumi's mocks (local/render/) and prints it, for people (scripts/synth-review.ts)
 * or as JSON for tools, or prints its deploy role's policy (scripts/synth-deploy-policy.ts) or its
 * monthly cost (scripts/synth-cost.ts).
 * `usage()` is the one description of its flags and exit codes; `main()` is the command, callable
 * in this process (the tests call it so), and the script run as a command is a thin wrapper over it.
 */
import * as path from "node:path";
import {
  PROJECT_ROOT,
  readStackConfig,
  Rendering,
  renderStack,
  stackNames,
  stackPairProblems,
} from "../local/render";
import { costSection } from "./synth-cost";
import { deployPolicyOf } from "./synth-deploy-policy";
import { review } from "./synth-review";

/** A mistake in how synth was called: exit 2, with the usage. */
export class UsageError extends Error {}

/** `root`: the directory of Pulumi.yaml and the stack files (see `Context`). */
export function usage(root = PROJECT_ROOT): string {
  const stacks = stackNames(root);
  return `usage: npm run -s synth -- --stack <${stacks.join("|")}> [--json | --deploy-policy | --cost] [--compact]

Renders a stack offline: the real program under Pulumi's mocks, with the stack's real config
(Pulumi.yaml and Pulumi.<stack>.yaml). No Pulumi CLI, no cloud credentials.

  --stack NAME     the stack to render: ${stacks.join(", ")}
  --json           print one JSON object {"stack", "resources": [{"type", "name", "id", "inputs",
                   "state"}], "outputs"}, indented by 2 spaces; nothing else goes to stdout
  --deploy-policy  print the least-privilege IAM policy of the stack's deploy role as JSON, indented
                   by 2 spaces; nothing else goes to stdout. It allows what pulumi up, preview,
                   refresh and destroy call for each resource type and data source the stack renders
                   (components/deploy-permissions.ts), on the stack's own resources only
  --cost           print what the stack costs a month (Markdown), counted from what it renders and
                   priced from scripts/synth-cost.ts PRICES (each with its source and the day read);
                   docs/operations.md#cost holds the css stack's
  --compact        with --json or --deploy-policy: the JSON on one line
  -h, --help       print this and exit

Without --json or --deploy-policy: a review for people, one line per resource (type, name, what it
is for), then every resource in detail (policies, event patterns, SSM documents) and the outputs.

npm prints a banner of its own on stdout; -s (--silent) keeps it off, so that
  npm run -s synth -- --stack css --json | jq .outputs
reads JSON only (or run it without npm: npx tsx scripts/synth.ts --stack css --json).

Before rendering, it reads the stack file as the Pulumi CLI does and compares its account ids with
the stack files paired with it (a target stack and the source stack its sourceStack names).

Exit status: 0 rendered (also when the reader closes the pipe early, as head does);
1 the stack does not render (its config is refused, or disagrees with the stack paired with it) or
its deploy policy cannot be built (a resource type without permissions, a name outside the stack's);
the reason on stderr; 2 a usage error.`;
}

export interface Options {
  readonly stack: string;
  readonly json: boolean;
  readonly deployPolicy: boolean;
  readonly cost: boolean;
  readonly compact: boolean;
}

/** The options, or `undefined` for --help; the stacks are those with a stack file in `root`. */
export function parseArgs(argv: readonly string[], root = PROJECT_ROOT): Options | undefined {
  let stack: string | undefined;
  let json = false;
  let deployPolicy = false;
  let cost = false;
  let compact = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--deploy-policy") deployPolicy = true;
    else if (arg === "--cost") cost = true;
    else if (arg === "--compact") compact = true;
    else if (arg === "--stack" || arg.startsWith("--stack=")) {
      const value = arg === "--stack" ? argv[++i] : arg.slice("--stack=".length);
      if (stack !== undefined)
        throw new UsageError(`--stack is given twice (${JSON.stringify(stack)}, ${JSON.stringify(value)})`);
      if (value === undefined || value === "" || value.startsWith("-"))
        throw new UsageError("--stack needs a stack name");
      stack = value;
    } else if (arg === "--help" || arg === "-h") return undefined;
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (stack === undefined || stack === "") throw new UsageError("--stack is required");
  if (!stackNames(root).includes(stack)) {
    throw new UsageError(
      `unknown stack ${JSON.stringify(stack)}: there is no Pulumi.${stack}.yaml (stacks: ${stackNames(root).join(", ")})`,
    );
  }
  if ([json, deployPolicy, cost].filter(Boolean).length > 1)
    throw new UsageError(
      "--json prints the stack, --deploy-policy its deploy role's policy, --cost its cost: give one of them",
    );
  if (compact && !json && !deployPolicy)
    throw new UsageError("--compact shapes the JSON: use it with --json or --deploy-policy");
  return { stack, json, deployPolicy, cost, compact };
}

/** The rendering as `--json` prints it: indented by 2 spaces, or on one line. */
export function jsonText(rendering: Rendering, compact: boolean): string {
  const { stack, resources, outputs } = rendering;
  return JSON.stringify({ stack, resources, outputs }, null, compact ? undefined : 2);
}

/** Where synth reads its stack files and writes its output. */
export interface Context {
  /**
   * The directory of Pulumi.yaml and the stack files: the project's (the default), or another
   * holding other stack files (a test's broken ones). The program is always the project's
   * index.ts, and the renderer reads the project's stack files: from another directory, the stack
   * renders as the project's stack with that directory's config in place of its own, so only
   * the stack files may differ, each of its stacks must be one of the project's, and a target
   * stack's source stack renders from the project's stack file.
   */
  readonly root?: string;
  /** Writes all of `text` to stdout; resolves when it is out (or the reader has gone). */
  readonly stdout: (text: string) => Promise<void>;
  readonly stderr: (text: string) => void;
}

/** What synth prints for `options`: the review, the rendering as JSON, or the deploy policy. */
function outputText(rendering: Rendering, options: Options, root: string): string {
  if (options.json) return jsonText(rendering, options.compact);
  if (options.cost) return costSection(rendering);
  if (options.deployPolicy) {
    const policy = deployPolicyOf(rendering, readStackConfig(options.stack, {}, root));
    return JSON.stringify(policy, null, options.compact ? undefined : 2);
  }
  return review(rendering);
}

/**
 * Renders `stack` with its config as the stack files in `root` give it: the project's own as
 * renderStack renders them, another directory's as overrides of every key of the project's
 * (a key the project's stack file has and that directory's lacks is removed).
 */
function renderFrom(stack: string, root: string): Promise<Rendering> {
  if (path.resolve(root) === PROJECT_ROOT) return renderStack(stack);
  const config: Record<string, unknown> = readStackConfig(stack, {}, root);
  for (const key of Object.keys(readStackConfig(stack))) if (!(key in config)) config[key] = null;
  return renderStack(stack, { config });
}

async function synth(argv: readonly string[], context: Context, root: string): Promise<void> {
  const options = parseArgs(argv, root);
  if (options === undefined) return context.stdout(`${usage(root)}\n`);
  const disagreements = stackPairProblems(options.stack, root);
  if (disagreements.length > 0)
    throw new Error(`the stack files disagree:\n  - ${disagreements.join("\n  - ")}`);
  const rendering = await renderFrom(options.stack, root);
  await context.stdout(`${outputText(rendering, options, root)}\n`);
}

/**
 * Runs synth with the arguments `argv`: prints what they ask for, or the reason it cannot on
 * stderr (with the usage for a usage error). Resolves to the exit status: 0, 1 or 2 (see usage()).
 */
export async function main(argv: readonly string[], context: Context): Promise<number> {
  const root = context.root ?? PROJECT_ROOT;
  try {
    await synth(argv, context, root);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      context.stderr(`synth: ${message}\n\n${usage(root)}\n`);
      return 2;
    }
    context.stderr(`synth: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // A reader that stops early (| head) closes the pipe: what it wanted it has, so end quietly.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    process.stderr.write(`synth: writing stdout: ${error.message}\n`);
    process.exit(1);
  });
  void main(process.argv.slice(2), {
    stdout: (text) => new Promise((resolve) => process.stdout.write(text, () => resolve())),
    stderr: (text) => process.stderr.write(text),
  }).then((code) => {
    if (code !== 0) process.exit(code);
  });
}

/**
 * npm run synth -- --stack css|legacy [--json]
 *
 * Renders a stack offline (no Pulumi CLI, no cloud credentials) by running the real program
 * under Pulumi's mocks (local/render.ts). Without --json it prints a review: every resource,
 * the IAM policies and trust policies, the event pattern, the SSM document's parameters and
 * command, and the outputs. With --json it prints one object
 * {"stack", "resources": [{"type", "name", "id", "inputs", "state"}], "outputs"}.
 */
import { SCRIPT_DELIMITER } from "../components/document";
import { Rendering, RenderedResource, renderStack, stackNames } from "../local/render";

function usage(): string {
  return `usage: npm run synth -- --stack <${stackNames().join("|")}> [--json]`;
}

function parseArgs(argv: string[]): { stack: string; json: boolean } {
  let stack: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--stack") stack = argv[++i];
    else if (arg.startsWith("--stack=")) stack = arg.slice("--stack=".length);
    else if (arg === "--help" || arg === "-h") {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${usage()}`);
  }
  if (stack === undefined || stack === "") throw new Error(`--stack is required\n${usage()}`);
  if (!stackNames().includes(stack)) throw new Error(`unknown stack ${JSON.stringify(stack)}\n${usage()}`);
  return { stack, json };
}

const JSON_INPUTS: Record<string, string[]> = {
  "aws:iam/role:Role": ["assumeRolePolicy"],
  "aws:iam/rolePolicy:RolePolicy": ["policy"],
  "aws:cloudwatch/eventRule:EventRule": ["eventPattern"],
  "aws:sqs/queuePolicy:QueuePolicy": ["policy"],
  "aws:sns/topicPolicy:TopicPolicy": ["policy"],
};

function indent(text: string, by = "    "): string {
  return text
    .split("\n")
    .map((l) => by + l)
    .join("\n");
}

function shortInputs(r: RenderedResource): Record<string, unknown> {
  const skip = new Set([...(JSON_INPUTS[r.type] ?? []), "content", "userData", "code"]);
  return Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !skip.has(k)));
}

/** The review text for a rendered stack. */
export function review(r: Rendering): string {
  const out: string[] = [`# stack ${r.stack}: ${r.resources.length} resources`, ""];
  for (const res of r.resources) {
    out.push(`## ${res.type}  ${res.name}${res.id ? `  (id ${res.id})` : ""}`);
    const arn = res.state.arn;
    if (typeof arn === "string") out.push(`  arn: ${arn}`);
    const inputs = shortInputs(res);
    if (Object.keys(inputs).length > 0) out.push("  inputs:", indent(JSON.stringify(inputs, null, 2)));
    for (const key of JSON_INPUTS[res.type] ?? []) {
      const text = res.inputs[key];
      if (typeof text === "string") out.push(`  ${key}:`, indent(JSON.stringify(JSON.parse(text), null, 2)));
    }
    if (res.type === "aws:ssm/document:Document" && typeof res.inputs.content === "string") {
      const doc = JSON.parse(res.inputs.content) as {
        parameters: unknown;
        mainSteps: { inputs: { runCommand: string[] } }[];
      };
      out.push("  document parameters:", indent(JSON.stringify(doc.parameters, null, 2)));
      const lines = doc.mainSteps[0].inputs.runCommand;
      const start = lines.findIndex((l) => l.startsWith("cat > "));
      const end = lines.lastIndexOf(SCRIPT_DELIMITER);
      const shown =
        start >= 0 && end > start
          ? [
              ...lines.slice(0, start + 1),
              `  … ${end - start - 1} lines of the script …`,
              ...lines.slice(end),
            ]
          : lines;
      out.push("  document command:", indent(shown.join("\n")));
    }
    if (res.type === "aws:scheduler/schedule:Schedule") {
      const target = res.inputs.target as { input?: unknown } | undefined;
      if (typeof target?.input === "string")
        out.push("  target input:", indent(JSON.stringify(JSON.parse(target.input), null, 2)));
    }
    if (typeof res.inputs.userData === "string")
      out.push("  userData:", indent(res.inputs.userData.trimEnd()));
    if (res.inputs.code !== undefined) out.push(`  code: ${JSON.stringify(res.inputs.code)}`);
    out.push("");
  }
  out.push("# outputs", indent(JSON.stringify(r.outputs, null, 2), "  "));
  return out.join("\n");
}

async function main(): Promise<void> {
  const { stack, json } = parseArgs(process.argv.slice(2));
  const rendering = await renderStack(stack);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ stack: rendering.stack, resources: rendering.resources, outputs: rendering.outputs })}\n`,
    );
  } else {
    process.stdout.write(`${review(rendering)}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`synth: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

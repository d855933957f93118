/**
 * synth's human form: the overview (one line per resource), then every resource in detail: its
 * ARN and inputs, the IAM policies and trust policies, the event patterns, the SSM documents'
 * parameters and command (the encoded script cut to one line), the schedule's input, and the outputs.
 */
import { RenderedResource, Rendering } from "../local/render";
import { overview } from "./synth-overview";

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

/** The SSM document's parameters and command. */
function documentDetails(content: string): string[] {
  const doc = JSON.parse(content) as {
    parameters: unknown;
    mainSteps: { inputs: { runCommand: string[] } }[];
  };
  return [
    "  document parameters:",
    indent(JSON.stringify(doc.parameters, null, 2)),
    "  document command:",
    indent(doc.mainSteps[0].inputs.runCommand.join("\n")),
  ];
}

function details(res: RenderedResource): string[] {
  const out = [`## ${res.type}  ${res.name}${res.id ? `  (id ${res.id})` : ""}`];
  const arn = res.state.arn;
  if (typeof arn === "string") out.push(`  arn: ${arn}`);
  const inputs = shortInputs(res);
  if (Object.keys(inputs).length > 0) out.push("  inputs:", indent(JSON.stringify(inputs, null, 2)));
  for (const key of JSON_INPUTS[res.type] ?? []) {
    const text = res.inputs[key];
    if (typeof text === "string") out.push(`  ${key}:`, indent(JSON.stringify(JSON.parse(text), null, 2)));
  }
  if (res.type === "aws:ssm/document:Document" && typeof res.inputs.content === "string") {
    out.push(...documentDetails(res.inputs.content));
  }
  if (res.type === "aws:scheduler/schedule:Schedule") {
    const target = res.inputs.target as { input?: unknown } | undefined;
    if (typeof target?.input === "string")
      out.push("  target input:", indent(JSON.stringify(JSON.parse(target.input), null, 2)));
  }
  if (typeof res.inputs.userData === "string") out.push("  userData:", indent(res.inputs.userData.trimEnd()));
  if (res.inputs.code !== undefined) out.push(`  code: ${JSON.stringify(res.inputs.code)}`);
  return out;
}

/** The review text for a rendered stack. */
export function review(r: Rendering): string {
  const out: string[] = [`# stack ${r.stack}: ${r.resources.length} resources`, "", overview(r), ""];
  for (const res of r.resources) out.push(...details(res), "");
  out.push("# outputs", indent(JSON.stringify(r.outputs, null, 2), "  "));
  return out.join("\n");
}

/**
 * Rendering a stack in a child process (the Pulumi runtime is process-global, so each stack gets
 * its own). A target stack's StackReference is fed with the outputs of the stack it names,
 * rendered first; a chain of such references that comes back to a stack already being rendered
 * is refused, naming the chain and the key to fix, before anything recurses.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT, projectName, readStackConfig } from "./config";
import { RenderOptions, RenderRequest, Rendering, StackConfig } from "./types";

const CHILD_MAIN = path.join(__dirname, "child-main.ts");

/** The local stack a StackReference name points at: its last segment (organization/ecr-sync/css → css). */
export function localStackOf(reference: string): string {
  return reference.split("/").pop() ?? reference;
}

/**
 * Renders `stack` in a child process. A target stack's StackReference is fed with the outputs of
 * the stack it names, rendered first (or `options.sourceOutputs`). Rejects with the program's
 * error message if it fails.
 */
export function renderStack(stack: string, options: RenderOptions = {}): Promise<Rendering> {
  return renderInChain(stack, options, []);
}

/** `chain`: the stacks whose rendering waits for this one, outermost first. */
async function renderInChain(stack: string, options: RenderOptions, chain: readonly string[]) {
  const config = readStackConfig(stack, options.config ?? {});
  const stackReferences = await stackReferencesFor(stack, config, options.sourceOutputs, chain);
  return runChild({ stack, config, stackReferences });
}

/**
 * The outputs the program's StackReference reads when it renders `stack` with `config`: none for
 * a source stack; for a target stack, `sourceOutputs` or the rendered outputs of the stack its
 * `sourceStack` names. Throws if that stack is `stack` itself or one of `chain`.
 */
export async function stackReferencesFor(
  stack: string,
  config: StackConfig,
  sourceOutputs?: Record<string, unknown>,
  chain: readonly string[] = [],
): Promise<Record<string, Record<string, unknown>>> {
  const namespace = projectName();
  const reference = config[`${namespace}:sourceStack`];
  if (config[`${namespace}:participant`] !== "target" || reference === undefined) return {};
  if (sourceOutputs !== undefined) return { [reference]: sourceOutputs };
  const referenced = localStackOf(reference);
  const rendering = [...chain, stack];
  if (rendering.includes(referenced)) {
    const cycle = [...rendering.slice(rendering.indexOf(referenced)), referenced].join(" → ");
    throw new Error(
      `stack reference cycle ${cycle}: stack ${stack} is participant target, so it reads the stack its ` +
        `${namespace}:sourceStack names (${JSON.stringify(reference)}), and that stack is already being rendered; ` +
        `in Pulumi.${stack}.yaml set ${namespace}:sourceStack to the css (source) stack, or ${namespace}:participant to source if this is the css stack`,
    );
  }
  return { [reference]: await referencedStackOutputs(referenced, rendering) };
}

/**
 * The outputs of a referenced stack rendered with its own, unchanged config: rendered once per
 * process and reused (the stack files do not change while a process runs), so a series of target
 * renders does not pay for the same source render each time.
 */
const referencedRenders = new Map<string, Promise<Record<string, unknown>>>();
function referencedStackOutputs(stack: string, chain: readonly string[]): Promise<Record<string, unknown>> {
  let outputs = referencedRenders.get(stack);
  if (outputs === undefined) {
    outputs = renderInChain(stack, {}, chain).then((r) => r.outputs);
    // A failed render is not cached: the next caller sees the error afresh.
    outputs.catch(() => referencedRenders.delete(stack));
    referencedRenders.set(stack, outputs);
  }
  return outputs;
}

async function runChild(request: RenderRequest): Promise<Rendering> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-render-"));
  try {
    const requestFile = path.join(dir, "request.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD_MAIN, requestFile, resultFile], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.once("error", reject);
      child.once("close", (exitCode) => resolve({ code: exitCode, stderr: err }));
    });
    if (fs.existsSync(resultFile)) {
      const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as {
        rendering?: Rendering;
        error?: string;
      };
      if (result.error !== undefined) throw new Error(`stack ${request.stack}: ${result.error}`);
      if (result.rendering !== undefined && code === 0) return result.rendering;
    }
    throw new Error(`rendering stack ${request.stack} failed (exit ${code}):\n${stderr.trim()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

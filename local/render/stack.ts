/**
 * Rendering a stack: its config read as the CLI reads it, then the program run in this process
 * (in-process.ts), once per distinct request: the same stack with the same config and references
 * renders once per process and every caller gets its own copy. A target stack's StackReference is
 * fed with the outputs of the stack it names, rendered first; a chain of such references that
 * comes back to a stack already being rendered is refused, naming the chain and the key to fix,
 * before anything recurses.
 */
import { projectName, readStackConfig } from "./config";
import { renderInThisProcess } from "./in-process";
import { RenderOptions, RenderRequest, Rendering, StackConfig } from "./types";

/** The local stack a StackReference name points at: its last segment (organization/ecr-sync/css → css). */
export function localStackOf(reference: string): string {
  return reference.split("/").pop() ?? reference;
}

/**
 * Renders `stack`. A target stack's StackReference is fed with the outputs of the stack it names,
 * rendered first (or `options.sourceOutputs`). Rejects with the program's error message if it
 * fails. The result is the caller's own: changing it changes no other caller's.
 */
export function renderStack(stack: string, options: RenderOptions = {}): Promise<Rendering> {
  return renderInChain(stack, options, []);
}

/** `chain`: the stacks whose rendering waits for this one, outermost first. */
async function renderInChain(stack: string, options: RenderOptions, chain: readonly string[]) {
  const config = readStackConfig(stack, options.config ?? {});
  const stackReferences = await stackReferencesFor(stack, config, options.sourceOutputs, chain);
  return renderOnce({ stack, config, stackReferences });
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

/** The outputs of a referenced stack rendered with its own, unchanged config. */
async function referencedStackOutputs(
  stack: string,
  chain: readonly string[],
): Promise<Record<string, unknown>> {
  return (await renderInChain(stack, {}, chain)).outputs;
}

/**
 * Each distinct request's rendering, once per process: the program, its stack files and the
 * bundles it builds do not change while a test run or a synth runs, so the same request renders the
 * same. A failed render is not kept: the next caller sees the error afresh.
 */
const renderings = new Map<string, Promise<Rendering>>();
async function renderOnce(request: RenderRequest): Promise<Rendering> {
  const key = JSON.stringify(request);
  let rendering = renderings.get(key);
  if (rendering === undefined) {
    rendering = renderInThisProcess(request);
    rendering.catch(() => renderings.delete(key));
    renderings.set(key, rendering);
  }
  // As JSON, as synth prints it: a key whose value is undefined is absent (an output switched off).
  return JSON.parse(JSON.stringify(await rendering)) as Rendering;
}

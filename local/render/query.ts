/** Looking things up in a rendering (for synth's review output and the tests). */
import { RenderedResource, Rendering } from "./types";

/** Every resource of `type`. */
export function resourcesOfType(r: Rendering, type: string): RenderedResource[] {
  return r.resources.filter((x) => x.type === type);
}

/** The one resource of `type` named `name`; throws listing what there is otherwise. */
export function resource(r: Rendering, type: string, name: string): RenderedResource {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (found === undefined) {
    const names = resourcesOfType(r, type).map((x) => x.name);
    throw new Error(`stack ${r.stack} has no ${type} named ${name} (has: ${names.join(", ") || "none"})`);
  }
  return found;
}

/** An input that holds JSON text (a policy, a pattern, a document), parsed. */
export function jsonInput(res: RenderedResource, input: string): unknown {
  const value = res.inputs[input];
  if (typeof value !== "string")
    throw new Error(`${res.type} ${res.name}: input ${input} is ${JSON.stringify(value)}, not JSON text`);
  return JSON.parse(value);
}

/**
 * Rendering inside this process: runs index.ts under StackMocks for one request and collects
 * what it registered. The Pulumi runtime and the program module are process-global, so this runs
 * once per process, inside the child that child.ts starts (child-main.ts).
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ORGANIZATION, PROJECT_ROOT, projectName, stackAccountId } from "./config";
import { StackMocks } from "./mocks";
import { RenderRequest, RenderedResource, Rendering } from "./types";

/** Turns mock inputs into plain JSON: assets and archives become their kind, hash and size. */
export async function plain(value: unknown): Promise<unknown> {
  if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
    const v = value as unknown as Record<string, unknown>;
    if (v.text !== undefined) {
      const text = String(await v.text);
      return {
        asset: "StringAsset",
        sha256: createHash("sha256").update(text).digest("hex"),
        bytes: Buffer.byteLength(text),
      };
    }
    if (v.assets !== undefined) {
      const assets = (await v.assets) as Record<string, unknown>;
      const entries = await Promise.all(
        Object.entries(assets).map(async ([k, a]) => [k, await plain(a)] as const),
      );
      return { archive: "AssetArchive", assets: Object.fromEntries(entries) };
    }
    for (const k of ["path", "uri"]) if (v[k] !== undefined) return { asset: k, [k]: await v[k] };
    return { asset: "unknown" };
  }
  if (Array.isArray(value)) return Promise.all((value as unknown[]).map(plain));
  if (value !== null && typeof value === "object") {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await plain(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

function outputPromise(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return (value as unknown as { promise(): Promise<unknown> }).promise();
  }
  return Promise.resolve(value);
}

let rendered = false;

/**
 * Runs index.ts under mocks for `request` and collects what it registered. Once per process:
 * the Pulumi runtime and the program module are process-global.
 */
export async function renderInThisProcess(request: RenderRequest): Promise<Rendering> {
  if (rendered)
    throw new Error("renderInThisProcess runs once per process; use renderStack for another stack");
  rendered = true;
  const mocks = new StackMocks(
    stackAccountId(request.config),
    request.config["aws:region"] ?? "",
    request.stackReferences,
  );
  await pulumi.runtime.setMocks(mocks, projectName(), request.stack, false, ORGANIZATION);
  for (const [key, value] of Object.entries(request.config)) pulumi.runtime.setConfig(key, value);

  const program = (await import(path.join(PROJECT_ROOT, "index.ts"))) as Record<string, unknown>;
  const exported = (program.default ?? program) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    outputs[key] = await plain(await outputPromise(value));
  }
  // Resources whose outputs no stack output depends on (the rule's target, the permission)
  // may still be registering.
  let seen = -1;
  while (seen !== mocks.resources.length) {
    seen = mocks.resources.length;
    // Not in the runtime's type declarations, but exported: waits for outstanding registrations.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const resources: RenderedResource[] = [];
  for (const r of mocks.resources) {
    resources.push({
      type: r.type,
      name: r.name,
      id: r.id,
      inputs: (await plain(r.inputs)) as Record<string, unknown>,
      state: (await plain(r.state)) as Record<string, unknown>,
    });
  }
  const invokes = [...new Set(mocks.invokes.map((i) => i.token))].sort();
  return { stack: request.stack, resources, outputs, invokes };
}

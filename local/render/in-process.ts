/**
 * Rendering inside this process: evaluates index.ts under StackMocks for one request and collects
 * what it registered.
 *
 * The Pulumi runtime keeps its settings, monitor and config in one store per process, and
 * index.ts does its work when the module is evaluated; a child process per render gave each render
 * its own, at the price of a Node start, tsx and @pulumi/aws loaded anew each time (about 4 s of
 * CPU per render). Here renders take turns instead, and each turn leaves nothing behind:
 * - it resets the runtime (setMocks: settings, monitor, pending registrations) and replaces the
 *   whole config map, so no key of an earlier render remains;
 * - it evaluates a fresh copy of index.ts (out of the module cache before and after);
 * - it waits until every registration has settled before the next turn starts, even when the
 *   program failed, so a late registration never lands in the next render's mocks;
 * - an unhandled rejection or uncaught exception during the turn is this render's failure (the
 *   test runner's own listeners are set aside meanwhile), as it was the child's.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ORGANIZATION, PROJECT_ROOT, projectName, stackAccountId } from "./config";
import { StackMocks } from "./mocks";
import { RenderRequest, RenderedResource, Rendering } from "./types";

const PROGRAM = path.join(PROJECT_ROOT, "index.ts");

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

/** The tail of the queue of turns: each render starts when the one before it has settled. */
let lastTurn: Promise<unknown> = Promise.resolve();

/** A render of the program takes seconds; one still going after this has hung. */
export const RENDER_DEADLINE_MS = 120_000;

/**
 * Set once a render has hung: Pulumi's runtime is one per process, so nothing can render here
 * after it (the hung program could still register into the next one), and each later request
 * fails at once saying why instead of waiting for its own test's timeout.
 */
let hung: string | undefined;

/**
 * Runs index.ts under mocks for `request` and collects what it registered, after every render
 * this process asked for earlier has settled. Rejects with the program's error, or when the render
 * has not finished within RENDER_DEADLINE_MS.
 */
export function renderInThisProcess(request: RenderRequest): Promise<Rendering> {
  const turn = lastTurn.then(() => {
    if (hung !== undefined) throw new Error(hung);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        hung = `the render of stack ${request.stack} did not finish within ${RENDER_DEADLINE_MS / 1000} s, so this process renders nothing more (its Pulumi runtime is shared)`;
        reject(new Error(hung));
      }, RENDER_DEADLINE_MS);
      timer.unref();
    });
    return Promise.race([renderAlone(request), deadline]).finally(() => clearTimeout(timer));
  });
  lastTurn = turn.catch(() => undefined);
  return turn;
}

const PROCESS_ERROR_EVENTS = ["unhandledRejection", "uncaughtException"] as const;

/**
 * Until the returned function is called, the process's unhandled rejections and uncaught
 * exceptions go to `record` instead of to the listeners it had (mocha's, which would fail
 * whichever test is running). Returns the function that puts those listeners back.
 */
function divertStrayErrors(record: (error: unknown) => void): () => void {
  // As a plain EventEmitter: Node's typings give each of these events its own listener type.
  const emitter: NodeJS.EventEmitter = process;
  const saved = PROCESS_ERROR_EVENTS.map((event) => {
    const listeners = emitter.listeners(event) as ((...args: unknown[]) => void)[];
    emitter.removeAllListeners(event);
    emitter.on(event, record);
    return { event, listeners };
  });
  return () => {
    for (const { event, listeners } of saved) {
      // Put back only what this took away: when `record` is gone, someone else (mocha ending the
      // file) has set the listeners since, and the saved ones belong to a runner that has finished.
      if (!emitter.listeners(event).includes(record)) continue;
      emitter.removeListener(event, record);
      for (const listener of listeners) emitter.on(event, listener);
    }
  };
}

/** Waits until the program has registered all it will: resources no output depends on included. */
async function settled(mocks: StackMocks): Promise<void> {
  let seen = -1;
  while (seen !== mocks.resources.length) {
    seen = mocks.resources.length;
    // Not in the runtime's type declarations, but exported: waits for outstanding registrations.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function forgetProgram(): void {
  delete require.cache[require.resolve(PROGRAM)];
}

async function renderAlone(request: RenderRequest): Promise<Rendering> {
  const mocks = new StackMocks(
    stackAccountId(request.config),
    request.config["aws:region"] ?? "",
    request.stackReferences,
  );
  await pulumi.runtime.setMocks(mocks, projectName(), request.stack, false, ORGANIZATION);
  pulumi.runtime.setAllConfig(request.config);
  // The first error, as the child reported it: an awaited output's, or a stray one, whichever came first.
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
  };
  const restoreListeners = divertStrayErrors(fail);
  const outputs: Record<string, unknown> = {};
  try {
    forgetProgram();
    const program = require(PROGRAM) as Record<string, unknown>;
    const exported = (program.default ?? program) as Record<string, unknown>;
    for (const [key, value] of Object.entries(exported)) {
      outputs[key] = await plain(await outputPromise(value));
    }
  } catch (error) {
    fail(error);
  }
  try {
    await settled(mocks);
  } finally {
    restoreListeners();
    forgetProgram();
    pulumi.runtime.setAllConfig({});
  }
  if (failure !== undefined) {
    const { error } = failure;
    throw new Error(`stack ${request.stack}: ${error instanceof Error ? error.message : String(error)}`);
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

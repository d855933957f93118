/**
 * The copier as the worker runs it: ec2-scripts/copier/main.ts and everything it imports (the AWS
 * SDK clients included) bundled by esbuild, then held as text inside start.ts (which compiles it
 * with V8's code cache), bundled again: one CommonJS file for the worker's Node.js. The
 * stack uploads it to S3 by its sha256 (the SSM documents fetch and check it), the tests and the
 * bench run it with the worker root's `node`, and ec2-scripts/ecr-sync runs it from a checkout.
 *
 * `tsx ec2-scripts/bundle.ts` writes it to COPIER_BUNDLE_PATH and prints that path.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { build, buildSync, BuildOptions } from "esbuild";
import { cachedBuild, cachedBuildSync } from "../common/bundle-cache";
import { WORKER_NODE_TARGET } from "../common/worker-os";

const CHECKOUT = path.resolve(__dirname, "..");

/** The copier's entry point, relative to the checkout. */
export const COPIER_ENTRY = path.join("ec2-scripts", "copier", "main.ts");

/** Where a checkout keeps its built copier (ignored by git). */
export const COPIER_BUNDLE_PATH = path.join(CHECKOUT, "ec2-scripts", ".build", "ecr-sync.cjs");

/** The bundle's text and the sha256 (hex) of its UTF-8 bytes, the name it is stored and checked by. */
export interface CopierBundle {
  readonly code: string;
  readonly sha256: string;
}

/** The file the worker runs: it compiles the copier, held inside as text, with V8's code cache. */
export const COPIER_START = path.join("ec2-scripts", "copier", "start.ts");

/**
 * Minified, with names kept (class and function names stay readable in stack traces): the SDK
 * clients make it about 460 KB (December 2026). The output does not depend on where the checkout lives,
 * so an unchanged copier is an unchanged object in S3 and no diff in a preview.
 */
function bundleOptions(
  entry: string,
  define: Record<string, string> = {},
): BuildOptions & { absWorkingDir: string } {
  return {
    absWorkingDir: CHECKOUT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: WORKER_NODE_TARGET,
    format: "cjs",
    minify: true,
    keepNames: true,
    legalComments: "none",
    // The packages' ES module builds before their CommonJS ones (esbuild's default for node is
    // "main" first): the AWS SDK's dist-es lets esbuild drop what the copier does not use, which
    // made the bundle a third smaller (610 → 410 KB) and its load in the worker's Node 20 about 40%
    // faster (0.2 → 0.12 s on a busy 2-core machine), a cost every copy pays.
    mainFields: ["module", "main"],
    // import() of Node's own modules (the SDK has a few) as require(): code compiled from V8's code
    // cache in Node 20 has no dynamic-import callback, and such an import() would fail there.
    supported: { "dynamic-import": false },
    define,
    write: false,
    logLevel: "silent",
  };
}

const sha256Of = (code: string) => createHash("sha256").update(code, "utf8").digest("hex");

/** start.ts with the copier's text and its sha256 written in. */
function startOptions(inner: string): BuildOptions & { absWorkingDir: string } {
  return bundleOptions(COPIER_START, {
    COPIER_CODE: JSON.stringify(inner),
    COPIER_CODE_SHA256: JSON.stringify(sha256Of(inner)),
  });
}

function whole(code: string): CopierBundle {
  return { code, sha256: sha256Of(code) };
}

/** The bundle, from the checkout's bundle cache (common/bundle-cache.ts) when nothing it reads changed. */
export async function bundleCopier(): Promise<CopierBundle> {
  const inner = await cachedBuild(bundleOptions(COPIER_ENTRY), build);
  return whole(await cachedBuild(startOptions(inner), build));
}

/** The same bundle, built synchronously (for program code that cannot await). */
export function bundleCopierSync(): CopierBundle {
  const inner = cachedBuildSync(bundleOptions(COPIER_ENTRY), buildSync);
  return whole(cachedBuildSync(startOptions(inner), buildSync));
}

/**
 * Builds the bundle and writes it to `file` (default COPIER_BUNDLE_PATH) unless that already holds
 * these bytes; a new file appears whole (temp file, rename), so a run starting meanwhile reads the
 * old bundle or the new one, never half of one.
 */
export async function writeCopierBundle(
  file: string = COPIER_BUNDLE_PATH,
): Promise<CopierBundle & { path: string }> {
  const bundle = await bundleCopier();
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== bundle.code) {
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, bundle.code, { mode: 0o644 });
    renameSync(temp, file);
  }
  return { ...bundle, path: file };
}

if (require.main === module) {
  writeCopierBundle().then(
    (written) => process.stdout.write(`${written.path}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

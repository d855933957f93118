/**
 * esbuild bundles (the copier's, the push trigger's) kept between processes, so that a stack
 * render, a test process or the launcher does not bundle the AWS SDK again (about 1.4 CPU s each)
 * when nothing it reads has changed.
 *
 * A bundle is used again only when all of these are the same as when it was built: esbuild's
 * version, the build options, package-lock.json and tsconfig.json (which decide how imports
 * resolve), and the bytes (sha256) of every file the build read (esbuild's metafile lists them).
 * Anything else, a missing or unreadable entry included, builds anew. The cache lives in the
 * checkout's node_modules/.cache (as Babel's and ESLint's do): git, Prettier and tsc never see it,
 * and `npm ci` starts it empty. An entry appears whole (a temporary file renamed over it), so two
 * processes building at once each read a whole entry or none. A build during which a file it read
 * changed keeps no entry: the bytes hashed after it would not be the bytes it bundled.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { BuildOptions, BuildResult, version as esbuildVersion } from "esbuild";

/** Builds with esbuild (build or buildSync); metafile is always asked for. */
export type Builder<R> = (options: BuildOptions) => R;

interface Entry {
  /** Every file the build read (relative to absWorkingDir) and the sha256 of its bytes. */
  readonly inputs: ReadonlyArray<readonly [string, string]>;
  readonly text: string;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The cache folder of the checkout at `workingDir`. */
export function bundleCacheDir(workingDir: string): string {
  return path.join(workingDir, "node_modules", ".cache", "ecr-sync-bundles");
}

function fileHash(workingDir: string, file: string): string | undefined {
  try {
    return sha256(readFileSync(path.join(workingDir, file)));
  } catch {
    return undefined;
  }
}

/** The entry's file: named by everything but the inputs' bytes. */
function entryFile(options: BuildOptions & { absWorkingDir: string }): string {
  const dir = options.absWorkingDir;
  const key = JSON.stringify({
    esbuildVersion,
    options,
    lock: fileHash(dir, "package-lock.json") ?? null,
    tsconfig: fileHash(dir, "tsconfig.json") ?? null,
  });
  return path.join(bundleCacheDir(dir), `${sha256(key).slice(0, 32)}.json`);
}

function readEntry(file: string, workingDir: string): string | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(file, "utf8")) as Entry;
  } catch {
    return undefined;
  }
  const isInput = (pair: unknown) =>
    Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === "string");
  if (!Array.isArray(entry.inputs) || entry.inputs.length === 0 || typeof entry.text !== "string")
    return undefined;
  if (!entry.inputs.every(isInput)) return undefined;
  for (const [input, hash] of entry.inputs) {
    if (fileHash(workingDir, input) !== hash) return undefined;
  }
  return entry.text;
}

/**
 * Whether `file` was changed after `since` (ms since the epoch), or cannot be read. The kernel
 * stamps files from a clock a few ms coarse, never ahead of Date.now(): a file written before the
 * build began is never "after" it, and one saved in the build's first few ms may pass as before.
 */
function changedSince(workingDir: string, file: string, since: number): boolean {
  try {
    return statSync(path.join(workingDir, file)).mtimeMs > since;
  } catch {
    return true;
  }
}

function writeEntry(
  file: string,
  workingDir: string,
  result: BuildResult,
  text: string,
  builtFrom: number,
): void {
  const read = Object.keys(result.metafile?.inputs ?? {});
  // A file changed while the build ran (saved in an editor meanwhile) may differ from what was
  // bundled, so its hash now would vouch for a bundle it did not make: keep no entry.
  if (read.some((input) => changedSince(workingDir, input, builtFrom))) return;
  const inputs = read.map((input) => [input, fileHash(workingDir, input)]);
  // A file read by the build but gone now (or a virtual one) cannot be checked: keep no entry.
  if (inputs.length === 0 || inputs.some(([, hash]) => hash === undefined)) return;
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(temp, JSON.stringify({ inputs, text }));
    renameSync(temp, file);
  } catch {
    // A cache that cannot be written (a read-only checkout) only costs the next build its time.
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nor can a temporary file have been made there.
    }
  }
}

/** The single output file's text, or an error naming the entry point. */
export function onlyOutput(result: BuildResult, entry: string): string {
  const files = result.outputFiles ?? [];
  if (files.length !== 1) {
    throw new Error(`bundling ${entry} produced ${files.length} files, expected exactly one`);
  }
  return files[0].text;
}

function entryName(options: BuildOptions): string {
  return String((options.entryPoints as string[] | undefined)?.[0] ?? "the bundle");
}

/** The cache's entry for these options: its file, and the bundle when its inputs are unchanged. */
function lookUp(options: BuildOptions & { absWorkingDir: string }) {
  const file = entryFile(options);
  return { file, cached: readEntry(file, options.absWorkingDir), builtFrom: Date.now() };
}

/** A build's single output, kept under `file` for the next process. */
function keep(
  file: string,
  options: BuildOptions & { absWorkingDir: string },
  result: BuildResult,
  builtFrom: number,
): string {
  const text = onlyOutput(result, entryName(options));
  writeEntry(file, options.absWorkingDir, result, text, builtFrom);
  return text;
}

/** The bundle's text: from the cache when its inputs are unchanged, else built (synchronously) and kept. */
export function cachedBuildSync(
  options: BuildOptions & { absWorkingDir: string },
  build: Builder<BuildResult>,
): string {
  const { file, cached, builtFrom } = lookUp(options);
  if (cached !== undefined) return cached;
  return keep(file, options, build({ ...options, metafile: true, write: false }), builtFrom);
}

/** The same, with esbuild's asynchronous build. */
export async function cachedBuild(
  options: BuildOptions & { absWorkingDir: string },
  build: Builder<Promise<BuildResult>>,
): Promise<string> {
  const { file, cached, builtFrom } = lookUp(options);
  if (cached !== undefined) return cached;
  return keep(file, options, await build({ ...options, metafile: true, write: false }), builtFrom);
}

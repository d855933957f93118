/**
 * The copier's first lines: the file the worker runs (`node FILE ARGUMENTS`) is this, with the
 * copier itself (main.ts and everything it imports, bundled) inside as text, COPIER_CODE. This
 * compiles that text with V8's code cache when it has a good one, runs it, and keeps a cache after
 * a run that had none.
 *
 * Why: Debian 13's nodejs is built without Node's own code cache, so V8 parsed the whole bundle
 * (460 KB) at every start; with a cache it deserializes what an earlier run compiled instead, about
 * 0.05 s of every copy on a 2-core machine (docs/benchmarks.md). Node 22's
 * module.enableCompileCache() would do this, the worker's Node 20 has only vm.Script's cachedData.
 *
 * The cache is code that runs as the copier's user (root on the worker), so it is trusted only as
 * far as the bundle is: it is used and written only in the bundle's own folder, when that folder and
 * the cache file are the user's own and nobody else may write them; it is never followed through a
 * symlink; and it carries the sha256 of the copier text it was made from and of itself, both
 * checked before V8 sees it (V8 checks its version and flags, not the bytes). A cache that fails any
 * check is ignored and made anew; nothing about it changes what the copier prints or its exit code.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import Module, { createRequire } from "node:module";
import * as path from "node:path";
import { Script } from "node:vm";

declare const COPIER_CODE: string;
declare const COPIER_CODE_SHA256: string;

const MAGIC = "ecr-sync v8 code cache 2";

/** Stale temporary files of a cache write that was killed are removed after this. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * The Node that runs this, as exactly as it can be told: its versions, and the binary and libnode
 * files (device, inode, size, modification time) this process has mapped. Debian patches V8 in
 * libnode without changing process.version, and V8 checks only its own version string and flags:
 * code compiled by the old build must not run under the new one.
 */
function runtimeIdentity(): string {
  const files = new Set<string>([process.execPath]);
  try {
    for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
      const file = line.slice(line.indexOf("/"));
      if (line.includes("/") && /lib(node|v8)[^/]*\.so/.test(file)) files.add(file);
    }
  } catch {
    // Not Linux: the versions alone.
  }
  const stats = [...files].sort().map((file) => {
    try {
      const s = fs.statSync(file);
      return `${file} ${s.dev} ${s.ino} ${s.size} ${s.mtimeMs}`;
    } catch {
      return `${file} -`;
    }
  });
  return sha256(JSON.stringify({ versions: process.versions, arch: process.arch, files: stats }));
}

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

function note(step: string): void {
  if (process.env.ECR_SYNC_TRACE === "1")
    process.stderr.write(`ecr-sync trace ${performance.now().toFixed(1)} code cache: ${step}\n`);
}

/** Where the cache of `bundle` lives for this Node and machine (V8's cache is for one of each). */
export function codeCachePath(bundle: string): string {
  return `${bundle}.node-${process.version}-${process.arch}.v8cache`;
}

/** Whether `stat` is the user's own and nobody else may write it. */
function ownedAndClosed(stat: fs.Stats): boolean {
  const uid = process.getuid?.() ?? -1;
  return stat.uid === uid && (stat.mode & 0o022) === 0;
}

/** The folder may hold a cache: a real directory, the user's own, written by nobody else. */
function folderTrusted(folder: string): boolean {
  try {
    const stat = fs.lstatSync(folder);
    return stat.isDirectory() && ownedAndClosed(stat);
  } catch {
    return false;
  }
}

/** The cache's V8 bytes when every check passes, else undefined (and why, traced). */
function readCache(file: string, runtime: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    note(`none (${(error as NodeJS.ErrnoException).code})`);
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || !ownedAndClosed(stat)) {
      note("ignored: not a file of this user's that only it may write");
      return undefined;
    }
    const bytes = fs.readFileSync(fd);
    const copier = `${MAGIC}\n${COPIER_CODE_SHA256}\n`;
    const header = `${copier}${runtime}\n`;
    const headerLength = header.length + 65;
    if (bytes.length <= headerLength || bytes.subarray(0, copier.length).toString("latin1") !== copier) {
      note("ignored: made from another copier, or not a cache");
      return undefined;
    }
    if (bytes.subarray(copier.length, header.length).toString("latin1") !== `${runtime}\n`) {
      note("ignored: made by another build of Node (its binary or libnode changed)");
      return undefined;
    }
    const payload = bytes.subarray(headerLength);
    if (bytes.subarray(header.length, headerLength - 1).toString("latin1") !== sha256(payload)) {
      note("ignored: its bytes are not the ones it was written with");
      return undefined;
    }
    return payload;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the cache whole (a new file renamed over the old), or not at all. */
function writeCache(file: string, payload: Buffer, runtime: string): void {
  removeStaleTemps(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = fs.openSync(
      temp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    try {
      fs.writeFileSync(fd, `${MAGIC}\n${COPIER_CODE_SHA256}\n${runtime}\n${sha256(payload)}\n`);
      fs.writeFileSync(fd, payload);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    note("made");
  } catch (error) {
    fs.rmSync(temp, { force: true });
    note(`not made (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** What a write killed midway left in the folder (ours, older than STALE_TEMP_MS). */
function removeStaleTemps(file: string): void {
  const folder = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  try {
    for (const name of fs.readdirSync(folder)) {
      if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
      const temp = path.join(folder, name);
      const stat = fs.lstatSync(temp);
      if (stat.isFile() && ownedAndClosed(stat) && Date.now() - stat.mtimeMs > STALE_TEMP_MS) fs.rmSync(temp);
    }
  } catch {
    // Tidying only.
  }
}

interface Copier {
  /** `ran`: the run got past its command line and configuration (a copy or reconcile ran). */
  runProgram(beforeExit: (ran: boolean) => void): void;
}

function start(): void {
  const bundle = __filename;
  const cacheFile = codeCachePath(bundle);
  const trusted = folderTrusted(path.dirname(bundle));
  const runtime = trusted ? runtimeIdentity() : "";
  const cachedData = trusted ? readCache(cacheFile, runtime) : undefined;
  if (!trusted) note("not used: the copier's folder is not this user's own, or others may write it");
  const script = new Script(Module.wrap(COPIER_CODE), { filename: bundle, cachedData });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  if (cachedData !== undefined) note(used ? "used" : "refused by V8 (another Node or V8 flags)");
  const copierModule = { exports: {} as Copier, filename: bundle, id: bundle, loaded: false };
  const run = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string,
  ) => void;
  run(copierModule.exports, createRequire(bundle), copierModule, bundle, path.dirname(bundle));
  copierModule.exports.runProgram((ran) => {
    // After a run that did its work, so the cache holds every function a copy or reconcile
    // compiles, not only the top level (a --help or a usage error would keep a poor one).
    if (trusted && !used && ran) writeCache(cacheFile, script.createCachedData(), runtime);
  });
}

start();

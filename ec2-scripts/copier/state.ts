import {
  constants,
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  Stats,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { EXIT } from "../../common/result-lines";
import { Failure, stateFailure } from "./failure";
import { log } from "./log";

/**
 * The state directory (ECR_SYNC_STATE_DIR): locks/ (one lock file per target tag) and runs/ (each
 * run's private files: skopeo's and oras's auth files, which hold the passwords). Nothing else is kept.
 *
 * Every component of the path is looked at with lstat, never followed: the state directory, its
 * locks/ and runs/ and every component created here must be directories owned by the user running
 * ecr-sync that nobody else may write; the parents that were there before must be owned by root or
 * that user, and writable by others only with the sticky bit (/tmp). Then nobody else can rename,
 * replace or add anything on the path for the whole run, and a symlink anywhere on it (another
 * user's, in /tmp) is refused instead of followed. Files inside are opened with O_NOFOLLOW.
 */

export interface StateDir {
  readonly path: string;
  readonly lockDir: string;
  readonly runsDir: string;
}

const uid = () => process.geteuid?.() ?? 0;

function describe(info: Stats): string {
  if (info.isSymbolicLink()) return "symlink";
  if (info.isFile()) return "regular file";
  return "special file";
}

function checkPrivateDir(path: string, info: Stats): void {
  if (!info.isDirectory()) {
    throw new Failure(
      EXIT.config,
      `state directory ${path} is a ${describe(info)}, not a directory: not followed; remove it (ecr-sync creates the directory itself, mode 0700) or set ECR_SYNC_STATE_DIR elsewhere`,
    );
  }
  if (info.uid !== uid()) {
    throw new Failure(
      EXIT.config,
      `state directory ${path} is owned by uid ${info.uid}, not by the user running ecr-sync (uid ${uid()}): whoever owns it can hold or replace the locks; remove it (ecr-sync creates it, mode 0700) or set ECR_SYNC_STATE_DIR elsewhere`,
    );
  }
  if ((info.mode & 0o022) !== 0) {
    const mode = (info.mode & 0o7777).toString(8);
    throw new Failure(
      EXIT.config,
      `state directory ${path} has mode ${mode}, writable by group or others: chmod 0700 ${path}, or remove it so ecr-sync creates it`,
    );
  }
}

function checkParentDir(path: string, stateDir: string, info: Stats): void {
  if (!info.isDirectory()) {
    throw new Failure(
      EXIT.config,
      `${path}, on the path of ECR_SYNC_STATE_DIR=${stateDir}, is a ${describe(info)}, not a directory: not followed; set ECR_SYNC_STATE_DIR to a path of directories`,
    );
  }
  if (info.uid !== 0 && info.uid !== uid()) {
    throw new Failure(
      EXIT.config,
      `${path}, a parent of the state directory, is owned by uid ${info.uid}: that user could swap the state directory; set ECR_SYNC_STATE_DIR under directories owned by root (default /run/ecr-sync)`,
    );
  }
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) {
    throw new Failure(
      EXIT.config,
      `${path}, a parent of the state directory, has mode ${(info.mode & 0o7777).toString(8)}, writable by others without the sticky bit: they could swap the state directory; set ECR_SYNC_STATE_DIR under directories only root can write (default /run/ecr-sync)`,
    );
  }
}

/** lstat, or undefined when nothing is there. */
function look(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw stateFailure(error, `inspect ${path}`, path);
  }
}

/**
 * Makes `path` (mode 0700) unless something is there; true when this run made it. Another run may
 * make it between the look and the mkdir (a burst of copies after a reboot, which empties /run):
 * what is there then is checked as if this run had made it.
 */
function makeDir(path: string, stateDir: string): boolean {
  if (look(path) !== undefined) return false;
  try {
    mkdirSync(path, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return true;
    throw new Failure(
      EXIT.config,
      `state directory ${path} cannot be created (ECR_SYNC_STATE_DIR=${stateDir}): set ECR_SYNC_STATE_DIR to a path the user running ecr-sync can create, such as /run/ecr-sync`,
    );
  }
}

/** Creates and checks the state directory, locks/ and runs/ (see above), or fails with exit 3 naming the path. */
export function prepareStateDir(stateDir: string): StateDir {
  const path = resolve(stateDir);
  const lockDir = join(path, "locks");
  const runsDir = join(path, "runs");
  let current = "";
  for (const component of path.split("/").filter(Boolean)) {
    current = `${current}/${component}`;
    const created = makeDir(current, stateDir);
    const info = lstatSync(current);
    if (created || current === path) checkPrivateDir(current, info);
    else checkParentDir(current, stateDir, info);
  }
  for (const dir of [lockDir, runsDir]) {
    makeDir(dir, stateDir);
    checkPrivateDir(dir, lstatSync(dir));
  }
  return { path, lockDir, runsDir };
}

/** Whether a process with this pid exists (a reused pid counts: its files are left alone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * This run's private directory, runs/PID.XXXXXX (0700), removed when the run ends (remove()). The
 * directories of runs that cannot be alive (their pid is gone: a SIGKILL skipped their clean-up)
 * are removed first, so no password outlives its run for long.
 */
export class RunDir {
  private constructor(
    readonly path: string,
    private readonly state: StateDir,
  ) {}

  static create(state: StateDir): RunDir {
    try {
      for (const name of readdirSync(state.runsDir)) {
        const pid = Number(/^([0-9]+)\./.exec(name)?.[1]);
        const leftover = join(state.runsDir, name);
        if (!Number.isInteger(pid) || alive(pid) || !look(leftover)?.isDirectory()) continue;
        rmSync(leftover, { recursive: true, force: true });
        log(`removed ${leftover}: left by a run that was killed`);
      }
    } catch (error) {
      throw stateFailure(error, `remove what killed runs left in ${state.runsDir}`, state.path);
    }
    try {
      return new RunDir(mkdtempSync(join(state.runsDir, `${process.pid}.`)), state);
    } catch (error) {
      throw stateFailure(error, `create this run's directory in ${state.runsDir}`, state.path);
    }
  }

  /**
   * Writes a private file (0600) in the run directory: created anew (O_EXCL, O_NOFOLLOW), every
   * byte checked; a full or read-only file system is exit 3 naming it.
   */
  writeFile(name: string, text: string): string {
    const file = join(this.path, name);
    let fd: number | undefined;
    try {
      this.ensure();
      rmSync(file, { force: true });
      fd = openSync(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      const bytes = Buffer.from(text);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      closeSync(fd);
      fd = undefined;
      return file;
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      throw stateFailure(error, `write ${file}`, this.state.path);
    }
  }

  /**
   * Makes the run directory (and runs/) again when someone cleared the state directory during
   * the run: it holds only this run's auth files. locks/ is never made again (lock.ts says why):
   * the run's next lock refuses its image.
   */
  private ensure(): void {
    for (const dir of [this.state.runsDir, this.path]) {
      if (look(dir) !== undefined) continue;
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      checkPrivateDir(dir, lstatSync(dir));
    }
  }

  /** Removes files of this run's (names), or the whole run directory (none). */
  /**
   * Removes the whole directory, or the named files in it. Never throws: a clean-up that fails (a
   * file system turned read-only) must not replace the run's own result and exit code. What is left
   * stays in this 0700 directory, and the next run removes it (create()).
   */
  remove(...names: string[]): void {
    const paths = names.length === 0 ? [this.path] : names.map((name) => join(this.path, name));
    for (const path of paths) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch (error) {
        log(
          `warning: could not remove ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): the next run removes it`,
        );
      }
    }
  }
}

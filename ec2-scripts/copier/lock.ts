import { spawn } from "node:child_process";
import { closeSync, constants, fstatSync, lstatSync, openSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EXIT } from "../../common/result-lines";
import { Failure, stateFailure } from "./failure";
import { LIMITS } from "./limits";

/**
 * The per-tag lock, with flock(2) semantics: the kernel releases it when the process dies,
 * however it dies. Node has no flock(2), so the lock file is opened here (O_NOFOLLOW: a symlink in
 * its place is refused, never followed) and util-linux `flock --exclusive --wait SECONDS 3` is
 * started with that descriptor as its fd 3. flock(2) locks the open file description, which the
 * child shares with this process: when `flock` exits 0 the lock stays held through this process's
 * descriptor until it is closed (release()) or the process ends (flock(2): "Locks created by
 * flock() are associated with an open file description ... the lock is released either by an
 * explicit LOCK_UN operation on any of these duplicate file descriptors, or when all such file
 * descriptors have been closed"). Node opens files with O_CLOEXEC, so no child inherits it
 * unless handed it: skopeo is (skopeo.ts), so that the lock lasts as long as the copy that writes
 * the tag, even should skopeo outlive the copier. test/unit/copier-lock.test.ts shows both halves.
 */

/** The lock file's name for a target tag: REPO:TAG with '/' as '+', hashed when too long for a file name. */
export function lockName(targetRepository: string, tag: string): string {
  const name = `${targetRepository.replace(/\//g, "+")}:${tag}`;
  return name.length > LIMITS.lockNameMax ? createHash("sha256").update(name).digest("hex") : name;
}

export interface HeldLock {
  /** The descriptor the lock is held through: a child given it holds the lock until it ends too. */
  readonly fd: number;
  release(): void;
  /**
   * Throws a Failure (exit 3) unless the lock file at its path is still the one this lock holds.
   * flock(2) locks a file, not a name: once the file is removed (ECR_SYNC_STATE_DIR cleared during
   * the run) a new copy of the same tag creates a new file and locks it at once, so two copies could
   * run side by side. Checked before the copy (nothing is written then) and after it (the line says
   * so, and a reconcile brings the tag to what the source names).
   */
  assertHeld(when: string): void;
}

/**
 * Waits up to `timeoutSeconds` for the exclusive lock on `file`: the held lock, or a Failure (exit
 * 3 for a lock file that is not a regular file or cannot be opened, exit 1 when another copy held
 * it all that time).
 */
export async function lockFile(
  file: string,
  stateDir: string,
  timeoutSeconds: number = LIMITS.lockTimeoutSeconds,
  signal?: AbortSignal,
): Promise<HeldLock> {
  const fd = openLockFile(file, stateDir);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      // signal: the caller no longer wants the lock (its login failed while it waited): flock stops
      // waiting (SIGTERM, exit status 128+) and the descriptor is closed.
      const child = spawn("flock", ["--exclusive", "--wait", String(timeoutSeconds), "3"], {
        stdio: ["ignore", "ignore", "inherit", fd],
        signal,
      });
      child.once("error", (error) => (signal?.aborted ? resolve(128) : reject(error)));
      child.once("exit", (status, signal) => resolve(status ?? (signal ? 128 : 1)));
    });
    if (code === 1) {
      throw new Failure(EXIT.failed, `another copy held ${file} for more than ${timeoutSeconds} s`);
    }
    if (code !== 0)
      throw new Failure(EXIT.failed, `unexpected failure: flock on ${file} exited with status ${code}`);
    // A waiter that opened the file before it was removed gets the lock on a file no one else sees.
    if (!sameFile(fd, file)) throw replacedLock(file, "while this copy waited for it");
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return {
    fd,
    release() {
      if (open) closeSync(fd);
      open = false;
    },
    assertHeld(when: string) {
      if (!open || !sameFile(fd, file)) throw replacedLock(file, when);
    },
  };
}

/** Whether `file` still names the file open on `fd` (not removed, not replaced). */
function sameFile(fd: number, file: string): boolean {
  const held = fstatSync(fd);
  try {
    const named = lstatSync(file);
    return named.ino === held.ino && named.dev === held.dev;
  } catch {
    return false;
  }
}

function replacedLock(file: string, when: string): Failure {
  return new Failure(
    EXIT.config,
    `the lock file ${file} was removed or replaced ${when}: another copy of this tag may have run at the same time. Do not remove ECR_SYNC_STATE_DIR while a copier runs (pgrep -f ecr-sync); run a reconcile to make sure the target tag holds what the source names`,
  );
}

function openLockFile(file: string, stateDir: string): number {
  let fd: number;
  try {
    ensureDir(join(file, ".."));
    // Read-write, created if missing, never truncated; O_NONBLOCK so that a FIFO put there cannot hang the open.
    fd = openSync(
      file,
      constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o600,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new Failure(
        EXIT.config,
        `lock file ${file} is a symlink: not followed; remove it (only the user running ecr-sync can write ${join(file, "..")}, so find out who put it there)`,
      );
    }
    throw stateFailure(error, `open the lock file ${file}`, stateDir);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Failure(
      EXIT.config,
      `lock file ${file} is not a regular file: remove it (only the user running ecr-sync can write ${join(file, "..")})`,
    );
  }
  return fd;
}

/**
 * locks/, as prepareStateDir made it when the run started. It is never made again during a run: a
 * lock file in a new locks/ would not be the one another running copy holds (see assertHeld).
 */
function ensureDir(dir: string): void {
  let info;
  try {
    info = lstatSync(dir);
  } catch {
    throw new Failure(
      EXIT.config,
      `${dir} was removed during this run, so this copy could not see the locks of copies still running: this tag is not copied. Do not remove ECR_SYNC_STATE_DIR while a copier runs (pgrep -f ecr-sync); the next run makes it again`,
    );
  }
  if (!info.isDirectory() || info.uid !== process.getuid?.()) {
    throw new Failure(
      EXIT.config,
      `${dir} is no longer the directory this run made (a symlink, another file type or another owner): remove it; only the user running ecr-sync should write ${join(dir, "..")}`,
    );
  }
}

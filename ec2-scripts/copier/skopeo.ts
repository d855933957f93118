import { ChildProcess, spawn } from "node:child_process";
import { LIMITS } from "./limits";

/**
 * skopeo moves the bytes, registry to registry: every platform of an index, digests preserved,
 * blobs the target already has not sent. Bounded in time twice: skopeo's own --command-timeout,
 * and a kill from here (SIGTERM, then SIGKILL) a few seconds after it, should skopeo not stop.
 * Its stderr is kept for people (the failed line quotes its last line) and never read to decide
 * anything: copy.ts classifies a failure by probing the registries.
 *
 * skopeo dies with the copier. It runs under util-linux `setpriv --pdeathsig KILL`, which sets the
 * parent-death signal (prctl(2) PR_SET_PDEATHSIG) and execs skopeo, so the kernel kills skopeo when
 * the copier's process ends, however it ends (the OOM killer, `kill -9` of the copier alone). An
 * orphaned skopeo would otherwise go on writing the target tag after the tag's lock was released
 * with the copier's descriptor: a newer copy could finish first and the orphan then move the tag
 * back to the older image. The signal goes when the thread that started skopeo ends; Node starts
 * children from its main thread, which lives as long as the process. A copier killed in the
 * instant between starting skopeo and setpriv's prctl leaves skopeo unkilled: it holds the tag's
 * lock (its fd 3, lockFd), so no other copy of the tag runs until it has stopped writing.
 */

export interface SkopeoCopy {
  readonly source: string;
  readonly target: string;
  readonly sourceAuthFile: string;
  readonly targetAuthFile: string;
  readonly tlsVerify: boolean;
  readonly timeoutSeconds: number;
  /**
   * The target tag's lock (lock.ts), handed to skopeo as its fd 3: it holds the lock until it ends,
   * so a skopeo that outlives the copier (killed before its parent-death signal was set) still
   * keeps every other copy of the tag waiting until it stops writing.
   */
  readonly lockFd?: number;
}

export interface SkopeoOutcome {
  readonly ok: boolean;
  /** It ran out of time and was stopped (by its own timeout or by the kill). */
  readonly timedOut: boolean;
  /** Its last stderr line, for people. */
  readonly lastLine: string;
}

const running = new Set<ChildProcess>();

/**
 * Stops every copy tool still running, skopeo or oras (the run is ending on a signal), and resolves
 * once each has ended, or after `boundMs`: the caller releases the tags' locks only then, so that no
 * tool of this run writes a tag another copy may already hold.
 */
export function stopAllCopyTools(boundMs = 2000): Promise<void> {
  const ended = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, boundMs);
    void Promise.all(ended).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * skopeo's line with every URL's query cut off and control characters replaced: ECR hands layer
 * downloads to presigned S3 URLs, whose query holds X-Amz-Security-Token and X-Amz-Signature, and
 * skopeo prints the whole URL in a network error. The line goes into the failed result line, the
 * results log group and the operator's terminal; the query is a credential for as long as it lasts.
 */
export function withoutQueries(line: string): string {
  return line
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s"'?]+)\?[^\s"']*/gi, "$1?…")
    .replace(/[\x00-\x1f\x7f]/g, "?");
}

export function skopeoArgs(copy: SkopeoCopy): string[] {
  // --command-timeout is skopeo's global flag, given after `copy` (cobra takes a persistent flag
  // there too) so that the command line still starts with `skopeo copy`.
  return [
    "copy",
    "--command-timeout",
    `${copy.timeoutSeconds}s`,
    "--all",
    "--preserve-digests",
    "--quiet",
    "--retry-times",
    String(LIMITS.skopeoRetryTimes),
    "--src-authfile",
    copy.sourceAuthFile,
    `--src-tls-verify=${copy.tlsVerify}`,
    "--dest-authfile",
    copy.targetAuthFile,
    `--dest-tls-verify=${copy.tlsVerify}`,
    `docker://${copy.source}`,
    `docker://${copy.target}`,
  ];
}

export function runSkopeoCopy(copy: SkopeoCopy, monotonic: () => number): Promise<SkopeoOutcome> {
  return runCopyTool("skopeo", skopeoArgs(copy), copy, monotonic);
}

/**
 * Runs a copy tool (skopeo, or oras for referrers: referrers.ts) as skopeo is run above: under
 * setpriv's parent-death signal, holding the tag's lock as its fd 3, bounded in time by a kill.
 */
export function runCopyTool(
  program: "skopeo" | "oras",
  args: readonly string[],
  copy: { readonly timeoutSeconds: number; readonly lockFd?: number },
  monotonic: () => number,
): Promise<SkopeoOutcome> {
  return new Promise((resolve) => {
    const started = monotonic();
    const child = spawn("setpriv", ["--pdeathsig", "KILL", program, ...args], {
      stdio: ["ignore", "ignore", "pipe", ...(copy.lockFd === undefined ? [] : [copy.lockFd])],
    });
    running.add(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4096);
    });
    let killed = false;
    const term = setTimeout(
      () => {
        killed = true;
        child.kill("SIGTERM");
      },
      (copy.timeoutSeconds + LIMITS.skopeoKillGraceSeconds) * 1000,
    );
    const kill = setTimeout(
      () => child.kill("SIGKILL"),
      (copy.timeoutSeconds + 2 * LIMITS.skopeoKillGraceSeconds) * 1000,
    );
    const finish = (ok: boolean) => {
      clearTimeout(term);
      clearTimeout(kill);
      running.delete(child);
      const lastLine =
        stderr
          .split("\n")
          .map((line) => line.trim())
          .filter(Boolean)
          .pop() ?? "";
      const timedOut = killed || (!ok && monotonic() - started >= copy.timeoutSeconds * 1000);
      resolve({
        ok,
        timedOut,
        lastLine: withoutQueries(
          lastLine
            .replace(/^.*level=fatal msg="?/, "")
            .replace(/"$/, "")
            .replace(/^Error: /, ""),
        ),
      });
    };
    child.once("error", (error) => {
      stderr += `\n${error.message}`;
      finish(false);
    });
    child.once("close", (code) => finish(code === 0));
  });
}

/**
 * The copier run traced (profile.ts says why bash's own trace): `ecr-sync.sh ARGS` as the bench's
 * other runs start it, inside the worker root with the root's bash and tools (in-root.ts), but
 * sourced by a bash that traces it, under a shell that prints the CPU of all its processes
 * afterwards. Used by the breakdown (warm copies), the reconcile (200 tags in sync) and the
 * backfill (a reconcile one tag at a time).
 */
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { Registry } from "../../local/registry";
import { SCRIPT } from "../../local/world";
import { workerToolPath } from "../../local/worker-root";
import { spawnInRoot, WITH_TIMES } from "./in-root";
import { timed } from "./measure";
import { childrenCpuSeconds, TRACE_PS4 } from "./profile";
import { AwsCalls, Bench } from "./session";

/**
 * Says whether a word of a traced command is a program on the worker root's PATH, not a builtin or
 * keyword of the root's bash, nor a function of the script.
 */
export async function programPredicate(): Promise<(word: string) => boolean> {
  const builtins = await spawnInRoot(["bash", "-c", "compgen -b; compgen -k"], { PATH: "" });
  if (builtins.code !== 0)
    throw new Error(`the worker root's bash did not list its builtins: ${builtins.stderr}`);
  const script = await readFile(SCRIPT, "utf8");
  const notPrograms = new Set([
    ...builtins.stdout.split("\n").filter((word) => word !== ""),
    ...[...script.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\(\) \{/gm)].map((match) => match[1]),
  ]);
  const known = new Map<string, boolean>();
  return (word) => {
    if (notPrograms.has(word) || !/^[A-Za-z0-9_./+-]+$/.test(word)) return false;
    if (!known.has(word)) known.set(word, workerToolPath(word) !== "");
    return known.get(word) ?? false;
  };
}

/** One traced run of the script. */
export interface TracedRun extends AwsCalls {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Its result lines (stdout but the `times`). */
  readonly lines: Array<Record<string, string>>;
  readonly trace: string;
  /** Wall time, start of bwrap to the shell's exit: bwrap's start counts as the run's "(start and exit)". */
  readonly seconds: number;
  /** CPU seconds of all its processes. */
  readonly cpu: number;
  readonly milliseconds: number;
}

/**
 * `ecr-sync.sh ARGS` over `map` into `registry`, with `extraEnv`, sourced by a bash that traces it
 * (set -x, PS4 = TRACE_PS4, the trace on fd 3 through BASH_XTRACEFD), under WITH_TIMES. Sourced
 * with $0 set to the script, it runs main as when run (its guard compares BASH_SOURCE with $0).
 * The trace holds what the commands were given, credentials included: a 0600 file in a private
 * dir, read and removed at once.
 */
export async function tracedScript(
  bench: Bench,
  args: readonly string[],
  map: Record<string, string>,
  registry: Registry | undefined,
  extraEnv: Record<string, string> = {},
): Promise<TracedRun> {
  const dir = await mkdtemp(join(os.tmpdir(), "ecr-sync-bench-trace-"));
  try {
    const traceFile = join(dir, "trace");
    const awsLog = bench.awsLog();
    const env = { ...bench.scriptEnv(map, registry, awsLog), ...extraEnv, BASH_XTRACEFD: "3" };
    const fd = openSync(traceFile, "w", 0o600);
    let run: { value: { code: number; stdout: string; stderr: string }; seconds: number };
    try {
      run = await timed(() =>
        spawnInRoot(
          [...WITH_TIMES, "bash", "-c", `PS4='${TRACE_PS4}'; set -x; . "$0"`, SCRIPT, ...args],
          env,
          fd,
        ),
      );
    } finally {
      closeSync(fd);
    }
    const { code, stdout, stderr } = run.value;
    const lines = stdout
      .trimEnd()
      .split("\n")
      .slice(0, -2)
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, string>);
    return {
      code,
      stdout,
      stderr,
      lines,
      trace: await readFile(traceFile, "utf8"),
      ...(await bench.awsCallsIn(awsLog)),
      seconds: run.seconds,
      cpu: childrenCpuSeconds(stdout),
      milliseconds: run.seconds * 1000,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The copier run traced: its bundle with ARGS as the bench's other runs start it, inside the worker
 * root with the root's node, skopeo and flock (in-root.ts), with ECR_SYNC_TRACE=1 (its own stamped
 * line per step on stderr: profile.ts reads them), under a shell that prints the CPU of all its
 * processes afterwards. Used by the breakdown (a full and an unchanged copy), the reconcile (200
 * tags in sync) and the backfill (a reconcile one tag at a time).
 */
import { Registry } from "../../local/registry";
import { copierBundle } from "../../local/world";
import { spawnInRoot, WITH_TIMES } from "./in-root";
import { timed } from "./measure";
import { childrenCpuSeconds, Profile, profileOf } from "./profile";
import { Bench } from "./session";

/** One traced run of the copier. */
export interface TracedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Its result lines (stdout but the `times`). */
  readonly lines: Array<Record<string, string>>;
  /** Where its time went, from its trace: bwrap's start counts as its start-up, bwrap's end as its exit. */
  readonly profile: Profile;
  /** Wall time, start of bwrap to the shell's exit. */
  readonly seconds: number;
  /** CPU seconds of all its processes. */
  readonly cpu: number;
  readonly milliseconds: number;
  /** The AWS calls recorded at moto's door while it ran. */
  readonly awsCalls: readonly string[];
}

/** The copier with `args` over `map` into `registry`, with `extraEnv`, traced and under WITH_TIMES. */
export async function tracedCopier(
  bench: Bench,
  args: readonly string[],
  map: Record<string, string>,
  registry: Registry | undefined,
  extraEnv: Record<string, string> = {},
): Promise<TracedRun> {
  const env = bench.copierEnv(map, registry, { ...extraEnv, ECR_SYNC_TRACE: "1" });
  const mark = bench.world.awsCalls.mark();
  const run = await timed(() => spawnInRoot([...WITH_TIMES, "node", copierBundle(), ...args], env));
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
    profile: profileOf(stderr, run.seconds),
    seconds: run.seconds,
    cpu: childrenCpuSeconds(stdout),
    milliseconds: run.seconds * 1000,
    awsCalls: bench.awsCallsSince(mark),
  };
}

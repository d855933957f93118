/**
 * What every bench stage works with: the started world, the plan, and the few actions the
 * stages share (a fresh target registry, one ecr-sync.sh copy or reconcile, the credential cache
 * made warm or cold, a temp dir), each registered for cleanup.
 *
 * Every run of the script runs inside the worker root (local/world.ts runScript, traced.ts) and
 * counts the `aws` processes it starts: PATH begins with a directory (in the temp dir, which the
 * root shares) whose `aws` runs the root's AWS CLI and appends one line per call, with its start
 * and end, to that run's own log. Every target registry's User-Agents are kept before it is dropped
 * (targetRegistryClients): which builds of skopeo and curl did the copying.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { Registry, startRegistry } from "../../local/registry";
import { workerToolPath } from "../../local/worker-root";
import {
  ecrPassword,
  EcrSyncWorld,
  runScript,
  RunResult,
  SOURCE_ACCOUNT,
  TARGET_ACCOUNT,
} from "../../local/world";
import { Cleanups } from "./cleanups";
import { registryClients } from "./in-root";
import { Interval, parseAwsLog } from "./stats";
import { Endpoint } from "./http";
import { Cache, Plan } from "./plan";

/** The variable the counting `aws` wrapper reads: the file it appends its line to. */
const AWS_LOG_VARIABLE = "ECR_SYNC_BENCH_AWS_LOG";

/** The aws processes one run started. */
export interface AwsCalls {
  /** One "SERVICE OPERATION" ("sts assume-role") per aws process, in the order they ended. */
  readonly awsCalls: readonly string[];
  /** When each ran (seconds of /proc/uptime): start, end. */
  readonly awsSpans: readonly Interval[];
}

/** One run of the script, with the aws processes it started. */
export interface CountedRun extends RunResult, AwsCalls {}

export interface Bench {
  readonly world: EcrSyncWorld;
  readonly plan: Plan;
  /** Tells this run's images apart from any other's (labels, layer seeds). */
  readonly runId: string;
  /** The world's source registry, as the HTTP client reaches it. */
  readonly sourceEndpoint: Endpoint;
  /** A target registry (the world's or a fresh one), as the HTTP client reaches it. */
  targetEndpoint(registry: Registry): Endpoint;
  /**
   * A new, empty target registry. A fresh registry rather than a fresh repository name, because
   * skopeo remembers where it saw each blob (its blob-info cache) and would mount it from another
   * repository of the same registry instead of sending it.
   */
  freshTarget(): Promise<Registry>;
  /** Stops a fresh target now rather than at exit. */
  dropTarget(registry: Registry): Promise<void>;
  /**
   * The User-Agents of every request to every target registry so far (fresh ones, dropped or not,
   * and the world's), with how many requests each sent: the copier's skopeo and curl, skopeo alone,
   * the baseline's and the seeding's Node requests ("" or "node").
   */
  targetRegistryClients(): Promise<Record<string, number>>;
  /**
   * The script's environment for `map` (source → target repository) into `targetRegistry`
   * (default the world's target), with PATH through the counting `aws` and its log at `awsLog`.
   */
  scriptEnv(
    map: Record<string, string>,
    targetRegistry: Registry | undefined,
    awsLog: string,
  ): Record<string, string>;
  /** A new file name for one run's aws log. */
  awsLog(): string;
  /** Reads an aws log (a run that started no aws process leaves none). */
  awsCallsIn(awsLog: string): Promise<AwsCalls>;
  /** `ecr-sync.sh copy`, into `targetRegistry` (default the world's target). */
  copy(source: string, target: string, tag: string, targetRegistry?: Registry): Promise<CountedRun>;
  /** `ecr-sync.sh reconcile [ARGS]` over `map` (source → target repository). */
  reconcile(map: Record<string, string>, targetRegistry?: Registry, args?: string[]): Promise<CountedRun>;
  /**
   * Puts the credential cache in `cache` state for the next run of `map` into `targetRegistry`.
   * cold: removes ECR_SYNC_STATE_DIR/cache. warm: `reconcile --dry-run` over `map` into that
   * registry, which caches what the run needs (the role's credentials, both passwords for these
   * registries, the target repository's description) and writes nothing to any registry; just
   * before the run, so that no entry has aged (a description lives 5 minutes).
   */
  prepareCache(cache: Cache, map: Record<string, string>, targetRegistry?: Registry): Promise<void>;
  /** A private temp dir, removed at exit. */
  tempDir(prefix: string): Promise<string>;
}

/**
 * Writes the counting `aws` into `dir`, for use inside the worker root: the root's `sh` runs it, and
 * it runs the root's AWS CLI by its path there. It reads the clock from /proc/uptime with the
 * shell's own `read` (10 ms steps, no process started: an aws call takes hundreds of ms), and waits
 * for the CLI instead of exec'ing it, to stamp its end.
 */
async function writeAwsCounter(dir: string): Promise<void> {
  const real = workerToolPath("aws");
  if (!real)
    throw new Error(
      "the worker root has no aws: the copier needs the AWS CLI there (run `npm run -s worker-root`, which rebuilds a root whose package list changed)",
    );
  await writeFile(
    join(dir, "aws"),
    [
      "#!/bin/sh",
      "# Counts the aws processes of one bench run: the real CLI, then a line per call into that run's log.",
      `[ -n "\${${AWS_LOG_VARIABLE}:-}" ] || exec '${real}' "$@"`,
      "read -r started _ </proc/uptime",
      `'${real}' "$@"`,
      "code=$?",
      "read -r ended _ </proc/uptime",
      `printf '%s %s %s %s\\n' "\${1:--}" "\${2:--}" "$started" "$ended" >>"\${${AWS_LOG_VARIABLE}}"`,
      'exit "$code"',
      "",
    ].join("\n"),
  );
  await chmod(join(dir, "aws"), 0o755);
}

export async function startBenchSession(
  world: EcrSyncWorld,
  plan: Plan,
  runId: string,
  cleanups: Cleanups,
): Promise<Bench> {
  const binDir = await mkdtemp(join(os.tmpdir(), "ecr-sync-bench-bin-"));
  cleanups.add(() => rm(binDir, { recursive: true, force: true }));
  await writeAwsCounter(binDir);
  let logs = 0;
  const liveRegistries = new Set<Registry>();
  const droppedClients: Array<Record<string, number>> = [];
  const dropTarget = async (registry: Registry) => {
    if (!liveRegistries.delete(registry)) return;
    droppedClients.push(await registryClients(registry).catch(() => ({})));
    await registry.stop();
  };
  const targetRegistryClients = async () => {
    const all: Record<string, number> = {};
    const live = await Promise.all([world.target, ...liveRegistries].map(registryClients));
    for (const clients of [...droppedClients, ...live])
      for (const [agent, requests] of Object.entries(clients)) all[agent] = (all[agent] ?? 0) + requests;
    return all;
  };
  const scriptEnv = (map: Record<string, string>, registry: Registry | undefined, awsLog: string) =>
    world.env({
      PATH: `${binDir}:${process.env.PATH ?? ""}`,
      [AWS_LOG_VARIABLE]: awsLog,
      ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map),
      ...(registry ? { ECR_SYNC_TARGET_REGISTRY: registry.host } : {}),
    });
  const awsLog = () => join(binDir, `aws.${++logs}.log`);
  const awsCallsIn = async (log: string): Promise<AwsCalls> => {
    const { calls, spans } = parseAwsLog(await readFile(log, "utf8").catch(() => ""));
    return { awsCalls: calls, awsSpans: spans };
  };
  const counted = async (args: string[], map: Record<string, string>, registry?: Registry) => {
    const log = awsLog();
    const result = await runScript(args, scriptEnv(map, registry, log));
    return { ...result, ...(await awsCallsIn(log)) };
  };
  const reconcile = (map: Record<string, string>, registry?: Registry, args: string[] = []) =>
    counted(["reconcile", ...args], map, registry);
  return {
    world,
    plan,
    runId,
    sourceEndpoint: { host: world.source.host, password: ecrPassword(SOURCE_ACCOUNT) },
    targetEndpoint: (registry) => ({ host: registry.host, password: ecrPassword(TARGET_ACCOUNT) }),
    async freshTarget() {
      const registry = await startRegistry({
        name: "bench-target",
        users: { AWS: ecrPassword(TARGET_ACCOUNT) },
      });
      liveRegistries.add(registry);
      cleanups.add(() => dropTarget(registry));
      return registry;
    },
    dropTarget,
    targetRegistryClients,
    scriptEnv,
    awsLog,
    awsCallsIn,
    // copy stays inside the mapping (ecr-sync.sh refuses any other pair): this pair is the map.
    copy: (source, target, tag, registry) =>
      counted(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", tag],
        { [source]: target },
        registry,
      ),
    reconcile,
    async prepareCache(cache, map, registry) {
      if (cache === "cold") {
        await rm(join(world.stateDir, "cache"), { recursive: true, force: true });
        return;
      }
      const primed = await reconcile(map, registry, ["--dry-run"]);
      if (primed.code !== 0)
        throw new Error(
          `warming the cache (reconcile --dry-run of ${JSON.stringify(map)}) exited ${primed.code}:\n${primed.stderr}`,
        );
    },
    async tempDir(prefix) {
      const dir = await mkdtemp(join(os.tmpdir(), prefix));
      cleanups.add(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}

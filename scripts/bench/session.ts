/**
 * What every bench stage works with: the started world, the plan, and the few actions the
 * stages share (a fresh target registry, one copier copy or reconcile, a temp dir), each
 * registered for cleanup.
 *
 * Every copier run runs its bundle inside the worker root with the root's node, skopeo and flock
 * (local/world.ts spawnScript), with a results log group as the documents give it (so it
 * publishes its telemetry, two AWS calls, as on the worker), under a shell that counts its CPU
 * (in-root.ts WITH_TIMES). Its AWS calls are counted at moto's door: the world's recording proxy
 * (world.awsCalls) sees each one, so a run's are those recorded between its start and its end (the
 * bench runs one thing at a time; a burst's copies are counted together). withCpu adds the CPU
 * the registries and moto used meanwhile (cpu.ts). Every target registry's User-Agents are kept
 * before it is dropped (targetRegistryClients): which builds of skopeo did the copying.
 */
import { CreateLogGroupCommand, CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { Registry, startRegistry } from "../../local/registry";
import { RESULTS_LOG_GROUP_ENV, resultsLogGroupName } from "../../common/telemetry";
import {
  callNames,
  copyArgs,
  ecrPassword,
  EcrSyncWorld,
  RunResult,
  spawnScript,
  TARGET_ACCOUNT,
  SOURCE_ACCOUNT,
} from "../../local/world";
import { Cleanups } from "./cleanups";
import { childrenCpuSeconds, cpuMark, cpuSince, CpuUse, motoPid, registryPid } from "./cpu";
import { Endpoint } from "./http";
import { registryClients, WITH_TIMES } from "./in-root";
import { timed } from "./measure";
import { Plan } from "./plan";

/** One run of the copier, with the AWS calls ("sts AssumeRole", …) recorded while it ran and the CPU of its processes. */
export interface CountedRun extends RunResult {
  readonly awsCalls: readonly string[];
  /** CPU seconds of the copier's processes (bwrap, node, skopeo, flock), from the shell's `times`. */
  readonly cpu: number;
}

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
   * and the world's), with how many requests each sent: the copier's skopeo and Node's fetch, skopeo
   * alone, the baseline's and the seeding's Node requests ("" or "node").
   */
  targetRegistryClients(): Promise<Record<string, number>>;
  /** The copier's environment for `map` (source → target repository) into `targetRegistry` (default the world's target). */
  copierEnv(
    map: Record<string, string>,
    targetRegistry?: Registry,
    extra?: Record<string, string>,
  ): Record<string, string>;
  /** The AWS calls recorded after `mark` (world.awsCalls.mark()), as "SERVICE OPERATION". */
  awsCallsSince(mark: number): string[];
  /** `ecr-sync copy`, into `targetRegistry` (default the world's target). */
  copy(source: string, target: string, tag: string, targetRegistry?: Registry): Promise<CountedRun>;
  /** `ecr-sync reconcile [ARGS]` over `map` (source → target repository). */
  reconcile(map: Record<string, string>, targetRegistry?: Registry, args?: string[]): Promise<CountedRun>;
  /**
   * Times `action` (copier runs into `targetRegistry`, default the world's target) and measures the
   * CPU it used: the runs' own, the source and target registries', moto's, and the rest of the
   * machine's meanwhile.
   */
  withCpu(
    targetRegistry: Registry | undefined,
    action: () => Promise<CountedRun[]>,
  ): Promise<{ runs: CountedRun[]; seconds: number; cpu: CpuUse }>;
  /** This machine's cores: CPU seconds over these are the least time a run can take. */
  readonly cores: number;
  /** A private temp dir, removed at exit. */
  tempDir(prefix: string): Promise<string>;
}

export async function startBenchSession(
  world: EcrSyncWorld,
  plan: Plan,
  runId: string,
  cleanups: Cleanups,
): Promise<Bench> {
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
  // Every copier run publishes its figures and result events, as the documents have it do on the
  // worker (two more AWS calls at its end, before it exits), into moto's CloudWatch.
  const resultsLogGroup = resultsLogGroupName("ecr-sync-bench");
  const logs = new CloudWatchLogsClient(world.moto.clientConfig());
  await logs.send(new CreateLogGroupCommand({ logGroupName: resultsLogGroup }));
  logs.destroy();
  const copierEnv = (map: Record<string, string>, registry?: Registry, extra: Record<string, string> = {}) =>
    world.env({
      [RESULTS_LOG_GROUP_ENV]: resultsLogGroup,
      ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map),
      ...(registry ? { ECR_SYNC_TARGET_REGISTRY: registry.host } : {}),
      ...extra,
    });
  const awsCallsSince = (mark: number) => callNames(world.awsCalls.since(mark));
  const counted = async (args: string[], map: Record<string, string>, registry?: Registry) => {
    const mark = world.awsCalls.mark();
    const result = await spawnScript(args, copierEnv(map, registry), { prefix: WITH_TIMES }).result;
    return { ...result, awsCalls: awsCallsSince(mark), cpu: childrenCpuSeconds(result.stderr) };
  };
  const pids = new Map<Registry, number>();
  const pidOf = async (registry: Registry) => {
    if (!pids.has(registry)) pids.set(registry, await registryPid(registry));
    return pids.get(registry) as number;
  };
  const moto = await motoPid(world.moto.endpoint);
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
    copierEnv,
    awsCallsSince,
    // copy stays inside the mapping (the copier refuses any other pair): this pair is the map.
    copy: (source, target, tag, registry) =>
      counted(copyArgs(source, target, tag), { [source]: target }, registry),
    reconcile: (map, registry, args = []) => counted(["reconcile", ...args], map, registry),
    async withCpu(registry, action) {
      const mark = await cpuMark({
        registries: [await pidOf(world.source), await pidOf(registry ?? world.target)],
        moto,
      });
      const { value: runs, seconds } = await timed(action);
      const copier = runs.reduce((sum, run) => sum + run.cpu, 0);
      return { runs, seconds, cpu: await cpuSince(mark, copier) };
    },
    cores: os.availableParallelism(),
    async tempDir(prefix) {
      const dir = await mkdtemp(join(os.tmpdir(), prefix));
      cleanups.add(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}

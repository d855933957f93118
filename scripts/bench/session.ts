/**
 * What every bench stage works with: the started world, the plan, and the few actions the
 * stages share (a fresh target registry, one ecr-sync.sh copy or reconcile, a temp dir), each
 * registered for cleanup.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { Registry, startRegistry } from "../../local/registry";
import {
  ecrPassword,
  EcrSyncWorld,
  runScript,
  RunResult,
  SOURCE_ACCOUNT,
  TARGET_ACCOUNT,
} from "../../local/world";
import { Cleanups } from "./cleanups";
import { Endpoint } from "./http";
import { Plan } from "./plan";

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
  /** `ecr-sync.sh copy`, into `targetRegistry` (default the world's target). */
  copy(
    source: string,
    target: string,
    tag: string,
    targetRegistry?: Registry,
    extraEnv?: Record<string, string>,
  ): Promise<RunResult>;
  /** `ecr-sync.sh reconcile` over `map` (source → target repository). */
  reconcile(map: Record<string, string>, targetRegistry?: Registry): Promise<RunResult>;
  /** A private temp dir, removed at exit. */
  tempDir(prefix: string): Promise<string>;
}

export function benchSession(world: EcrSyncWorld, plan: Plan, runId: string, cleanups: Cleanups): Bench {
  const liveRegistries = new Set<Registry>();
  const dropTarget = async (registry: Registry) => {
    if (liveRegistries.delete(registry)) await registry.stop();
  };
  const targetRegistryEnv = (registry?: Registry) =>
    registry ? { ECR_SYNC_TARGET_REGISTRY: registry.host } : {};
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
    copy: (source, target, tag, targetRegistry, extraEnv = {}) =>
      runScript(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", tag],
        // copy stays inside the mapping (ecr-sync.sh refuses any other pair): this pair is the map.
        world.env({
          ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
          ...targetRegistryEnv(targetRegistry),
          ...extraEnv,
        }),
      ),
    reconcile: (map, targetRegistry) =>
      runScript(
        ["reconcile"],
        world.env({ ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map), ...targetRegistryEnv(targetRegistry) }),
      ),
    async tempDir(prefix) {
      const dir = await mkdtemp(join(os.tmpdir(), prefix));
      cleanups.add(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}

/**
 * Stage 5, continued: the backfill. `ecr-sync reconcile` into an empty target copies 50 small tags
 * that are missing there (ECR_SYNC_RECONCILE_PARALLELISM at a time, its default); every one must
 * arrive with its digest. With the CPU it and the servers used (cpu.ts): on 2 cores, CPU seconds
 * over 2 are the least time a backfill can take at any parallelism.
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { cpuFigures, CpuUse, floorLine, medianCpu } from "./cpu";
import { expectOk, inBatches, Measured, numberedTags, progress, repeated } from "./measure";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-backfill-src";
const TARGET_REPOSITORY = "bench-backfill";
const MAP = { [SOURCE_REPOSITORY]: TARGET_REPOSITORY };

/** One backfill: its time, AWS calls and CPU. */
export interface BackfillRun {
  readonly seconds: number;
  readonly aws: number;
  readonly cpu: CpuUse;
}

/** Checks every tag arrived in `registry` with its digest. */
async function checkArrived(
  registry: Registry,
  tags: readonly string[],
  digests: readonly string[],
  what: string,
): Promise<void> {
  const arrived = await inBatches(
    tags,
    10,
    async (tag, i) => (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i],
  );
  if (arrived.some((ok) => !ok))
    throw new Error(`${what}: ${arrived.filter((ok) => !ok).length} tags missing or different on the target`);
}

export async function measureBackfill(bench: Bench): Promise<Measured> {
  const { world, plan, runId } = bench;
  progress(`seeding ${plan.backfillTags} small tags for the backfill`);
  await world.createTargetRepository(TARGET_REPOSITORY);
  const tags = numberedTags("b", plan.backfillTags, 3);
  const digests = await inBatches(tags, 8, (tag) =>
    seedImage([[bench.sourceEndpoint, SOURCE_REPOSITORY]], {
      tag,
      layerContent: randomBytes(16 * 1024),
      label: `${runId}-${tag}`,
    }),
  );
  const runs = await repeated(plan.runs.backfill, async (run) => {
    const registry = await bench.freshTarget();
    const {
      runs: [result],
      seconds,
      cpu,
    } = await bench.withCpu(registry, async () => [await bench.reconcile(MAP, registry)]);
    expectOk(result, "copied", `backfill run ${run}`);
    await checkArrived(registry, tags, digests, `backfill run ${run}`);
    await bench.dropTarget(registry);
    progress(
      `backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}: ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls`,
    );
    return { seconds, aws: result.awsCalls.length, cpu };
  });
  return backfillReport(plan.backfillTags, runs, bench.cores);
}

/** Medians of the time and the CPU; AWS calls: the most of any run. */
export function backfillReport(tagCount: number, runs: readonly BackfillRun[], cores: number): Measured {
  const time = median(runs.map((run) => run.seconds));
  const aws = Math.max(...runs.map((run) => run.aws));
  const cpu = medianCpu(runs.map((run) => run.cpu));
  const figure = `backfill: reconcile of ${tagCount} missing small tags`;
  return {
    figures: {
      backfill_s: round(time),
      backfill_aws: aws,
      ...cpuFigures("backfill", cpu, cores),
    },
    rows: [
      judgedRow(
        { figure, measured: `${time.toFixed(2)} s (${(time / tagCount).toFixed(3)} s per tag)`, aws },
        "backfill",
        TARGETS.backfill,
        [time],
        floorLine(`backfill of ${tagCount}`, TARGETS.backfill.limits[0].limit, cpu, cores),
      ),
    ],
  };
}

/**
 * Stage 5, continued: the backfill. `ecr-sync.sh reconcile` into an empty target copies 50 small
 * tags that are missing there (ECR_SYNC_RECONCILE_PARALLELISM at a time, its default), with a warm
 * and with a cold credential cache; every one must arrive with its digest.
 */
import { randomBytes } from "node:crypto";
import { expectOk, inBatches, Measured, numberedTags, progress, timed, warmAndCold } from "./measure";
import { Cache, CACHES } from "./plan";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, round, Row } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-backfill-src";
const TARGET_REPOSITORY = "bench-backfill";
const MAP = { [SOURCE_REPOSITORY]: TARGET_REPOSITORY };

/** One backfill: its time and aws processes. */
export interface BackfillRun {
  readonly seconds: number;
  readonly aws: number;
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
  const runs = await warmAndCold(plan.runs.backfill, async (cache, run) => {
    const registry = await bench.freshTarget();
    await bench.prepareCache(cache, MAP, registry);
    const { value: result, seconds } = await timed(() => bench.reconcile(MAP, registry));
    expectOk(result, "copied", `backfill run ${run} (${cache})`);
    const arrived = await inBatches(
      tags,
      10,
      async (tag, i) => (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i],
    );
    if (arrived.some((ok) => !ok))
      throw new Error(
        `backfill run ${run} (${cache}): ${arrived.filter((ok) => !ok).length} tags missing or different on the target`,
      );
    await bench.dropTarget(registry);
    progress(
      `backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}, ${cache} cache: ${seconds.toFixed(2)} s, ${result.awsCalls.length} aws`,
    );
    return { seconds, aws: result.awsCalls.length };
  });
  return backfillReport(plan.backfillTags, runs);
}

/** The target is judged in both states (it is set for the backfill, not only a warm one). */
export function backfillReport(tagCount: number, runs: Record<Cache, readonly BackfillRun[]>): Measured {
  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  for (const cache of CACHES) {
    const time = median(runs[cache].map((run) => run.seconds));
    const aws = Math.max(...runs[cache].map((run) => run.aws));
    Object.assign(figures, {
      [`backfill_${cache}_s`]: round(time),
      [`backfill_${cache}_per_tag_s`]: round(time / tagCount),
      [`backfill_${cache}_aws`]: aws,
    });
    rows.push(
      judgedRow(
        {
          figure: `backfill: reconcile copying ${tagCount} missing small tags`,
          cache,
          measured: `${time.toFixed(2)} s (${(time / tagCount).toFixed(3)} s per tag)`,
          aws,
        },
        `backfill_${cache}`,
        TARGETS.backfill,
        [time],
      ),
    );
  }
  return { figures, rows };
}

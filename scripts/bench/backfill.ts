/**
 * Stage 5, continued: the backfill. `ecr-sync.sh reconcile` into an empty target copies 50 small
 * tags that are missing there; every one must arrive with its digest.
 */
import { randomBytes } from "node:crypto";
import { expectOk, inBatches, Measured, numberedTags, progress, timed } from "./measure";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, round } from "./stats";

const SOURCE_REPOSITORY = "bench-backfill-src";
const TARGET_REPOSITORY = "bench-backfill";

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
  const times: number[] = [];
  for (let run = 1; run <= plan.runs.backfill; run++) {
    const registry = await bench.freshTarget();
    const { value: result, seconds } = await timed(() =>
      bench.reconcile({ [SOURCE_REPOSITORY]: TARGET_REPOSITORY }, registry),
    );
    expectOk(result, "copied", `backfill run ${run}`);
    const arrived = await inBatches(
      tags,
      10,
      async (tag, i) => (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i],
    );
    if (arrived.some((ok) => !ok))
      throw new Error(
        `backfill run ${run}: ${arrived.filter((ok) => !ok).length} tags missing or different on the target`,
      );
    times.push(seconds);
    await bench.dropTarget(registry);
    progress(`backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}: ${seconds.toFixed(2)} s`);
  }
  return backfillReport(plan.backfillTags, times);
}

export function backfillReport(tagCount: number, times: readonly number[]): Measured {
  const backfill = median(times);
  return {
    figures: { backfill_50_s: round(backfill), backfill_per_tag_s: round(backfill / tagCount) },
    rows: [
      {
        figure: `backfill: reconcile copying ${tagCount} missing small tags`,
        measured: `${backfill.toFixed(2)} s (${(backfill / tagCount).toFixed(2)} s per tag)`,
      },
    ],
  };
}

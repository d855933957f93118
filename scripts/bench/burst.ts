/**
 * Stage 6, the burst: 20 copies of 20 tags started at once into an empty target, as a push
 * storm would start them. Every copy must arrive with its digest; if one does not, the bench
 * exits 1 after the report.
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { RunResult } from "../../local/world";
import { inBatches, Measured, numberedTags, progress, timed } from "./measure";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, mib, round } from "./stats";

const SOURCE_REPOSITORY = "bench-burst-src";
const TARGET_REPOSITORY = "bench-burst";

/** How many of the copies exited 0 and left their tag with the right digest; names each that did not. */
async function countArrived(
  registry: Registry,
  tags: readonly string[],
  digests: readonly string[],
  results: readonly RunResult[],
  run: number,
): Promise<number> {
  let arrived = 0;
  for (const [i, tag] of tags.entries()) {
    if (results[i].code === 0 && (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i])
      arrived += 1;
    else
      progress(
        `burst run ${run}: ${tag} did not arrive (exit ${results[i].code}): ${results[i].stderr.trim().split("\n").pop()}`,
      );
  }
  return arrived;
}

export async function measureBurst(bench: Bench): Promise<Measured> {
  const { world, plan, runId } = bench;
  progress(`seeding ${plan.burstCopies} images of ${mib(plan.burstLayerBytes)} for the burst`);
  await world.createTargetRepository(TARGET_REPOSITORY);
  const tags = numberedTags("r", plan.burstCopies, 2);
  const digests = await inBatches(tags, 4, (tag) =>
    seedImage([[bench.sourceEndpoint, SOURCE_REPOSITORY]], {
      tag,
      layerContent: randomBytes(plan.burstLayerBytes),
      label: `${runId}-${tag}`,
    }),
  );
  const times: number[] = [];
  let worstArrived = plan.burstCopies;
  for (let run = 1; run <= plan.runs.burst; run++) {
    const registry = await bench.freshTarget();
    const { value: results, seconds } = await timed(() =>
      Promise.all(tags.map((tag) => bench.copy(SOURCE_REPOSITORY, TARGET_REPOSITORY, tag, registry))),
    );
    const arrived = await countArrived(registry, tags, digests, results, run);
    worstArrived = Math.min(worstArrived, arrived);
    times.push(seconds);
    await bench.dropTarget(registry);
    progress(
      `burst of ${plan.burstCopies} copies ${run}/${plan.runs.burst}: ${seconds.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived`,
    );
  }
  return burstReport(plan, times, worstArrived);
}

/** `arrived`: copies that arrived in the worst run. */
export function burstReport(
  plan: { readonly burstCopies: number; readonly burstLayerBytes: number },
  times: readonly number[],
  arrived: number,
): Measured {
  const burst = median(times);
  return {
    figures: { burst_20_s: round(burst), burst_20_arrived: arrived },
    rows: [
      {
        figure: `burst: ${plan.burstCopies} copies started at once (${mib(plan.burstLayerBytes)} each)`,
        measured: `${burst.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived (worst run)`,
        target: "all arrive",
        met: arrived === plan.burstCopies,
      },
    ],
    correct: arrived === plan.burstCopies,
  };
}

/**
 * Stage 6, the burst: 20 copies of 20 tags started at once into an empty target, as a push
 * storm would start them, with a warm and with a cold credential cache (cold, the copies find
 * the cache empty together: one renews it under its lock, the others then read it). Every copy
 * must arrive with its digest; if one does not, the bench exits 1 after the report.
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { RunResult } from "../../local/world";
import { inBatches, Measured, numberedTags, progress, timed, warmAndCold } from "./measure";
import { Cache, CACHES } from "./plan";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { awsNote, median, mib, round, Row, unionLength } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-burst-src";
const TARGET_REPOSITORY = "bench-burst";
const MAP = { [SOURCE_REPOSITORY]: TARGET_REPOSITORY };

/** How many of the copies exited 0 and left their tag with the right digest; names each that did not. */
async function countArrived(
  registry: Registry,
  tags: readonly string[],
  digests: readonly string[],
  results: readonly RunResult[],
  what: string,
): Promise<number> {
  let arrived = 0;
  for (const [i, tag] of tags.entries()) {
    if (results[i].code === 0 && (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i])
      arrived += 1;
    else
      progress(
        `${what}: ${tag} did not arrive (exit ${results[i].code}): ${results[i].stderr.trim().split("\n").pop()}`,
      );
  }
  return arrived;
}

/** One burst: its time, the copies that arrived, and the aws processes all of them started together. */
export interface BurstRun {
  readonly seconds: number;
  readonly arrived: number;
  readonly aws: number;
  /** Wall seconds during which an aws process of any of its copies was running. */
  readonly awsSeconds: number;
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
  const runs = await warmAndCold(plan.runs.burst, async (cache, run) => {
    const registry = await bench.freshTarget();
    await bench.prepareCache(cache, MAP, registry);
    const { value: results, seconds } = await timed(() =>
      Promise.all(tags.map((tag) => bench.copy(SOURCE_REPOSITORY, TARGET_REPOSITORY, tag, registry))),
    );
    const what = `burst run ${run} (${cache})`;
    const arrived = await countArrived(registry, tags, digests, results, what);
    const aws = results.reduce((sum, result) => sum + result.awsCalls.length, 0);
    const awsSeconds = unionLength(results.flatMap((result) => result.awsSpans));
    await bench.dropTarget(registry);
    progress(
      `burst of ${plan.burstCopies} copies ${run}/${plan.runs.burst}, ${cache} cache: ${seconds.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived, ${aws} aws in all`,
    );
    return { seconds, arrived, aws, awsSeconds };
  });
  return burstReport(plan, runs);
}

/** Arrived: the worst run; aws processes: the most any burst started, all its copies together. */
export function burstReport(
  plan: { readonly burstCopies: number; readonly burstLayerBytes: number },
  runs: Record<Cache, readonly BurstRun[]>,
): Measured {
  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  let correct = true;
  for (const cache of CACHES) {
    const time = median(runs[cache].map((run) => run.seconds));
    const arrived = Math.min(...runs[cache].map((run) => run.arrived));
    const aws = Math.max(...runs[cache].map((run) => run.aws));
    const awsSeconds = median(runs[cache].map((run) => run.awsSeconds));
    correct &&= arrived === plan.burstCopies;
    Object.assign(figures, {
      [`burst_${cache}_s`]: round(time),
      [`burst_${cache}_arrived`]: arrived,
      [`burst_${cache}_aws`]: aws,
      [`burst_${cache}_aws_s`]: round(awsSeconds),
    });
    const row: Row = {
      figure: `burst: ${plan.burstCopies} copies started at once (${mib(plan.burstLayerBytes)} each), aws in all`,
      cache,
      measured: `${time.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived (worst run)${awsNote(awsSeconds)}`,
      aws,
    };
    rows.push(
      cache === "warm"
        ? judgedRow(row, "burst_warm", TARGETS.burstWarm(plan.burstCopies), [time, arrived])
        : judgedRow(row, "burst_cold", TARGETS.burstCold(plan.burstCopies), [arrived]),
    );
  }
  return { figures, rows, correct };
}

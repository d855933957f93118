/**
 * Stage 6, the burst: 20 copies of 20 tags started at once into an empty target, as a push
 * storm would start them (each its own process: its own Node start, SDK load and AWS calls, as
 * SSM runs them). Every copy must arrive with its digest; if one does not, the bench exits 1 after
 * the report. With the CPU all of them and the servers used (cpu.ts).
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { RunResult } from "../../local/world";
import { cpuFigures, CpuUse, floorLine, medianCpu } from "./cpu";
import { inBatches, Measured, numberedTags, progress, repeated } from "./measure";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, mib, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-burst-src";
const TARGET_REPOSITORY = "bench-burst";

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

/** One burst: its time, the copies that arrived, and the AWS calls and CPU all of them used together. */
export interface BurstRun {
  readonly seconds: number;
  readonly arrived: number;
  readonly aws: number;
  readonly cpu: CpuUse;
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
  const runs = await repeated(plan.runs.burst, async (run) => {
    const registry = await bench.freshTarget();
    const mark = world.awsCalls.mark();
    const {
      runs: results,
      seconds,
      cpu,
    } = await bench.withCpu(registry, () =>
      Promise.all(tags.map((tag) => bench.copy(SOURCE_REPOSITORY, TARGET_REPOSITORY, tag, registry))),
    );
    const aws = bench.awsCallsSince(mark).length;
    const arrived = await countArrived(registry, tags, digests, results, `burst run ${run}`);
    await bench.dropTarget(registry);
    progress(
      `burst of ${plan.burstCopies} copies ${run}/${plan.runs.burst}: ${seconds.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived, ${aws} AWS calls in all`,
    );
    return { seconds, arrived, aws, cpu };
  });
  return burstReport(plan, runs, bench.cores);
}

/** Time and CPU: the medians; arrived: the worst run; AWS calls: the most any burst made, all its copies together. */
export function burstReport(
  plan: { readonly burstCopies: number; readonly burstLayerBytes: number },
  runs: readonly BurstRun[],
  cores: number,
): Measured {
  const time = median(runs.map((run) => run.seconds));
  const cpu = medianCpu(runs.map((run) => run.cpu));
  const figure = `burst: ${plan.burstCopies} copies at once (${mib(plan.burstLayerBytes)} each; AWS calls: all)`;
  const arrived = Math.min(...runs.map((run) => run.arrived));
  const aws = Math.max(...runs.map((run) => run.aws));
  return {
    figures: {
      burst_s: round(time),
      burst_arrived: arrived,
      burst_aws: aws,
      ...cpuFigures("burst", cpu, cores),
    },
    rows: [
      judgedRow(
        { figure, measured: `${time.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived (worst run)`, aws },
        "burst",
        TARGETS.burst(plan.burstCopies),
        [time, arrived],
        floorLine(
          `burst of ${plan.burstCopies}`,
          TARGETS.burst(plan.burstCopies).limits[0].limit,
          cpu,
          cores,
        ),
      ),
    ],
    correct: arrived === plan.burstCopies,
  };
}

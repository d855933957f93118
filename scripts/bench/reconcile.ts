/**
 * Stage 5, the reconcile: `ecr-sync reconcile` over a repository of 200 tags already in sync on both
 * sides (10 with --quick), with the CPU it and the servers used (cpu.ts). The tags are seeded over
 * HTTP and share one layer, uploaded once per repository.
 */
import { randomBytes } from "node:crypto";
import { cpuFigures, CpuUse, floorLine, medianCpu } from "./cpu";
import { expectOk, imageLines, inBatches, Measured, numberedTags, progress, repeated } from "./measure";
import { Bench } from "./session";
import { uploadSharedLayer, Place, seedImage } from "./seed";
import { median, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

/** The tag count the target is set for. */
const TARGET_TAGS = 200;

/** One reconcile: its time, AWS calls and CPU. */
export interface ReconcileRun {
  readonly seconds: number;
  readonly aws: number;
  readonly cpu: CpuUse;
}

export async function measureReconcile(bench: Bench): Promise<Measured> {
  const { world, plan, runId } = bench;
  const tags = plan.reconcileTags;
  const source = `bench-sync-${tags}-src`;
  const target = `bench-sync-${tags}`;
  const map = { [source]: target };
  await world.createTargetRepository(target);
  progress(`seeding ${tags} tags, in sync on both sides`);
  const places: Place[] = [
    [bench.sourceEndpoint, source],
    [bench.targetEndpoint(world.target), target],
  ];
  const sharedLayer = randomBytes(4096);
  await uploadSharedLayer(places, sharedLayer);
  await inBatches(numberedTags("t", tags, 4), 8, (tag) =>
    seedImage(places, { tag, layerContent: sharedLayer, label: `${runId}-${tag}`, layerUploaded: true }),
  );
  const runs = await repeated(plan.runs.reconcile, async (run) => {
    const {
      runs: [result],
      seconds,
      cpu,
    } = await bench.withCpu(undefined, async () => [await bench.reconcile(map)]);
    expectOk(result, "unchanged", `reconcile of ${tags} in-sync tags, run ${run}`);
    const images = imageLines(result).length;
    if (images !== tags) throw new Error(`reconcile of ${tags} tags reported ${images} images`);
    progress(
      `reconcile, ${tags} tags in sync ${run}/${plan.runs.reconcile}: ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls`,
    );
    return { seconds, aws: result.awsCalls.length, cpu };
  });
  if (tags !== TARGET_TAGS) progress(`(--quick: ${tags} tags, not ${TARGET_TAGS}: the target is not judged)`);
  return reconcileReport(tags, runs, bench.cores);
}

/** Medians of the time and the CPU; AWS calls: the most of any run. The target is judged at 200 tags only. */
export function reconcileReport(tags: number, runs: readonly ReconcileRun[], cores: number): Measured {
  const time = median(runs.map((run) => run.seconds));
  const aws = Math.max(...runs.map((run) => run.aws));
  const cpu = medianCpu(runs.map((run) => run.cpu));
  const row = { figure: `reconcile, ${tags} tags in sync`, measured: `${time.toFixed(2)} s`, aws };
  const limit = TARGETS.reconcileInSync.limits[0].limit;
  return {
    figures: {
      reconcile_tags: tags,
      reconcile_in_sync_s: round(time),
      reconcile_in_sync_aws: aws,
      ...cpuFigures("reconcile_in_sync", cpu, cores),
    },
    rows: [
      tags === TARGET_TAGS
        ? judgedRow(
            row,
            "reconcile_in_sync",
            TARGETS.reconcileInSync,
            [time],
            floorLine(`reconcile of ${tags}`, limit, cpu, cores),
          )
        : row,
    ],
  };
}

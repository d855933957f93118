/**
 * Stage 1, the full copy: a ~200 MiB image of random layers copied into an empty target by the
 * copier and by the plain-HTTP baseline (the physical limit of moving the same bytes once: every
 * blob streamed once, all at once). The two take turns so neither always gets the warmer caches.
 * The last copier target stays, in sync, for the unchanged and incremental stages.
 */
import { BuiltImage, LayerSpec, layerBytes } from "../../local/oci";
import { Registry } from "../../local/registry";
import { httpCopyImage } from "./http";
import { expectOk, Measured, progress, timed } from "./measure";
import { MiB, Plan } from "./plan";
import { Bench } from "./session";
import { median, mib, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-full-src";
const TARGET_REPOSITORY = "bench-full";
const TAG = "v0";

/** The full copy's image, and a target registry that holds it: where the next stages start. */
export interface SyncedImage {
  readonly registry: Registry;
  readonly sourceRepository: string;
  readonly targetRepository: string;
  readonly tag: string;
  /** The image copied. */
  readonly image: BuiltImage;
  /** The image's layers but the top one: the incremental stage builds on them. */
  readonly baseLayers: readonly LayerSpec[];
}

/**
 * One run of one variant: each copies `image` into a fresh target and checks the target holds
 * its digest (and, for the baseline and the copier, that every layer byte was really sent).
 */
interface Copy {
  readonly bench: Bench;
  readonly image: BuiltImage;
  readonly run: number;
}

async function baselineRun({ bench, image, run }: Copy): Promise<number> {
  const registry = await bench.freshTarget();
  const { value: moved, seconds } = await timed(() =>
    httpCopyImage(
      bench.sourceEndpoint,
      SOURCE_REPOSITORY,
      bench.targetEndpoint(registry),
      TARGET_REPOSITORY,
      TAG,
    ),
  );
  const digest = await registry.digestOf(TARGET_REPOSITORY, TAG);
  if (digest !== image.digest)
    throw new Error(`baseline run ${run}: target holds ${digest}, not ${image.digest}`);
  if (moved < layerBytes(image))
    throw new Error(
      `baseline run ${run}: moved ${moved} bytes, fewer than the ${layerBytes(image)} layer bytes`,
    );
  await bench.dropTarget(registry);
  progress(`full copy ${run}/${bench.plan.runs.full}: baseline (plain HTTP) ${seconds.toFixed(2)} s`);
  return seconds;
}

/** One copier copy into a fresh target: its time and AWS calls. */
async function copierRun({
  bench,
  image,
  run,
}: Copy): Promise<{ seconds: number; aws: number; registry: Registry }> {
  const registry = await bench.freshTarget();
  const { value: result, seconds } = await timed(() =>
    bench.copy(SOURCE_REPOSITORY, TARGET_REPOSITORY, TAG, registry),
  );
  expectOk(result, "copied", `full copy run ${run}`);
  const digest = await registry.digestOf(TARGET_REPOSITORY, TAG);
  if (digest !== image.digest)
    throw new Error(`full copy run ${run}: target holds ${digest}, not ${image.digest}`);
  const received = (await registry.blobTraffic()).blobUploadBytes;
  if (received < layerBytes(image))
    throw new Error(
      `full copy run ${run}: target received ${received} blob bytes, fewer than the ${layerBytes(image)} layer bytes (not a fresh copy)`,
    );
  progress(
    `full copy ${run}/${bench.plan.runs.full}: the copier ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls`,
  );
  return { seconds, aws: result.awsCalls.length, registry };
}

export async function measureFullCopy(bench: Bench): Promise<{ measured: Measured; synced: SyncedImage }> {
  const { plan, world, runId } = bench;
  progress(
    `building a ${mib(plan.layerCount * plan.layerBytes)} image of ${plan.layerCount} random layers and pushing it to the source`,
  );
  const baseLayers = Array.from({ length: plan.layerCount - 1 }, (_, i) => ({
    size: plan.layerBytes,
    seed: `${runId}-base-${i}`,
  }));
  const image = await world.layout.addImage({
    layers: [...baseLayers, { size: plan.layerBytes, seed: `${runId}-top-0` }],
    label: `${runId}-v0`,
  });
  await world.pushToSource(image, SOURCE_REPOSITORY, TAG);
  await world.createTargetRepository(TARGET_REPOSITORY);

  const times: FullCopyTimes = { copier: [], baseline: [], aws: [] };
  let synced: Registry | undefined;
  for (let run = 1; run <= plan.runs.full; run++) {
    const one: Copy = { bench, image, run };
    // The order rotates from run to run, so no variant always gets the warmer caches.
    const variants = [
      async () => times.baseline.push(await baselineRun(one)),
      async () => {
        const { seconds, aws, registry } = await copierRun(one);
        times.copier.push(seconds);
        times.aws.push(aws);
        if (synced) await bench.dropTarget(synced);
        synced = registry;
      },
    ];
    for (let i = 0; i < variants.length; i++) await variants[(i + run - 1) % variants.length]();
  }
  if (!synced) throw new Error("no full copy ran");
  return {
    measured: fullCopyReport(plan, layerBytes(image), times),
    synced: {
      registry: synced,
      sourceRepository: SOURCE_REPOSITORY,
      targetRepository: TARGET_REPOSITORY,
      tag: TAG,
      image,
      baseLayers,
    },
  };
}

/** Seconds of every run of each variant, and the AWS calls of every copier run. */
export interface FullCopyTimes {
  readonly copier: number[];
  readonly baseline: number[];
  readonly aws: number[];
}

export function fullCopyReport(
  plan: Pick<Plan, "layerCount" | "layerBytes">,
  imageBytes: number,
  times: FullCopyTimes,
): Measured {
  const copier = median(times.copier);
  const baseline = median(times.baseline);
  const aws = Math.max(...times.aws);
  const speed = (seconds: number) => `${(imageBytes / MiB / seconds).toFixed(0)} MiB/s`;
  const image = `${plan.layerCount} x ${mib(plan.layerBytes)}`;
  return {
    figures: {
      image_layer_bytes: imageBytes,
      baseline_s: round(baseline),
      baseline_mib_per_s: round(imageBytes / MiB / baseline, 1),
      full_copy_s: round(copier),
      full_copy_ratio: round(copier / baseline, 2),
      full_copy_aws: aws,
      full_copy_mib_per_s: round(imageBytes / MiB / copier, 1),
    },
    rows: [
      judgedRow(
        {
          figure: `full copy, ${image} / plain-HTTP baseline`,
          measured: `${(copier / baseline).toFixed(2)}x: ${copier.toFixed(2)} s (${speed(copier)}) vs ${baseline.toFixed(2)} s`,
          aws,
        },
        "full_copy_ratio",
        TARGETS.fullCopyRatio,
        [copier / baseline],
      ),
    ],
  };
}

/**
 * Stage 1, the full copy: a ~200 MiB image of random layers copied into an empty target by
 * ecr-sync.sh, by the plain-HTTP baseline (the physical limit of moving the same bytes once) and
 * by `skopeo copy` alone (the copy without the script's auth calls). The variants take turns so
 * none always gets the warmer caches. The last ecr-sync.sh target stays, in sync, for the
 * unchanged and incremental stages.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { BuiltImage, LayerSpec, layerBytes, writeAuthFile } from "../../local/oci";
import { Registry } from "../../local/registry";
import { httpCopyImage } from "./http";
import { expectOk, Measured, progress, timed } from "./measure";
import { MiB, Plan } from "./plan";
import { Bench } from "./session";
import { median, mib, round } from "./stats";

const execFileAsync = promisify(execFile);

const SOURCE_REPOSITORY = "bench-full-src";
const TARGET_REPOSITORY = "bench-full";
const TAG = "v0";

/** The full copy's image, and a target registry that holds it: where the next stages start. */
export interface SyncedImage {
  readonly registry: Registry;
  readonly sourceRepository: string;
  readonly targetRepository: string;
  readonly tag: string;
  /** The image's layers but the top one: the incremental stage builds on them. */
  readonly baseLayers: readonly LayerSpec[];
}

/**
 * One run of one variant: each copies `image` into a fresh target and checks the target holds
 * its digest (and, for the baseline and ecr-sync.sh, that every layer byte was really sent).
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

async function scriptRun({ bench, image, run }: Copy): Promise<{ seconds: number; registry: Registry }> {
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
  return { seconds, registry };
}

async function skopeoRun({ bench, image, run }: Copy, authFile: string): Promise<number> {
  const registry = await bench.freshTarget();
  const { sourceEndpoint, world } = bench;
  await writeAuthFile(authFile, {
    [world.source.host]: { username: "AWS", password: sourceEndpoint.password },
    [registry.host]: { username: "AWS", password: bench.targetEndpoint(registry).password },
  });
  const { seconds } = await timed(() =>
    execFileAsync("skopeo", [
      "copy",
      ...["--all", "--preserve-digests", "--quiet", "--retry-times", "3", "--authfile", authFile],
      ...["--src-tls-verify=false", "--dest-tls-verify=false"],
      `docker://${world.source.host}/${SOURCE_REPOSITORY}@${image.digest}`,
      `docker://${registry.host}/${TARGET_REPOSITORY}:${TAG}`,
    ]),
  );
  if ((await registry.digestOf(TARGET_REPOSITORY, TAG)) !== image.digest)
    throw new Error(`skopeo-alone run ${run}: digest differs on the target`);
  await bench.dropTarget(registry);
  progress(`full copy ${run}/${bench.plan.runs.full}: skopeo copy alone ${seconds.toFixed(2)} s`);
  return seconds;
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
  const authFile = join(await bench.tempDir("ecr-sync-bench-auth-"), "auth.json");

  const times: FullCopyTimes = { copy: [], baseline: [], skopeo: [] };
  let synced: Registry | undefined;
  for (let run = 1; run <= plan.runs.full; run++) {
    const one: Copy = { bench, image, run };
    // The order rotates from run to run, so no variant always gets the warmer caches.
    const variants = [
      async () => times.baseline.push(await baselineRun(one)),
      async () => {
        const { seconds, registry } = await scriptRun(one);
        times.copy.push(seconds);
        if (synced) await bench.dropTarget(synced);
        synced = registry;
        progress(`full copy ${run}/${plan.runs.full}: ecr-sync.sh ${seconds.toFixed(2)} s`);
      },
      async () => times.skopeo.push(await skopeoRun(one, authFile)),
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
      baseLayers,
    },
  };
}

/** Seconds of every run of each variant. */
export interface FullCopyTimes {
  readonly copy: number[];
  readonly baseline: number[];
  readonly skopeo: number[];
}

export function fullCopyReport(
  plan: Pick<Plan, "layerCount" | "layerBytes">,
  imageBytes: number,
  times: FullCopyTimes,
): Measured {
  const fullCopy = median(times.copy);
  const baseline = median(times.baseline);
  const skopeoAlone = median(times.skopeo);
  return {
    figures: {
      image_layer_bytes: imageBytes,
      full_copy_s: round(fullCopy),
      baseline_s: round(baseline),
      full_copy_ratio: round(fullCopy / baseline, 2),
      full_copy_mib_per_s: round(imageBytes / MiB / fullCopy, 1),
      baseline_mib_per_s: round(imageBytes / MiB / baseline, 1),
      skopeo_alone_s: round(skopeoAlone),
      skopeo_alone_ratio: round(skopeoAlone / baseline, 2),
    },
    rows: [
      {
        figure: `full copy, ${plan.layerCount} x ${mib(plan.layerBytes)} (ecr-sync.sh)`,
        measured: `${fullCopy.toFixed(2)} s (${(imageBytes / MiB / fullCopy).toFixed(0)} MiB/s)`,
      },
      {
        figure: "baseline: plain HTTP GET->PUT, same blobs",
        measured: `${baseline.toFixed(2)} s (${(imageBytes / MiB / baseline).toFixed(0)} MiB/s)`,
      },
      {
        figure: "full copy / baseline",
        measured: `${(fullCopy / baseline).toFixed(2)}x`,
        target: "<= 1.3x",
        met: fullCopy / baseline <= 1.3,
      },
      {
        figure: "  skopeo copy alone (no auth calls) / baseline",
        measured: `${(skopeoAlone / baseline).toFixed(2)}x (${skopeoAlone.toFixed(2)} s)`,
      },
    ],
  };
}

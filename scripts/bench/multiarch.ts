/**
 * Stage 4, the multi-arch copy: an index of three platforms copied into an empty target. The
 * copy must preserve the index digest and bring every platform's manifest; if it does not, the
 * bench exits 1 after the report.
 */
import { BuiltIndex, layerBytes } from "../../local/oci";
import { expectOk, Measured, progress, timed } from "./measure";
import { PLATFORMS } from "./plan";
import { Bench } from "./session";
import { median, mib, round } from "./stats";

const SOURCE_REPOSITORY = "bench-multiarch-src";
const TARGET_REPOSITORY = "bench-multiarch";
const TAG = "multi";

/** One copy into a fresh target: its time, and whether the index and every platform arrived unchanged. */
async function multiArchRun(
  bench: Bench,
  index: BuiltIndex,
  run: number,
): Promise<{ seconds: number; preserved: boolean }> {
  const registry = await bench.freshTarget();
  const { value: result, seconds } = await timed(() =>
    bench.copy(SOURCE_REPOSITORY, TARGET_REPOSITORY, TAG, registry),
  );
  expectOk(result, "copied", `multi-arch copy run ${run}`);
  const sourceDigest = await bench.world.source.digestOf(SOURCE_REPOSITORY, TAG);
  const targetDigest = await registry.digestOf(TARGET_REPOSITORY, TAG);
  let platformsPresent = true;
  for (const image of index.images)
    platformsPresent &&= (await registry.digestOf(TARGET_REPOSITORY, image.digest)) === image.digest;
  await bench.dropTarget(registry);
  progress(
    `multi-arch copy ${run}/${bench.plan.runs.multiarch}: ${seconds.toFixed(2)} s, source ${sourceDigest?.slice(0, 19)} target ${targetDigest?.slice(0, 19)}, every platform present: ${platformsPresent}`,
  );
  const preserved = sourceDigest === index.digest && targetDigest === sourceDigest && platformsPresent;
  return { seconds, preserved };
}

export async function measureMultiArch(bench: Bench): Promise<Measured> {
  const { world, plan, runId } = bench;
  progress(`building a ${PLATFORMS.length}-platform index and pushing it to the source`);
  const index = await world.layout.addMultiArch(
    PLATFORMS,
    plan.multiarchLayers.map((size) => ({ size })),
    `${runId}-multi`,
  );
  await world.pushToSource(index, SOURCE_REPOSITORY, TAG);
  await world.createTargetRepository(TARGET_REPOSITORY);
  const times: number[] = [];
  let digestPreserved = true;
  for (let run = 1; run <= plan.runs.multiarch; run++) {
    const { seconds, preserved } = await multiArchRun(bench, index, run);
    times.push(seconds);
    digestPreserved &&= preserved;
  }
  return multiArchReport(layerBytes(index), times, digestPreserved);
}

/** `digestPreserved`: in every run. */
export function multiArchReport(
  indexLayerBytes: number,
  times: readonly number[],
  digestPreserved: boolean,
): Measured {
  return {
    figures: {
      multiarch_layer_bytes: indexLayerBytes,
      multiarch_copy_s: round(median(times)),
      multiarch_digest_preserved: digestPreserved,
    },
    rows: [
      {
        figure: `multi-arch copy: ${PLATFORMS.length} platforms, ${mib(indexLayerBytes)}`,
        measured: `${median(times).toFixed(2)} s, index digest ${digestPreserved ? "preserved" : "CHANGED"}`,
        target: "same digest",
        met: digestPreserved,
      },
    ],
    correct: digestPreserved,
  };
}

/**
 * Stage 4, the multi-arch copy: an index of three platforms copied into an empty target. The copy must preserve the index digest and bring every
 * platform's manifest; if it does not, the bench exits 1 after the report.
 */
import { BuiltIndex, layerBytes } from "../../local/oci";
import { expectOk, Measured, progress, repeated, timed } from "./measure";
import { PLATFORMS } from "./plan";
import { Bench } from "./session";
import { median, mib, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

const SOURCE_REPOSITORY = "bench-multiarch-src";
const TARGET_REPOSITORY = "bench-multiarch";
const TAG = "multi";

/** One run: its time, AWS calls, and whether the index and every platform arrived unchanged. */
export interface MultiArchRun {
  readonly seconds: number;
  readonly aws: number;
  readonly preserved: boolean;
}

/** One copy into a fresh target: its time, and whether the index and every platform arrived unchanged. */
async function multiArchRun(bench: Bench, index: BuiltIndex, run: number): Promise<MultiArchRun> {
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
    `multi-arch copy ${run}/${bench.plan.runs.multiarch}: ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls, source ${sourceDigest?.slice(0, 19)} target ${targetDigest?.slice(0, 19)}, every platform present: ${platformsPresent}`,
  );
  const preserved = sourceDigest === index.digest && targetDigest === sourceDigest && platformsPresent;
  return { seconds, aws: result.awsCalls.length, preserved };
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
  const runs = await repeated(plan.runs.multiarch, (run) => multiArchRun(bench, index, run));
  return multiArchReport(layerBytes(index), runs);
}

/** The median time of the runs; the digest preserved only when it was in every run. */
export function multiArchReport(indexLayerBytes: number, runs: readonly MultiArchRun[]): Measured {
  const time = median(runs.map((run) => run.seconds));
  const aws = Math.max(...runs.map((run) => run.aws));
  const preserved = runs.every((run) => run.preserved);
  return {
    figures: {
      multiarch_layer_bytes: indexLayerBytes,
      multiarch_s: round(time),
      multiarch_aws: aws,
      multiarch_digest_preserved: preserved,
    },
    rows: [
      judgedRow(
        {
          figure: `multi-arch copy: ${PLATFORMS.length} platforms, ${mib(indexLayerBytes)}`,
          measured: `${time.toFixed(2)} s, index digest ${preserved ? "preserved" : "CHANGED"}`,
          aws,
        },
        "multiarch",
        TARGETS.multiarch,
        [preserved ? 1 : 0],
      ),
    ],
    correct: preserved,
  };
}

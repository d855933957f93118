/**
 * Stage 2, the unchanged copy: the full copy's tag copied again into the target that already
 * holds it, with a warm and with a cold credential cache. Measures the time, the aws processes
 * started and the layer bytes moved (the registries' access logs): the script must decide
 * "unchanged" without moving any, and warm without starting the AWS CLI.
 */
import { FULL_COPY_MAP, SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, timed, warmAndCold } from "./measure";
import { Cache } from "./plan";
import { Bench } from "./session";
import { awsNote, median, round, unionLength } from "./stats";
import { judgedRow, TARGETS } from "./targets";

/** One run: its time, aws processes and layer bytes moved. */
export interface UnchangedRun {
  readonly seconds: number;
  readonly aws: number;
  /** Wall seconds during which one of its aws processes was running. */
  readonly awsSeconds: number;
  readonly layerBytes: number;
}

async function unchangedRun(
  bench: Bench,
  synced: SyncedImage,
  cache: Cache,
  run: number,
): Promise<UnchangedRun> {
  const { world, plan } = bench;
  await bench.prepareCache(cache, FULL_COPY_MAP, synced.registry);
  const sourceMark = await world.source.mark();
  const targetMark = await synced.registry.mark();
  const { value: result, seconds } = await timed(() =>
    bench.copy(synced.sourceRepository, synced.targetRepository, synced.tag, synced.registry),
  );
  expectOk(result, "unchanged", `unchanged copy run ${run} (${cache})`);
  const pulled = await world.source.blobTraffic(sourceMark);
  const pushed = await synced.registry.blobTraffic(targetMark);
  const layerBytes = pulled.blobDownloadBytes + pushed.blobUploadBytes;
  progress(
    `unchanged copy ${run}/${plan.runs.unchanged}, ${cache} cache: ${seconds.toFixed(2)} s, ${result.awsCalls.length} aws, ${layerBytes} layer bytes`,
  );
  return { seconds, aws: result.awsCalls.length, awsSeconds: unionLength(result.awsSpans), layerBytes };
}

export async function measureUnchanged(bench: Bench, synced: SyncedImage): Promise<Measured> {
  return unchangedReport(
    await warmAndCold(bench.plan.runs.unchanged, (cache, run) => unchangedRun(bench, synced, cache, run)),
  );
}

/** The median time of each state's runs; aws processes and layer bytes: the most of any run. */
export function unchangedReport(runs: Record<Cache, readonly UnchangedRun[]>): Measured {
  const summary = (cache: Cache) => ({
    seconds: median(runs[cache].map((run) => run.seconds)),
    aws: Math.max(...runs[cache].map((run) => run.aws)),
    awsSeconds: median(runs[cache].map((run) => run.awsSeconds)),
    layerBytes: Math.max(...runs[cache].map((run) => run.layerBytes)),
  });
  const warm = summary("warm");
  const cold = summary("cold");
  const measured = (state: typeof warm) =>
    `${state.seconds.toFixed(2)} s, ${state.layerBytes} layer bytes${awsNote(state.awsSeconds)}`;
  return {
    figures: {
      unchanged_copy_warm_s: round(warm.seconds),
      unchanged_copy_cold_s: round(cold.seconds),
      unchanged_copy_warm_aws: warm.aws,
      unchanged_copy_cold_aws: cold.aws,
      unchanged_copy_cold_aws_s: round(cold.awsSeconds),
      unchanged_copy_warm_layer_bytes: warm.layerBytes,
      unchanged_copy_cold_layer_bytes: cold.layerBytes,
    },
    rows: [
      judgedRow(
        { figure: "unchanged copy", cache: "warm", measured: measured(warm), aws: warm.aws },
        "unchanged_copy_warm",
        TARGETS.unchangedWarm,
        [warm.seconds, warm.aws, warm.layerBytes],
      ),
      { figure: "unchanged copy", cache: "cold", measured: measured(cold), aws: cold.aws },
    ],
  };
}

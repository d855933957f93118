/**
 * Stage 2, the unchanged copy: the full copy's tag copied again into the target that already
 * holds it. Measures the time, the AWS calls, the CPU (cpu.ts) and the layer bytes moved (the
 * registries' access logs): the copier must decide "unchanged" without moving any. Each copy takes turns with
 * `node -e 0` in the same worker root (bwrap's start included in both), so the target "at most
 * Node's own start plus 0.25 s" is judged against a start measured in the same minutes.
 */
import { cpuFigures, CpuUse, floorLine, medianCpu } from "./cpu";
import { SyncedImage } from "./full-copy";
import { nodeStartOnce } from "./in-root";
import { expectOk, Measured, progress, repeated } from "./measure";
import { Bench } from "./session";
import { median, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

/** One round: the copy's time, AWS calls, CPU and layer bytes moved, and `node -e 0`'s time next to it. */
export interface UnchangedRun {
  readonly seconds: number;
  readonly aws: number;
  readonly layerBytes: number;
  readonly nodeStart: number;
  readonly cpu: CpuUse;
}

async function unchangedRun(bench: Bench, synced: SyncedImage, run: number): Promise<UnchangedRun> {
  const { world, plan } = bench;
  // Half the rounds start with node, half with the copy: neither always finds the caches as the other left them.
  const nodeFirst = run % 2 === 0 ? await nodeStartOnce() : undefined;
  const sourceMark = await world.source.mark();
  const targetMark = await synced.registry.mark();
  const {
    runs: [result],
    seconds,
    cpu,
  } = await bench.withCpu(synced.registry, async () => [
    await bench.copy(synced.sourceRepository, synced.targetRepository, synced.tag, synced.registry),
  ]);
  expectOk(result, "unchanged", `unchanged copy run ${run}`);
  const nodeStart = nodeFirst ?? (await nodeStartOnce());
  const pulled = await world.source.blobTraffic(sourceMark);
  const pushed = await synced.registry.blobTraffic(targetMark);
  const layerBytes = pulled.blobDownloadBytes + pushed.blobUploadBytes;
  progress(
    `unchanged copy ${run}/${plan.runs.unchanged}: ${seconds.toFixed(2)} s (node -e 0 ${nodeStart.toFixed(2)} s), ${result.awsCalls.length} AWS calls, ${layerBytes} layer bytes`,
  );
  return { seconds, aws: result.awsCalls.length, layerBytes, nodeStart, cpu };
}

export async function measureUnchanged(bench: Bench, synced: SyncedImage): Promise<Measured> {
  return unchangedReport(
    await repeated(bench.plan.runs.unchanged, (run) => unchangedRun(bench, synced, run)),
    bench.cores,
  );
}

/** Medians of the copy's and node's times and of the CPU; AWS calls and layer bytes: the most of any run. */
export function unchangedReport(runs: readonly UnchangedRun[], cores: number): Measured {
  const seconds = median(runs.map((run) => run.seconds));
  const nodeStart = median(runs.map((run) => run.nodeStart));
  const aws = Math.max(...runs.map((run) => run.aws));
  const layerBytes = Math.max(...runs.map((run) => run.layerBytes));
  const above = seconds - nodeStart;
  const cpu = medianCpu(runs.map((run) => run.cpu));
  const target = TARGETS.unchanged(nodeStart);
  // The time the copy had: the lower of its two limits.
  const limit = Math.min(target.limits[0].limit, nodeStart + target.limits[1].limit);
  return {
    figures: {
      unchanged_copy_s: round(seconds),
      node_start_s: round(nodeStart),
      unchanged_copy_above_node_s: round(above),
      unchanged_copy_aws: aws,
      unchanged_copy_layer_bytes: layerBytes,
      ...cpuFigures("unchanged_copy", cpu, cores),
    },
    rows: [
      judgedRow(
        {
          figure: "unchanged copy",
          measured: `${seconds.toFixed(2)} s (node -e 0 ${nodeStart.toFixed(2)} s + ${above.toFixed(2)} s), ${layerBytes} layer bytes`,
          aws,
        },
        "unchanged_copy",
        target,
        [seconds, above, layerBytes],
        floorLine("unchanged copy", round(limit, 2), cpu, cores),
      ),
    ],
  };
}

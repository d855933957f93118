/**
 * Stage 3, the incremental copy: a new tag whose image shares every layer with the synced one
 * but the top one. Measures the time, the AWS calls and the bytes moved (the larger of what the
 * source sent and the target received) against the size of the one changed layer.
 */
import { SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, repeated, timed } from "./measure";
import { Bench } from "./session";
import { median, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";

/** One run: time, AWS calls, bytes moved and the changed layer's size. */
export interface Transfer {
  readonly seconds: number;
  readonly aws: number;
  readonly moved: number;
  readonly changedLayerBytes: number;
}

async function incrementalRun(bench: Bench, synced: SyncedImage, tag: string): Promise<Transfer> {
  const { world, plan, runId } = bench;
  const next = await world.layout.addImage({
    layers: [...synced.baseLayers, { size: plan.layerBytes, seed: `${runId}-top-${tag}` }],
    label: `${runId}-${tag}`,
  });
  await world.pushToSource(next, synced.sourceRepository, tag);
  const changed = next.layers[next.layers.length - 1];
  const sourceMark = await world.source.mark();
  const targetMark = await synced.registry.mark();
  const { value: result, seconds } = await timed(() =>
    bench.copy(synced.sourceRepository, synced.targetRepository, tag, synced.registry),
  );
  expectOk(result, "copied", `incremental copy ${tag}`);
  if ((await synced.registry.digestOf(synced.targetRepository, tag)) !== next.digest)
    throw new Error(`incremental copy ${tag}: digest differs on the target`);
  const pulled = (await world.source.blobTraffic(sourceMark)).blobDownloadBytes;
  const pushed = (await synced.registry.blobTraffic(targetMark)).blobUploadBytes;
  progress(
    `incremental copy ${tag}: ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls, pulled ${pulled} B, pushed ${pushed} B, changed layer ${changed.size} B`,
  );
  return {
    seconds,
    aws: result.awsCalls.length,
    moved: Math.max(pulled, pushed),
    changedLayerBytes: changed.size,
  };
}

export async function measureIncremental(bench: Bench, synced: SyncedImage): Promise<Measured> {
  return incrementalReport(
    await repeated(bench.plan.runs.incremental, (run) => incrementalRun(bench, synced, `v${run}`)),
  );
}

export function incrementalReport(runs: readonly Transfer[]): Measured {
  const ratio = median(runs.map((t) => t.moved / t.changedLayerBytes));
  const time = median(runs.map((t) => t.seconds));
  const moved = median(runs.map((t) => t.moved));
  const aws = Math.max(...runs.map((t) => t.aws));
  const changedLayerBytes = runs[runs.length - 1].changedLayerBytes;
  return {
    figures: {
      incremental_s: round(time),
      incremental_aws: aws,
      incremental_moved_bytes: moved,
      incremental_bytes_ratio: round(ratio, 4),
      incremental_changed_layer_bytes: changedLayerBytes,
    },
    rows: [
      judgedRow(
        {
          figure: "incremental copy: bytes moved / the new layer",
          measured: `${ratio.toFixed(4)}x (${moved} / ${changedLayerBytes} B), ${time.toFixed(2)} s`,
          aws,
        },
        "incremental",
        TARGETS.incremental,
        [ratio],
      ),
    ],
  };
}

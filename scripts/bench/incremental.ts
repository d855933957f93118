/**
 * Stage 3, the incremental copy: a new tag whose image shares every layer with the synced one
 * but the top one. Measures the time and the bytes moved (the larger of what the source sent
 * and the target received) against the size of the one changed layer.
 */
import { SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, timed } from "./measure";
import { Bench } from "./session";
import { median, round } from "./stats";

/** One run: bytes moved and the changed layer's size. */
export interface Transfer {
  readonly seconds: number;
  readonly moved: number;
  readonly changedLayerBytes: number;
}

async function incrementalRun(bench: Bench, synced: SyncedImage, run: number): Promise<Transfer> {
  const { world, plan, runId } = bench;
  const tag = `v${run}`;
  const next = await world.layout.addImage({
    layers: [...synced.baseLayers, { size: plan.layerBytes, seed: `${runId}-top-${run}` }],
    label: `${runId}-v${run}`,
  });
  await world.pushToSource(next, synced.sourceRepository, tag);
  const changed = next.layers[next.layers.length - 1];
  const sourceMark = await world.source.mark();
  const targetMark = await synced.registry.mark();
  const { value: result, seconds } = await timed(() =>
    bench.copy(synced.sourceRepository, synced.targetRepository, tag, synced.registry),
  );
  expectOk(result, "copied", `incremental copy run ${run}`);
  if ((await synced.registry.digestOf(synced.targetRepository, tag)) !== next.digest)
    throw new Error(`incremental copy run ${run}: digest differs on the target`);
  const pulled = (await world.source.blobTraffic(sourceMark)).blobDownloadBytes;
  const pushed = (await synced.registry.blobTraffic(targetMark)).blobUploadBytes;
  progress(
    `incremental copy ${run}/${plan.runs.incremental}: ${seconds.toFixed(2)} s, pulled ${pulled} B, pushed ${pushed} B, changed layer ${changed.size} B`,
  );
  return { seconds, moved: Math.max(pulled, pushed), changedLayerBytes: changed.size };
}

export async function measureIncremental(bench: Bench, synced: SyncedImage): Promise<Measured> {
  const transfers: Transfer[] = [];
  for (let run = 1; run <= bench.plan.runs.incremental; run++)
    transfers.push(await incrementalRun(bench, synced, run));
  return incrementalReport(transfers);
}

export function incrementalReport(transfers: readonly Transfer[]): Measured {
  const ratio = median(transfers.map((t) => t.moved / t.changedLayerBytes));
  const time = median(transfers.map((t) => t.seconds));
  const moved = median(transfers.map((t) => t.moved));
  const changedLayerBytes = transfers[transfers.length - 1].changedLayerBytes;
  return {
    figures: {
      incremental_copy_s: round(time),
      incremental_changed_layer_bytes: changedLayerBytes,
      incremental_moved_bytes: moved,
      incremental_bytes_ratio: round(ratio, 4),
    },
    rows: [
      { figure: "incremental copy: time (1 of 5 layers new)", measured: `${time.toFixed(2)} s` },
      {
        figure: "incremental: bytes moved / changed layer",
        measured: `${ratio.toFixed(4)}x (${moved} / ${changedLayerBytes} B)`,
        target: "<= 1.05x",
        met: ratio <= 1.05,
      },
    ],
  };
}

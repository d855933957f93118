/**
 * Stage 3, the incremental copy: a new tag whose image shares every layer with the synced one
 * but the top one, with a warm and with a cold credential cache. Measures the time, the aws
 * processes and the bytes moved (the larger of what the source sent and the target received)
 * against the size of the one changed layer.
 */
import { FULL_COPY_MAP, SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, timed, warmAndCold } from "./measure";
import { Cache, CACHES } from "./plan";
import { Bench } from "./session";
import { median, round, Row } from "./stats";
import { judgedRow, TARGETS } from "./targets";

/** One run: time, aws processes, bytes moved and the changed layer's size. */
export interface Transfer {
  readonly seconds: number;
  readonly aws: number;
  readonly moved: number;
  readonly changedLayerBytes: number;
}

async function incrementalRun(
  bench: Bench,
  synced: SyncedImage,
  cache: Cache,
  tag: string,
): Promise<Transfer> {
  const { world, plan, runId } = bench;
  const next = await world.layout.addImage({
    layers: [...synced.baseLayers, { size: plan.layerBytes, seed: `${runId}-top-${tag}` }],
    label: `${runId}-${tag}`,
  });
  await world.pushToSource(next, synced.sourceRepository, tag);
  const changed = next.layers[next.layers.length - 1];
  await bench.prepareCache(cache, FULL_COPY_MAP, synced.registry);
  const sourceMark = await world.source.mark();
  const targetMark = await synced.registry.mark();
  const { value: result, seconds } = await timed(() =>
    bench.copy(synced.sourceRepository, synced.targetRepository, tag, synced.registry),
  );
  expectOk(result, "copied", `incremental copy ${tag} (${cache})`);
  if ((await synced.registry.digestOf(synced.targetRepository, tag)) !== next.digest)
    throw new Error(`incremental copy ${tag} (${cache}): digest differs on the target`);
  const pulled = (await world.source.blobTraffic(sourceMark)).blobDownloadBytes;
  const pushed = (await synced.registry.blobTraffic(targetMark)).blobUploadBytes;
  progress(
    `incremental copy ${tag}, ${cache} cache: ${seconds.toFixed(2)} s, ${result.awsCalls.length} aws, pulled ${pulled} B, pushed ${pushed} B, changed layer ${changed.size} B`,
  );
  return {
    seconds,
    aws: result.awsCalls.length,
    moved: Math.max(pulled, pushed),
    changedLayerBytes: changed.size,
  };
}

export async function measureIncremental(bench: Bench, synced: SyncedImage): Promise<Measured> {
  let tags = 0;
  return incrementalReport(
    await warmAndCold(bench.plan.runs.incremental, (cache) =>
      incrementalRun(bench, synced, cache, `v${++tags}`),
    ),
  );
}

export function incrementalReport(transfers: Record<Cache, readonly Transfer[]>): Measured {
  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  for (const cache of CACHES) {
    const runs = transfers[cache];
    const ratio = median(runs.map((t) => t.moved / t.changedLayerBytes));
    const time = median(runs.map((t) => t.seconds));
    const moved = median(runs.map((t) => t.moved));
    const aws = Math.max(...runs.map((t) => t.aws));
    const changedLayerBytes = runs[runs.length - 1].changedLayerBytes;
    Object.assign(figures, {
      [`incremental_${cache}_s`]: round(time),
      [`incremental_${cache}_aws`]: aws,
      [`incremental_${cache}_moved_bytes`]: moved,
      [`incremental_${cache}_bytes_ratio`]: round(ratio, 4),
      incremental_changed_layer_bytes: changedLayerBytes,
    });
    rows.push(
      judgedRow(
        {
          figure: "incremental copy (1 new layer): bytes moved / changed layer",
          cache,
          measured: `${ratio.toFixed(4)}x (${moved} / ${changedLayerBytes} B), ${time.toFixed(2)} s`,
          aws,
        },
        `incremental_${cache}`,
        TARGETS.incremental,
        [ratio],
      ),
    );
  }
  return { figures, rows };
}

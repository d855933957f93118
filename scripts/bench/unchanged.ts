/**
 * Stage 2, the unchanged copy: the full copy's tag copied again into the target that already
 * holds it. Measures the time and the layer bytes moved (the registries' access logs): the
 * script must decide "unchanged" without moving any.
 */
import { SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, timed } from "./measure";
import { Bench } from "./session";
import { median, round } from "./stats";

export async function measureUnchanged(bench: Bench, synced: SyncedImage): Promise<Measured> {
  const { world, plan } = bench;
  const times: number[] = [];
  let maxBytes = 0;
  for (let run = 1; run <= plan.runs.unchanged; run++) {
    const sourceMark = await world.source.mark();
    const targetMark = await synced.registry.mark();
    const { value: result, seconds } = await timed(() =>
      bench.copy(synced.sourceRepository, synced.targetRepository, synced.tag, synced.registry),
    );
    expectOk(result, "unchanged", `unchanged copy run ${run}`);
    const pulled = await world.source.blobTraffic(sourceMark);
    const pushed = await synced.registry.blobTraffic(targetMark);
    const bytes = pulled.blobDownloadBytes + pushed.blobUploadBytes;
    maxBytes = Math.max(maxBytes, bytes);
    times.push(seconds);
    progress(`unchanged copy ${run}/${plan.runs.unchanged}: ${seconds.toFixed(2)} s, ${bytes} layer bytes`);
  }
  return unchangedReport(times, maxBytes);
}

/** `layerBytes`: the most layer bytes any run moved. */
export function unchangedReport(times: readonly number[], layerBytes: number): Measured {
  const unchanged = median(times);
  return {
    figures: { unchanged_copy_s: round(unchanged), unchanged_layer_bytes: layerBytes },
    rows: [
      {
        figure: "unchanged copy: time",
        measured: `${unchanged.toFixed(2)} s`,
        target: "< 0.5 s",
        met: unchanged < 0.5,
      },
      {
        figure: "unchanged copy: layer bytes moved (max of runs)",
        measured: `${layerBytes} B`,
        target: "0 B",
        met: layerBytes === 0,
      },
    ],
  };
}

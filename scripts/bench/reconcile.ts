/**
 * Stage 5, reconcile scale: `ecr-sync.sh reconcile` over a repository of 10, 50 and 200 tags
 * already in sync on both sides, and a line fitted through the times (cost per tag, fixed cost).
 * The tags are seeded over HTTP and share one layer, uploaded once per repository.
 */
import { randomBytes } from "node:crypto";
import { expectOk, imageLines, inBatches, Measured, numberedTags, progress, timed } from "./measure";
import { Bench } from "./session";
import { uploadSharedLayer, Place, seedImage } from "./seed";
import { linearFit, median, round, Row } from "./stats";

/** Seeds `scale` tags into both sides, then times the reconcile `runs` times; its median. */
async function reconcileInSync(bench: Bench, scale: number, sharedLayer: Buffer): Promise<number> {
  const { world, plan, runId } = bench;
  const source = `bench-sync-${scale}-src`;
  const target = `bench-sync-${scale}`;
  await world.createTargetRepository(target);
  progress(`seeding ${scale} tags, in sync on both sides`);
  const places: Place[] = [
    [bench.sourceEndpoint, source],
    [bench.targetEndpoint(world.target), target],
  ];
  await uploadSharedLayer(places, sharedLayer);
  await inBatches(numberedTags("t", scale, 4), 8, (tag) =>
    seedImage(places, {
      tag,
      layerContent: sharedLayer,
      label: `${runId}-${scale}-${tag}`,
      layerUploaded: true,
    }),
  );
  const times: number[] = [];
  for (let run = 1; run <= plan.runs.reconcile; run++) {
    const { value: result, seconds } = await timed(() => bench.reconcile({ [source]: target }));
    expectOk(result, "unchanged", `reconcile of ${scale} in-sync tags, run ${run}`);
    const images = imageLines(result).length;
    if (images !== scale) throw new Error(`reconcile of ${scale} tags reported ${images} images`);
    times.push(seconds);
  }
  progress(
    `reconcile, ${scale} tags in sync: median ${median(times).toFixed(2)} s of [${times.map((t) => t.toFixed(2)).join(", ")}]`,
  );
  return median(times);
}

export async function measureReconcileScale(bench: Bench): Promise<Measured> {
  const sharedLayer = randomBytes(4096);
  const inSync: Array<readonly [number, number]> = [];
  for (const scale of bench.plan.reconcileScales)
    inSync.push([scale, await reconcileInSync(bench, scale, sharedLayer)]);
  const largest = bench.plan.reconcileScales[bench.plan.reconcileScales.length - 1];
  if (largest !== 200) progress(`(--quick: largest reconcile scale is ${largest}, not 200)`);
  return reconcileReport(inSync);
}

/** `inSync`: [tag count, median seconds] per scale, smallest first. The target applies to 200 tags. */
export function reconcileReport(inSync: ReadonlyArray<readonly [number, number]>): Measured {
  const seconds = Object.fromEntries(inSync.map(([scale, time]) => [String(scale), round(time)]));
  const fit = linearFit(inSync.map(([scale]) => [scale, seconds[String(scale)]]));
  const rows: Row[] = inSync.map(([scale]) => ({
    figure: `reconcile, ${scale} tags in sync`,
    measured: `${seconds[String(scale)].toFixed(2)} s`,
    target: scale === 200 ? "< 10 s" : undefined,
    met: scale === 200 ? seconds[String(scale)] < 10 : undefined,
  }));
  rows.push({
    figure: `reconcile growth (fit over ${inSync.map(([scale]) => scale).join("/")})`,
    measured: `${(fit.slope * 1000).toFixed(1)} ms per tag + ${fit.intercept.toFixed(2)} s fixed`,
  });
  return {
    figures: {
      reconcile_in_sync_s: seconds,
      reconcile_per_tag_ms: round(fit.slope * 1000, 2),
      reconcile_fixed_s: round(fit.intercept),
    },
    rows,
  };
}

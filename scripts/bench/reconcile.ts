/**
 * Stage 5, reconcile scale: `ecr-sync.sh reconcile` over a repository of 10, 50 and 200 tags
 * already in sync on both sides, with a warm and with a cold credential cache, and a line fitted
 * through each state's times (cost per tag, fixed cost). The tags are seeded over HTTP and share
 * one layer, uploaded once per repository. The largest scale runs once more, warm and traced
 * (traced.ts; an in-sync reconcile starts no copy job, so its processes take turns): where its
 * time goes.
 */
import { randomBytes } from "node:crypto";
import {
  expectOk,
  imageLines,
  inBatches,
  Measured,
  numberedTags,
  progress,
  timed,
  warmAndCold,
} from "./measure";
import { Cache, CACHES } from "./plan";
import { Profile, profileOf, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { uploadSharedLayer, Place, seedImage } from "./seed";
import { awsNote, linearFit, median, round, Row, unionLength } from "./stats";
import { judgedRow, TARGETS } from "./targets";
import { programPredicate, tracedScript } from "./traced";

/** The scale the target is set for. */
const TARGET_SCALE = 200;

/** One scale's runs in each state: seconds and aws processes of each. */
export interface ScaleRuns {
  readonly scale: number;
  readonly runs: Record<
    Cache,
    ReadonlyArray<{ readonly seconds: number; readonly aws: number; readonly awsSeconds: number }>
  >;
}

/** The mapping of the reconcile of `scale` tags. */
const mapOf = (scale: number) => ({ [`bench-sync-${scale}-src`]: `bench-sync-${scale}` });

/** Seeds `scale` tags into both sides, then times the reconcile `runs` times in each cache state. */
async function reconcileInSync(bench: Bench, scale: number, sharedLayer: Buffer): Promise<ScaleRuns> {
  const { world, plan, runId } = bench;
  const map = mapOf(scale);
  const [[source, target]] = Object.entries(map);
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
  const runs = await warmAndCold(plan.runs.reconcile, async (cache, run) => {
    await bench.prepareCache(cache, map);
    const { value: result, seconds } = await timed(() => bench.reconcile(map));
    expectOk(result, "unchanged", `reconcile of ${scale} in-sync tags, run ${run} (${cache})`);
    const images = imageLines(result).length;
    if (images !== scale) throw new Error(`reconcile of ${scale} tags reported ${images} images`);
    return { seconds, aws: result.awsCalls.length, awsSeconds: unionLength(result.awsSpans) };
  });
  for (const cache of CACHES)
    progress(
      `reconcile, ${scale} tags in sync, ${cache} cache: median ${median(runs[cache].map((r) => r.seconds)).toFixed(2)} s of [${runs[cache].map((r) => r.seconds.toFixed(2)).join(", ")}], aws ${runs[cache].map((r) => r.aws).join(", ")}`,
    );
  return { scale, runs };
}

export async function measureReconcileScale(bench: Bench): Promise<Measured> {
  const sharedLayer = randomBytes(4096);
  const scales: ScaleRuns[] = [];
  for (const scale of bench.plan.reconcileScales)
    scales.push(await reconcileInSync(bench, scale, sharedLayer));
  const largest = bench.plan.reconcileScales[bench.plan.reconcileScales.length - 1];
  if (largest !== TARGET_SCALE)
    progress(`(--quick: largest reconcile scale is ${largest}, not ${TARGET_SCALE}: no target judged)`);
  await bench.prepareCache("warm", mapOf(largest));
  const traced = await tracedScript(bench, ["reconcile"], mapOf(largest), undefined);
  expectOk(traced, "unchanged", `traced reconcile of ${largest} in-sync tags`);
  progress(`reconcile, ${largest} tags in sync, warm, traced: ${traced.seconds.toFixed(2)} s`);
  return reconcileReport(scales, profileOf(traced.trace, traced.seconds, await programPredicate()));
}

/** `scales`: smallest first; `traced`: the largest, warm. The target is judged at 200 tags, in both states. */
export function reconcileReport(scales: readonly ScaleRuns[], traced: Profile): Measured {
  const figures: Record<string, unknown> = {};
  const rows: Row[] = [];
  const fits: Row[] = [];
  for (const cache of CACHES) {
    const seconds: Record<string, number> = {};
    const aws: Record<string, number> = {};
    const awsSeconds: Record<string, number> = {};
    for (const { scale, runs } of scales) {
      seconds[String(scale)] = round(median(runs[cache].map((run) => run.seconds)));
      aws[String(scale)] = Math.max(...runs[cache].map((run) => run.aws));
      awsSeconds[String(scale)] = round(median(runs[cache].map((run) => run.awsSeconds)));
    }
    const fit = linearFit(scales.map(({ scale }) => [scale, seconds[String(scale)]]));
    Object.assign(figures, {
      [`reconcile_in_sync_${cache}_s`]: seconds,
      [`reconcile_in_sync_${cache}_aws`]: aws,
      [`reconcile_in_sync_${cache}_aws_s`]: awsSeconds,
      [`reconcile_${cache}_per_tag_ms`]: round(fit.slope * 1000, 2),
      [`reconcile_${cache}_fixed_s`]: round(fit.intercept),
    });
    fits.push({
      figure: `reconcile growth (fit over ${scales.map(({ scale }) => scale).join("/")})`,
      cache,
      measured: `${(fit.slope * 1000).toFixed(1)} ms per tag + ${fit.intercept.toFixed(2)} s fixed`,
    });
  }
  for (const { scale } of scales)
    for (const cache of CACHES) {
      const time = (figures[`reconcile_in_sync_${cache}_s`] as Record<string, number>)[String(scale)];
      const awsSeconds = (figures[`reconcile_in_sync_${cache}_aws_s`] as Record<string, number>)[
        String(scale)
      ];
      const row: Row = {
        figure: `reconcile, ${scale} tags in sync`,
        cache,
        measured: `${time.toFixed(2)} s${awsNote(awsSeconds)}`,
        aws: (figures[`reconcile_in_sync_${cache}_aws`] as Record<string, number>)[String(scale)],
      };
      rows.push(
        scale === TARGET_SCALE
          ? judgedRow(row, `reconcile_in_sync_${cache}`, TARGETS.reconcileInSync, [time])
          : row,
      );
    }
  const largest = scales[scales.length - 1].scale;
  figures.reconcile_traced_warm_profile = roundedProfile(traced, 6);
  const tracedRows: Row[] = [
    {
      figure: `↳ ${largest} tags in sync, traced: where the time goes`,
      cache: "warm",
      measured: `${traced.total.toFixed(2)} s: ${splitText(traced)}`,
      aws: traced.processes.aws,
    },
    {
      figure: "↳ its costliest functions",
      cache: "warm",
      measured: traced.functions
        .slice(0, 4)
        .map(([name, seconds]) => `${name} ${seconds.toFixed(3)} s`)
        .join(", "),
    },
  ];
  return { figures, rows: [...rows, ...fits, ...tracedRows] };
}

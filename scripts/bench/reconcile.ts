/**
 * Stage 5, reconcile scale: `ecr-sync reconcile` over a repository of 10, 50 and 200 tags already
 * in sync on both sides, and a line fitted through the times (cost per tag, fixed cost). The tags
 * are seeded over HTTP and share one layer, uploaded once per repository. The largest scale runs
 * once more, traced (traced.ts): where its time goes.
 */
import { randomBytes } from "node:crypto";
import {
  expectOk,
  imageLines,
  inBatches,
  Measured,
  numberedTags,
  progress,
  repeated,
  timed,
} from "./measure";
import { Profile, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { uploadSharedLayer, Place, seedImage } from "./seed";
import { linearFit, median, round, Row } from "./stats";
import { judgedRow, TARGETS } from "./targets";
import { tracedCopier } from "./traced";

/** The scale the target is set for. */
const TARGET_SCALE = 200;

/** One scale's runs: seconds and AWS calls of each. */
export interface ScaleRuns {
  readonly scale: number;
  readonly runs: ReadonlyArray<{ readonly seconds: number; readonly aws: number }>;
}

/** The mapping of the reconcile of `scale` tags. */
const mapOf = (scale: number) => ({ [`bench-sync-${scale}-src`]: `bench-sync-${scale}` });

/** Seeds `scale` tags into both sides, then times the reconcile `runs` times. */
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
  const runs = await repeated(plan.runs.reconcile, async (run) => {
    const { value: result, seconds } = await timed(() => bench.reconcile(map));
    expectOk(result, "unchanged", `reconcile of ${scale} in-sync tags, run ${run}`);
    const images = imageLines(result).length;
    if (images !== scale) throw new Error(`reconcile of ${scale} tags reported ${images} images`);
    return { seconds, aws: result.awsCalls.length };
  });
  progress(
    `reconcile, ${scale} tags in sync: median ${median(runs.map((r) => r.seconds)).toFixed(2)} s of [${runs.map((r) => r.seconds.toFixed(2)).join(", ")}], AWS calls ${runs.map((r) => r.aws).join(", ")}`,
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
  const traced = await tracedCopier(bench, ["reconcile"], mapOf(largest), undefined);
  expectOk(traced, "unchanged", `traced reconcile of ${largest} in-sync tags`);
  progress(`reconcile, ${largest} tags in sync, traced: ${traced.seconds.toFixed(2)} s`);
  return reconcileReport(scales, traced.profile, traced.awsCalls.length);
}

/** `scales`: smallest first; `traced`: the largest, with its AWS calls. The target is judged at 200 tags. */
export function reconcileReport(scales: readonly ScaleRuns[], traced: Profile, tracedAws: number): Measured {
  const seconds: Record<string, number> = {};
  const aws: Record<string, number> = {};
  for (const { scale, runs } of scales) {
    seconds[String(scale)] = round(median(runs.map((run) => run.seconds)));
    aws[String(scale)] = Math.max(...runs.map((run) => run.aws));
  }
  const fit = linearFit(scales.map(({ scale }) => [scale, seconds[String(scale)]]));
  const rows: Row[] = scales.map(({ scale }) => {
    const row: Row = {
      figure: `reconcile, ${scale} tags in sync`,
      measured: `${seconds[String(scale)].toFixed(2)} s`,
      aws: aws[String(scale)],
    };
    return scale === TARGET_SCALE
      ? judgedRow(row, "reconcile_in_sync", TARGETS.reconcileInSync, [seconds[String(scale)]])
      : row;
  });
  const largest = scales[scales.length - 1].scale;
  return {
    figures: {
      reconcile_in_sync_s: seconds,
      reconcile_in_sync_aws: aws,
      reconcile_per_tag_ms: round(fit.slope * 1000, 2),
      reconcile_fixed_s: round(fit.intercept),
      reconcile_traced_profile: roundedProfile(traced),
    },
    rows: [
      ...rows,
      {
        figure: `reconcile growth (fit over ${scales.map(({ scale }) => scale).join("/")})`,
        measured: `${(fit.slope * 1000).toFixed(1)} ms per tag + ${fit.intercept.toFixed(2)} s fixed`,
      },
      {
        figure: `↳ ${largest} tags in sync, traced: where the time goes`,
        measured: `${traced.total.toFixed(2)} s: ${splitText(traced)}`,
        aws: tracedAws,
      },
    ],
  };
}

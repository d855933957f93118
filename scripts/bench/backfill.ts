/**
 * Stage 5, continued: the backfill. `ecr-sync.sh reconcile` into an empty target copies 50 small
 * tags that are missing there (ECR_SYNC_RECONCILE_PARALLELISM at a time, its default), with a warm
 * and with a cold credential cache; every one must arrive with its digest. Then once more, warm,
 * one tag at a time and traced (traced.ts): where one tag's copy spends its time, and the CPU that
 * it and the registries use per tag, which bounds how fast 2 cores can backfill at any parallelism.
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { cpuMark, cpuSince, registryPid } from "./cpu";
import { expectOk, inBatches, Measured, numberedTags, progress, timed, warmAndCold } from "./measure";
import { Cache, CACHES } from "./plan";
import { perItem, Profile, profileOf, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { awsNote, median, round, Row, unionLength } from "./stats";
import { judgedRow, TARGETS } from "./targets";
import { programPredicate, tracedScript } from "./traced";

const SOURCE_REPOSITORY = "bench-backfill-src";
const TARGET_REPOSITORY = "bench-backfill";
const MAP = { [SOURCE_REPOSITORY]: TARGET_REPOSITORY };

/** One backfill: its time and aws processes. */
export interface BackfillRun {
  readonly seconds: number;
  readonly aws: number;
  /** Wall seconds during which one of its aws processes was running. */
  readonly awsSeconds: number;
}

/** The traced backfill, one tag at a time: its profile and the CPU of the script's processes and of the registries. */
export interface SerialBackfill {
  readonly profile: Profile;
  readonly scriptCpu: number;
  readonly registriesCpu: number;
  readonly aws: number;
}

/** Checks every tag arrived in `registry` with its digest. */
async function checkArrived(
  registry: Registry,
  tags: readonly string[],
  digests: readonly string[],
  what: string,
): Promise<void> {
  const arrived = await inBatches(
    tags,
    10,
    async (tag, i) => (await registry.digestOf(TARGET_REPOSITORY, tag)) === digests[i],
  );
  if (arrived.some((ok) => !ok))
    throw new Error(`${what}: ${arrived.filter((ok) => !ok).length} tags missing or different on the target`);
}

async function serialBackfill(
  bench: Bench,
  tags: readonly string[],
  digests: readonly string[],
): Promise<SerialBackfill> {
  const isProgram = await programPredicate();
  const registry = await bench.freshTarget();
  await bench.prepareCache("warm", MAP, registry);
  const mark = await cpuMark([await registryPid(bench.world.source), await registryPid(registry)]);
  const run = await tracedScript(bench, ["reconcile"], MAP, registry, {
    ECR_SYNC_RECONCILE_PARALLELISM: "1",
  });
  const registries = await cpuSince(mark);
  expectOk(run, "copied", "traced backfill, one tag at a time");
  await checkArrived(registry, tags, digests, "traced backfill, one tag at a time");
  await bench.dropTarget(registry);
  progress(`backfill of ${tags.length} tags one at a time, warm, traced: ${run.seconds.toFixed(2)} s`);
  return {
    profile: profileOf(run.trace, run.seconds, isProgram),
    scriptCpu: run.cpu,
    registriesCpu: registries.seconds[0] + registries.seconds[1],
    aws: run.awsCalls.length,
  };
}

export async function measureBackfill(bench: Bench): Promise<Measured> {
  const { world, plan, runId } = bench;
  progress(`seeding ${plan.backfillTags} small tags for the backfill`);
  await world.createTargetRepository(TARGET_REPOSITORY);
  const tags = numberedTags("b", plan.backfillTags, 3);
  const digests = await inBatches(tags, 8, (tag) =>
    seedImage([[bench.sourceEndpoint, SOURCE_REPOSITORY]], {
      tag,
      layerContent: randomBytes(16 * 1024),
      label: `${runId}-${tag}`,
    }),
  );
  const runs = await warmAndCold(plan.runs.backfill, async (cache, run) => {
    const registry = await bench.freshTarget();
    await bench.prepareCache(cache, MAP, registry);
    const { value: result, seconds } = await timed(() => bench.reconcile(MAP, registry));
    expectOk(result, "copied", `backfill run ${run} (${cache})`);
    await checkArrived(registry, tags, digests, `backfill run ${run} (${cache})`);
    await bench.dropTarget(registry);
    progress(
      `backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}, ${cache} cache: ${seconds.toFixed(2)} s, ${result.awsCalls.length} aws`,
    );
    return { seconds, aws: result.awsCalls.length, awsSeconds: unionLength(result.awsSpans) };
  });
  return backfillReport(plan.backfillTags, runs, await serialBackfill(bench, tags, digests));
}

/** The target is judged in both states (it is set for the backfill, not only a warm one). */
export function backfillReport(
  tagCount: number,
  runs: Record<Cache, readonly BackfillRun[]>,
  serial: SerialBackfill,
): Measured {
  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  for (const cache of CACHES) {
    const time = median(runs[cache].map((run) => run.seconds));
    const aws = Math.max(...runs[cache].map((run) => run.aws));
    const awsSeconds = median(runs[cache].map((run) => run.awsSeconds));
    Object.assign(figures, {
      [`backfill_${cache}_s`]: round(time),
      [`backfill_${cache}_per_tag_s`]: round(time / tagCount),
      [`backfill_${cache}_aws`]: aws,
      [`backfill_${cache}_aws_s`]: round(awsSeconds),
    });
    rows.push(
      judgedRow(
        {
          figure: `backfill: reconcile copying ${tagCount} missing small tags`,
          cache,
          measured: `${time.toFixed(2)} s (${(time / tagCount).toFixed(3)} s per tag)${awsNote(awsSeconds)}`,
          aws,
        },
        `backfill_${cache}`,
        TARGETS.backfill,
        [time],
      ),
    );
  }
  const perTag = perItem(serial.profile, tagCount);
  const cpuPerTag = (serial.scriptCpu + serial.registriesCpu) / tagCount;
  const warm = median(runs.warm.map((run) => run.seconds));
  Object.assign(figures, {
    backfill_serial_warm_s: round(serial.profile.total),
    backfill_serial_per_tag: roundedProfile(perTag, 6),
    backfill_cpu_per_tag_s: {
      script: round(serial.scriptCpu / tagCount),
      registries: round(serial.registriesCpu / tagCount),
    },
  });
  rows.push(
    {
      figure: "↳ one tag at a time, traced: per tag",
      cache: "warm",
      measured: `${perTag.total.toFixed(3)} s: ${splitText(perTag)}`,
      aws: serial.aws,
    },
    {
      figure: "↳ CPU s per tag: script + registries; 2 cores at best",
      measured: `${(serial.scriptCpu / tagCount).toFixed(3)} + ${(serial.registriesCpu / tagCount).toFixed(3)}; ${tagCount} tags ≥ ${((cpuPerTag * tagCount) / 2).toFixed(2)} s (parallel: ${warm.toFixed(2)} s, ${(serial.profile.total / warm).toFixed(1)}x one at a time)`,
    },
  );
  return { figures, rows };
}

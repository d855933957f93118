/**
 * Stage 5, continued: the backfill. `ecr-sync reconcile` into an empty target copies 50 small tags
 * that are missing there (ECR_SYNC_RECONCILE_PARALLELISM at a time, its default); every one must
 * arrive with its digest. Then once more, one tag at a time and traced (traced.ts): where one
 * tag's copy spends its time, and the CPU that it and the registries use per tag, which bounds how
 * fast 2 cores can backfill at any parallelism.
 */
import { randomBytes } from "node:crypto";
import { Registry } from "../../local/registry";
import { cpuMark, cpuSince, registryPid } from "./cpu";
import { expectOk, inBatches, Measured, numberedTags, progress, repeated, timed } from "./measure";
import { perItem, Profile, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { seedImage } from "./seed";
import { median, round } from "./stats";
import { judgedRow, TARGETS } from "./targets";
import { tracedCopier } from "./traced";

const SOURCE_REPOSITORY = "bench-backfill-src";
const TARGET_REPOSITORY = "bench-backfill";
const MAP = { [SOURCE_REPOSITORY]: TARGET_REPOSITORY };

/** One backfill: its time and AWS calls. */
export interface BackfillRun {
  readonly seconds: number;
  readonly aws: number;
}

/** The traced backfill, one tag at a time: its profile and the CPU of the copier's processes and of the registries. */
export interface SerialBackfill {
  readonly profile: Profile;
  readonly copierCpu: number;
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
  const registry = await bench.freshTarget();
  const mark = await cpuMark([await registryPid(bench.world.source), await registryPid(registry)]);
  const run = await tracedCopier(bench, ["reconcile"], MAP, registry, {
    ECR_SYNC_RECONCILE_PARALLELISM: "1",
  });
  const registries = await cpuSince(mark);
  expectOk(run, "copied", "traced backfill, one tag at a time");
  await checkArrived(registry, tags, digests, "traced backfill, one tag at a time");
  await bench.dropTarget(registry);
  progress(`backfill of ${tags.length} tags one at a time, traced: ${run.seconds.toFixed(2)} s`);
  return {
    profile: run.profile,
    copierCpu: run.cpu,
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
  const runs = await repeated(plan.runs.backfill, async (run) => {
    const registry = await bench.freshTarget();
    const { value: result, seconds } = await timed(() => bench.reconcile(MAP, registry));
    expectOk(result, "copied", `backfill run ${run}`);
    await checkArrived(registry, tags, digests, `backfill run ${run}`);
    await bench.dropTarget(registry);
    progress(
      `backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}: ${seconds.toFixed(2)} s, ${result.awsCalls.length} AWS calls`,
    );
    return { seconds, aws: result.awsCalls.length };
  });
  return backfillReport(plan.backfillTags, runs, await serialBackfill(bench, tags, digests));
}

export function backfillReport(
  tagCount: number,
  runs: readonly BackfillRun[],
  serial: SerialBackfill,
): Measured {
  const time = median(runs.map((run) => run.seconds));
  const aws = Math.max(...runs.map((run) => run.aws));
  const perTag = perItem(serial.profile, tagCount);
  const cpuPerTag = (serial.copierCpu + serial.registriesCpu) / tagCount;
  return {
    figures: {
      backfill_s: round(time),
      backfill_per_tag_s: round(time / tagCount),
      backfill_aws: aws,
      backfill_serial_s: round(serial.profile.total),
      backfill_serial_per_tag: roundedProfile(perTag),
      backfill_cpu_per_tag_s: {
        copier: round(serial.copierCpu / tagCount),
        registries: round(serial.registriesCpu / tagCount),
      },
    },
    rows: [
      judgedRow(
        {
          figure: `backfill: reconcile copying ${tagCount} missing small tags`,
          measured: `${time.toFixed(2)} s (${(time / tagCount).toFixed(3)} s per tag)`,
          aws,
        },
        "backfill",
        TARGETS.backfill,
        [time],
      ),
      {
        figure: "↳ one tag at a time, traced: per tag",
        measured: `${perTag.total.toFixed(3)} s: ${splitText(perTag)}`,
        aws: serial.aws,
      },
      {
        figure: "↳ CPU s per tag: copier + registries; 2 cores at best",
        measured: `${(serial.copierCpu / tagCount).toFixed(3)} + ${(serial.registriesCpu / tagCount).toFixed(3)}; ${tagCount} tags ≥ ${((cpuPerTag * tagCount) / 2).toFixed(2)} s (parallel: ${time.toFixed(2)} s, ${(serial.profile.total / time).toFixed(1)}x one at a time)`,
      },
    ],
  };
}

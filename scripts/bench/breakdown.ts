/**
 * Stage 2, continued: what remains above 1.0x of the baseline for a warm full copy, and where a
 * warm copy's time goes. The split of the ratio comes from stage 1's medians (many runs, taking
 * turns): skopeo's own share is skopeo alone against the baseline, the script's share the warm
 * copy against skopeo alone. What the script's share is made of comes from this stage's rounds:
 * the warm full copy into a fresh target and the warm unchanged copy into the synced one run
 * traced (traced.ts, profile.ts), so their time splits into skopeo, curl, jq, flock, aws, the
 * other programs (stat, mv, rm, cat, mktemp, …) and bash itself, and by function. Each round also
 * measures the CPU that the baseline, skopeo alone and the warm copy used, and the registries with
 * them (cpu.ts): on 2 cores that are busy, CPU seconds become wall seconds. One `aws` call alone
 * is timed too: what a cold run pays for each of its calls; and bwrap's start, which every copier
 * time includes (the copier, skopeo alone and that call run inside the worker root: in-root.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { layerBytes, writeAuthFile } from "../../local/oci";
import { Registry } from "../../local/registry";
import { cpuMark, cpuSince, registryPid } from "./cpu";
import { FULL_COPY_MAP, FullCopySummary, SyncedImage } from "./full-copy";
import { httpCopyImage } from "./http";
import { measureRootStart, RootStart, skopeoAlone, spawnInRoot } from "./in-root";
import { expectOk, Measured, progress, timed } from "./measure";
import { childrenCpuSeconds, medianProfile, Profile, profileOf, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { median, round } from "./stats";
import { programPredicate, tracedScript } from "./traced";

/** CPU seconds one copy used: its own processes', each registry's, and how busy the machine was (0..1). */
export interface CpuUse {
  readonly client: number;
  readonly sourceRegistry: number;
  readonly targetRegistry: number;
  readonly machineBusy: number;
}

/** One round of the stage. */
export interface BreakdownRound {
  readonly baseline: { readonly seconds: number; readonly cpu: CpuUse };
  readonly skopeo: { readonly seconds: number; readonly cpu: CpuUse };
  readonly copy: { readonly profile: Profile; readonly aws: number; readonly cpu: CpuUse };
  readonly unchanged: { readonly profile: Profile; readonly aws: number };
}

/** `run` with the CPU it, its children and the two registries used meanwhile. */
async function withCpu<T>(
  pids: readonly [number, number],
  run: () => Promise<{ value: T; clientCpu: number }>,
): Promise<{ value: T; seconds: number; cpu: CpuUse }> {
  const mark = await cpuMark(pids);
  const { value: result, seconds } = await timed(run);
  const used = await cpuSince(mark);
  return {
    value: result.value,
    seconds,
    cpu: {
      client: result.clientCpu,
      sourceRegistry: used.seconds[0],
      targetRegistry: used.seconds[1],
      machineBusy: used.machineBusy,
    },
  };
}

/** One round: baseline, skopeo alone and the traced warm copy into fresh targets, then the traced warm unchanged copy. */
async function breakdownRound(
  bench: Bench,
  synced: SyncedImage,
  isProgram: (word: string) => boolean,
  round: number,
): Promise<BreakdownRound> {
  const { world } = bench;
  const sourcePid = await registryPid(world.source);
  const { sourceRepository, targetRepository, tag, image } = synced;
  const fresh = async () => {
    const registry = await bench.freshTarget();
    return { registry, pids: [sourcePid, await registryPid(registry)] as const };
  };
  const checkArrived = async (registry: Registry, what: string) => {
    const digest = await registry.digestOf(targetRepository, tag);
    if (digest !== image.digest)
      throw new Error(`breakdown round ${round}, ${what}: target holds ${digest}, not ${image.digest}`);
  };

  let target = await fresh();
  const baseline = await withCpu(target.pids, async () => {
    const before = process.cpuUsage();
    const moved = await httpCopyImage(
      bench.sourceEndpoint,
      sourceRepository,
      bench.targetEndpoint(target.registry),
      targetRepository,
      tag,
    );
    const used = process.cpuUsage(before);
    return { value: moved, clientCpu: (used.user + used.system) / 1e6 };
  });
  if (baseline.value < layerBytes(image))
    throw new Error(`breakdown round ${round}: the baseline moved too few bytes`);
  await checkArrived(target.registry, "baseline");
  await bench.dropTarget(target.registry);

  target = await fresh();
  const authDir = await mkdtemp(join(os.tmpdir(), "ecr-sync-bench-auth-"));
  const authFile = join(authDir, "auth.json");
  await writeAuthFile(authFile, {
    [world.source.host]: { username: "AWS", password: bench.sourceEndpoint.password },
    [target.registry.host]: { username: "AWS", password: bench.targetEndpoint(target.registry).password },
  });
  const skopeo = await withCpu(target.pids, async () => {
    const run = await skopeoAlone(
      `${world.source.host}/${sourceRepository}@${image.digest}`,
      `${target.registry.host}/${targetRepository}:${tag}`,
      authFile,
      world.env(),
    );
    if (run.code !== 0)
      throw new Error(`breakdown round ${round}: skopeo copy alone exited ${run.code}: ${run.stderr}`);
    return { value: run, clientCpu: childrenCpuSeconds(run.stdout) };
  });
  await rm(authDir, { recursive: true, force: true });
  await checkArrived(target.registry, "skopeo alone");
  await bench.dropTarget(target.registry);

  target = await fresh();
  await bench.prepareCache("warm", FULL_COPY_MAP, target.registry);
  const copyArgs = [
    "copy",
    "--source-repository",
    sourceRepository,
    "--target-repository",
    targetRepository,
    "--tag",
    tag,
  ];
  const copy = await withCpu(target.pids, async () => {
    const run = await tracedScript(bench, copyArgs, FULL_COPY_MAP, target.registry);
    return { value: run, clientCpu: run.cpu };
  });
  expectOk(copy.value, "copied", `breakdown round ${round}, traced warm full copy`);
  await checkArrived(target.registry, "traced warm full copy");
  await bench.dropTarget(target.registry);

  await bench.prepareCache("warm", FULL_COPY_MAP, synced.registry);
  const unchanged = await tracedScript(bench, copyArgs, FULL_COPY_MAP, synced.registry);
  expectOk(unchanged, "unchanged", `breakdown round ${round}, traced warm unchanged copy`);

  const result: BreakdownRound = {
    baseline: { seconds: baseline.seconds, cpu: baseline.cpu },
    skopeo: { seconds: skopeo.seconds, cpu: skopeo.cpu },
    copy: {
      profile: profileOf(copy.value.trace, copy.seconds, isProgram),
      aws: copy.value.awsCalls.length,
      cpu: copy.cpu,
    },
    unchanged: {
      profile: profileOf(unchanged.trace, unchanged.seconds, isProgram),
      aws: unchanged.awsCalls.length,
    },
  };
  progress(
    `breakdown ${round}/${bench.plan.runs.breakdown}: baseline ${baseline.seconds.toFixed(2)} s, skopeo alone ${skopeo.seconds.toFixed(2)} s, traced warm copy ${copy.seconds.toFixed(2)} s (skopeo ${result.copy.profile.seconds.skopeo.toFixed(2)} s), traced warm unchanged ${unchanged.seconds.toFixed(2)} s`,
  );
  return result;
}

/**
 * Median wall time of the worker root's `aws ecr get-login-password` run on its own, three times
 * (bwrap's start included).
 */
async function oneAwsCall(bench: Bench): Promise<number> {
  const times: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const { value, seconds } = await timed(() =>
      spawnInRoot(["aws", "ecr", "get-login-password", "--region", "us-east-1"], bench.world.env()),
    );
    if (value.code !== 0) throw new Error(`aws ecr get-login-password exited ${value.code}: ${value.stderr}`);
    times.push(seconds);
  }
  return median(times);
}

/** What the breakdown reports: rows that go under the full copy's, and rows that go under the unchanged copy's. */
export interface Breakdown {
  readonly fullCopy: Measured;
  readonly unchanged: Measured;
}

/** `fullCopy`: stage 1's medians, which the ratio is split by. */
export async function measureBreakdown(
  bench: Bench,
  synced: SyncedImage,
  fullCopy: FullCopySummary,
): Promise<Breakdown> {
  const isProgram = await programPredicate();
  const rounds: BreakdownRound[] = [];
  for (let round = 1; round <= bench.plan.runs.breakdown; round++)
    rounds.push(await breakdownRound(bench, synced, isProgram, round));
  const rootStart = await measureRootStart();
  progress(
    `bwrap's start: \`true\` ${rootStart.inRoot.toFixed(3)} s in the worker root, ${rootStart.here.toFixed(3)} s here`,
  );
  return breakdownReport(rounds, { awsCall: await oneAwsCall(bench), rootStart }, fullCopy);
}

const medianCpu = (uses: readonly CpuUse[]): CpuUse => ({
  client: median(uses.map((use) => use.client)),
  sourceRegistry: median(uses.map((use) => use.sourceRegistry)),
  targetRegistry: median(uses.map((use) => use.targetRegistry)),
  machineBusy: median(uses.map((use) => use.machineBusy)),
});

const cpuText = (cpu: CpuUse) =>
  `${cpu.client.toFixed(2)} + ${cpu.sourceRegistry.toFixed(2)} + ${cpu.targetRegistry.toFixed(2)} (${(cpu.machineBusy * 100).toFixed(0)}%)`;

const cpuFigures = (cpu: CpuUse) => ({
  client_s: round(cpu.client),
  source_registry_s: round(cpu.sourceRegistry),
  target_registry_s: round(cpu.targetRegistry),
  machine_busy: round(cpu.machineBusy, 2),
});

/** What the breakdown times on its own: one aws call (in the root, bwrap's start included) and bwrap's start. */
export interface Alone {
  readonly awsCall: number;
  readonly rootStart: RootStart;
}

/** Medians over the rounds; `alone`: what was timed on its own; `fullCopy`: stage 1's medians. */
export function breakdownReport(
  rounds: readonly BreakdownRound[],
  { awsCall, rootStart }: Alone,
  fullCopy: FullCopySummary,
): Breakdown {
  const copy = medianProfile(rounds.map((r) => r.copy.profile));
  const unchanged = medianProfile(rounds.map((r) => r.unchanged.profile));
  const copyAws = Math.max(...rounds.map((r) => r.copy.aws));
  const unchangedAws = Math.max(...rounds.map((r) => r.unchanged.aws));
  const cpu = {
    baseline: medianCpu(rounds.map((r) => r.baseline.cpu)),
    skopeo: medianCpu(rounds.map((r) => r.skopeo.cpu)),
    copy: medianCpu(rounds.map((r) => r.copy.cpu)),
  };
  const { baseline, skopeoAlone, warm } = fullCopy;
  const skopeoShare = skopeoAlone / baseline - 1;
  const scriptShare = (warm - skopeoAlone) / baseline;
  const signed = (value: number, unit: string) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}${unit}`;
  const more = (a: CpuUse, b: CpuUse) =>
    `client ${signed(a.client - b.client, "")}, target registry ${signed(a.targetRegistry - b.targetRegistry, "")}`;
  return {
    fullCopy: {
      figures: {
        warm_full_copy_above_baseline: {
          ratio: round(warm / baseline, 3),
          skopeo_x: round(skopeoShare, 3),
          script_x: round(scriptShare, 3),
          script_s: round(warm - skopeoAlone),
        },
        warm_full_copy_profile: roundedProfile(copy, 8),
        copy_cpu_s: {
          baseline: cpuFigures(cpu.baseline),
          skopeo_alone: cpuFigures(cpu.skopeo),
          warm_full_copy: cpuFigures(cpu.copy),
        },
      },
      rows: [
        {
          figure: "↳ above 1.0x: skopeo's own (skopeo alone / baseline)",
          measured: `${signed(skopeoShare, "x")} (${skopeoAlone.toFixed(2)} s vs ${baseline.toFixed(2)} s)`,
        },
        {
          figure: "↳ above 1.0x: the script's ((warm - skopeo alone) / baseline)",
          cache: "warm",
          measured: `${signed(scriptShare, "x")} (${signed(warm - skopeoAlone, " s")})`,
        },
        {
          figure: "↳ warm full copy, traced: where the time goes",
          cache: "warm",
          measured: `${copy.total.toFixed(2)} s: ${splitText(copy)}`,
          aws: copyAws,
        },
        {
          figure: "↳ CPU s: client + source reg. + target reg. (machine busy)",
          measured: `baseline ${cpuText(cpu.baseline)}; skopeo alone ${cpuText(cpu.skopeo)}; warm copy ${cpuText(cpu.copy)}`,
        },
        {
          figure: "↳ CPU s more than the baseline",
          measured: `skopeo alone: ${more(cpu.skopeo, cpu.baseline)}; warm copy: ${more(cpu.copy, cpu.baseline)}`,
        },
      ],
    },
    unchanged: {
      figures: {
        warm_unchanged_copy_profile: roundedProfile(unchanged, 8),
        aws_cli_call_s: round(awsCall),
        bwrap_start_s: round(rootStart.inRoot - rootStart.here),
      },
      rows: [
        {
          figure: "↳ warm unchanged copy, traced: where the time goes",
          cache: "warm",
          measured: `${unchanged.total.toFixed(2)} s: ${splitText(unchanged)}`,
          aws: unchangedAws,
        },
        {
          figure: "↳ its costliest functions",
          cache: "warm",
          measured: unchanged.functions
            .slice(0, 4)
            .map(([name, seconds]) => `${name} ${seconds.toFixed(3)} s`)
            .join(", "),
        },
        {
          figure: "↳ one aws CLI call alone, in the worker root (a cold run makes 4)",
          measured: `${awsCall.toFixed(2)} s`,
        },
        {
          figure: "↳ bwrap's start: in every copier time and the aws call alone",
          measured: `${(rootStart.inRoot - rootStart.here).toFixed(3)} s (\`true\` started in the worker root ${rootStart.inRoot.toFixed(3)} s, here ${rootStart.here.toFixed(3)} s)`,
        },
      ],
    },
  };
}

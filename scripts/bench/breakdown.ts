/**
 * Stage 2, continued: what remains above 1.0x of the baseline for a full copy, and where a copy's
 * time goes. The split of the ratio comes from stage 1's medians (many runs, taking turns):
 * skopeo's own share is skopeo alone against the baseline, the copier's share the copy against
 * skopeo alone. Where the copier's time goes comes from this stage's rounds: a full copy into a
 * fresh target and an unchanged copy into the synced one run traced (traced.ts, profile.ts: Node's
 * and the bundle's start-up, skopeo, registry requests, AWS calls, the lock, telemetry, the copier's
 * own work, the exit). Each round also measures the CPU that the baseline, skopeo alone and the
 * copy used, and the registries with them (cpu.ts): on 2 cores that are busy, CPU seconds become
 * wall seconds. bwrap's start, which every copier time includes, is timed alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { copyArgs } from "../../local/world";
import { layerBytes, writeAuthFile } from "../../local/oci";
import { Registry } from "../../local/registry";
import { cpuMark, cpuSince, registryPid } from "./cpu";
import { FULL_COPY_MAP, FullCopySummary, SyncedImage } from "./full-copy";
import { httpCopyImage } from "./http";
import { measureRootStart, RootStart, skopeoAlone } from "./in-root";
import { expectOk, Measured, progress, timed } from "./measure";
import { childrenCpuSeconds, medianProfile, Profile, roundedProfile, splitText } from "./profile";
import { Bench } from "./session";
import { median, round } from "./stats";
import { tracedCopier } from "./traced";

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

/** One round: baseline, skopeo alone and the traced copy into fresh targets, then the traced unchanged copy. */
async function breakdownRound(bench: Bench, synced: SyncedImage, round: number): Promise<BreakdownRound> {
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
  const args = copyArgs(sourceRepository, targetRepository, tag);
  const copy = await withCpu(target.pids, async () => {
    const run = await tracedCopier(bench, args, FULL_COPY_MAP, target.registry);
    return { value: run, clientCpu: run.cpu };
  });
  expectOk(copy.value, "copied", `breakdown round ${round}, traced full copy`);
  await checkArrived(target.registry, "traced full copy");
  await bench.dropTarget(target.registry);

  const unchanged = await tracedCopier(bench, args, FULL_COPY_MAP, synced.registry);
  expectOk(unchanged, "unchanged", `breakdown round ${round}, traced unchanged copy`);

  const result: BreakdownRound = {
    baseline: { seconds: baseline.seconds, cpu: baseline.cpu },
    skopeo: { seconds: skopeo.seconds, cpu: skopeo.cpu },
    copy: { profile: copy.value.profile, aws: copy.value.awsCalls.length, cpu: copy.cpu },
    unchanged: { profile: unchanged.profile, aws: unchanged.awsCalls.length },
  };
  progress(
    `breakdown ${round}/${bench.plan.runs.breakdown}: baseline ${baseline.seconds.toFixed(2)} s, skopeo alone ${skopeo.seconds.toFixed(2)} s, traced copy ${copy.seconds.toFixed(2)} s (skopeo ${result.copy.profile.seconds.skopeo.toFixed(2)} s), traced unchanged ${unchanged.seconds.toFixed(2)} s (start-up ${unchanged.profile.seconds["start-up"].toFixed(2)} s)`,
  );
  return result;
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
  const rounds: BreakdownRound[] = [];
  for (let round = 1; round <= bench.plan.runs.breakdown; round++)
    rounds.push(await breakdownRound(bench, synced, round));
  const rootStart = await measureRootStart();
  progress(
    `bwrap's start: \`true\` ${rootStart.inRoot.toFixed(3)} s in the worker root, ${rootStart.here.toFixed(3)} s here`,
  );
  return breakdownReport(rounds, rootStart, fullCopy);
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

/** Medians over the rounds; `rootStart`: bwrap's start, timed on its own; `fullCopy`: stage 1's medians. */
export function breakdownReport(
  rounds: readonly BreakdownRound[],
  rootStart: RootStart,
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
  const { baseline, skopeoAlone, copier } = fullCopy;
  const skopeoShare = skopeoAlone / baseline - 1;
  const copierShare = (copier - skopeoAlone) / baseline;
  const signed = (value: number, unit: string) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}${unit}`;
  const more = (a: CpuUse, b: CpuUse) =>
    `client ${signed(a.client - b.client, "")}, target registry ${signed(a.targetRegistry - b.targetRegistry, "")}`;
  const bwrap = rootStart.inRoot - rootStart.here;
  return {
    fullCopy: {
      figures: {
        full_copy_above_baseline: {
          ratio: round(copier / baseline, 3),
          skopeo_x: round(skopeoShare, 3),
          copier_x: round(copierShare, 3),
          copier_s: round(copier - skopeoAlone),
        },
        full_copy_profile: roundedProfile(copy),
        copy_cpu_s: {
          baseline: cpuFigures(cpu.baseline),
          skopeo_alone: cpuFigures(cpu.skopeo),
          full_copy: cpuFigures(cpu.copy),
        },
      },
      rows: [
        {
          figure: "↳ above 1.0x: skopeo's own (skopeo alone / baseline)",
          measured: `${signed(skopeoShare, "x")} (${skopeoAlone.toFixed(2)} s vs ${baseline.toFixed(2)} s)`,
        },
        {
          figure: "↳ above 1.0x: the copier's ((copy - skopeo alone) / baseline)",
          measured: `${signed(copierShare, "x")} (${signed(copier - skopeoAlone, " s")})`,
        },
        {
          figure: "↳ full copy, traced: where the time goes",
          measured: `${copy.total.toFixed(2)} s: ${splitText(copy)}`,
          aws: copyAws,
        },
        {
          figure: "↳ CPU s: client + source reg. + target reg. (machine busy)",
          measured: `baseline ${cpuText(cpu.baseline)}; skopeo alone ${cpuText(cpu.skopeo)}; copy ${cpuText(cpu.copy)}`,
        },
        {
          figure: "↳ CPU s more than the baseline",
          measured: `skopeo alone: ${more(cpu.skopeo, cpu.baseline)}; copy: ${more(cpu.copy, cpu.baseline)}`,
        },
      ],
    },
    unchanged: {
      figures: {
        unchanged_copy_profile: roundedProfile(unchanged),
        bwrap_start_s: round(bwrap),
      },
      rows: [
        {
          figure: "↳ unchanged copy, traced: where the time goes",
          measured: `${unchanged.total.toFixed(2)} s: ${splitText(unchanged)}`,
          aws: unchangedAws,
        },
        {
          figure: "↳ bwrap's start: in every copier time and in node -e 0",
          measured: `${bwrap.toFixed(3)} s (\`true\` started in the worker root ${rootStart.inRoot.toFixed(3)} s, here ${rootStart.here.toFixed(3)} s)`,
        },
      ],
    },
  };
}

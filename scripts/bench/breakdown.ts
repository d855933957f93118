/**
 * Stage 2, continued: where a warm copy's time goes, and so what remains above 1.0x of the
 * baseline. Each round, into fresh targets: the plain-HTTP baseline, `skopeo copy` alone and the
 * warm full copy, each with the CPU it and the two registries used; then the warm unchanged copy
 * into the synced target. The copier runs traced (profile.ts): every command it runs is stamped
 * with bash's own clock, so its time splits into skopeo, curl, jq, flock, aws, the other programs
 * (stat, mv, rm, cat, mktemp, …) and bash itself, and by function, without a process added.
 * One `aws` call alone is timed too: what a cold run pays for each of its calls.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { layerBytes, writeAuthFile } from "../../local/oci";
import { Registry, toolPath } from "../../local/registry";
import { SCRIPT } from "../../local/world";
import { cpuMark, cpuSince, registryPid } from "./cpu";
import { FULL_COPY_MAP, SyncedImage } from "./full-copy";
import { httpCopyImage } from "./http";
import { expectOk, Measured, progress, timed } from "./measure";
import { CATEGORIES, Category, childrenCpuSeconds, Profile, profileOf, TRACE_PS4 } from "./profile";
import { Bench } from "./session";
import { median, round } from "./stats";

const execFileAsync = promisify(execFile);

/** A POSIX shell that runs its arguments, then prints `times` (its children's CPU) on stdout. */
const WITH_TIMES = ["sh", "-c", '"$@"; code=$?; times; exit "$code"', "sh"];

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

/** Says whether a word of a traced command is a program on PATH, not a builtin, keyword or function of the script. */
async function programPredicate(): Promise<(word: string) => boolean> {
  const { stdout } = await execFileAsync("bash", ["-c", "compgen -b; compgen -k"]);
  const script = await readFile(SCRIPT, "utf8");
  const notPrograms = new Set([
    ...stdout.split("\n").filter((word) => word !== ""),
    ...[...script.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\(\) \{/gm)].map((match) => match[1]),
  ]);
  const known = new Map<string, boolean>();
  return (word) => {
    if (notPrograms.has(word) || !/^[A-Za-z0-9_./+-]+$/.test(word)) return false;
    if (!known.has(word)) known.set(word, toolPath(word) !== "");
    return known.get(word) ?? false;
  };
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

/** Runs a command (with WITH_TIMES), its stdout, stderr and exit code. */
function spawnCollect(
  argv: readonly string[],
  env: Record<string, string>,
  extraFd?: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe"];
    if (extraFd !== undefined) stdio.push(extraFd);
    const child = spawn(argv[0], argv.slice(1), { env, stdio });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** One traced run of the script: its result lines, trace, aws processes and CPU (all its processes). */
interface TracedRun {
  readonly code: number;
  readonly stderr: string;
  readonly lines: Array<Record<string, string>>;
  readonly trace: string;
  readonly awsCalls: readonly string[];
  readonly clientCpu: number;
}

let traces = 0;

/**
 * `ecr-sync.sh ARGS` as bench.copy runs it, but sourced by a bash that traces it (set -x, PS4 =
 * TRACE_PS4, the trace on fd 3 through BASH_XTRACEFD), under WITH_TIMES. Sourced with $0 set to
 * the script, it runs main as when run (its guard compares BASH_SOURCE with $0). The trace holds
 * what the commands were given, credentials included: a 0600 file in a private dir, read and removed.
 */
async function tracedScript(
  bench: Bench,
  traceDir: string,
  args: readonly string[],
  registry: Registry,
): Promise<TracedRun> {
  const traceFile = join(traceDir, `trace.${++traces}`);
  const awsLog = bench.awsLog();
  const env = { ...bench.scriptEnv(FULL_COPY_MAP, registry, awsLog), BASH_XTRACEFD: "3" };
  const fd = openSync(traceFile, "w", 0o600);
  let run: { code: number; stdout: string; stderr: string };
  try {
    run = await spawnCollect(
      [...WITH_TIMES, "bash", "-c", `PS4='${TRACE_PS4}'; set -x; . "$0"`, SCRIPT, ...args],
      env,
      fd,
    );
  } finally {
    closeSync(fd);
  }
  const trace = await readFile(traceFile, "utf8");
  await rm(traceFile, { force: true });
  const out = run.stdout.trimEnd().split("\n");
  const lines = out
    .slice(0, -2)
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, string>);
  return {
    code: run.code,
    stderr: run.stderr,
    lines,
    trace,
    awsCalls: await bench.awsCallsIn(awsLog),
    clientCpu: childrenCpuSeconds(run.stdout),
  };
}

/** One round: baseline, skopeo alone and the traced warm copy into fresh targets, then the traced warm unchanged copy. */
async function breakdownRound(
  bench: Bench,
  synced: SyncedImage,
  isProgram: (word: string) => boolean,
  traceDir: string,
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
  const authFile = join(traceDir, "auth.json");
  await writeAuthFile(authFile, {
    [world.source.host]: { username: "AWS", password: bench.sourceEndpoint.password },
    [target.registry.host]: { username: "AWS", password: bench.targetEndpoint(target.registry).password },
  });
  const skopeo = await withCpu(target.pids, async () => {
    const run = await spawnCollect(
      [
        ...WITH_TIMES,
        "skopeo",
        "copy",
        ...["--all", "--preserve-digests", "--quiet", "--retry-times", "3", "--authfile", authFile],
        ...["--src-tls-verify=false", "--dest-tls-verify=false"],
        `docker://${world.source.host}/${sourceRepository}@${image.digest}`,
        `docker://${target.registry.host}/${targetRepository}:${tag}`,
      ],
      { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    );
    if (run.code !== 0)
      throw new Error(`breakdown round ${round}: skopeo copy alone exited ${run.code}: ${run.stderr}`);
    return { value: run, clientCpu: childrenCpuSeconds(run.stdout) };
  });
  await rm(authFile, { force: true });
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
    const run = await tracedScript(bench, traceDir, copyArgs, target.registry);
    return { value: run, clientCpu: run.clientCpu };
  });
  expectOk(
    { ...copy.value, stdout: "", milliseconds: 0 },
    "copied",
    `breakdown round ${round}, traced warm full copy`,
  );
  await checkArrived(target.registry, "traced warm full copy");
  await bench.dropTarget(target.registry);

  await bench.prepareCache("warm", FULL_COPY_MAP, synced.registry);
  const { value: unchanged, seconds: unchangedSeconds } = await timed(() =>
    tracedScript(bench, traceDir, copyArgs, synced.registry),
  );
  expectOk(
    { ...unchanged, stdout: "", milliseconds: 0 },
    "unchanged",
    `breakdown round ${round}, traced warm unchanged copy`,
  );

  const result: BreakdownRound = {
    baseline: { seconds: baseline.seconds, cpu: baseline.cpu },
    skopeo: { seconds: skopeo.seconds, cpu: skopeo.cpu },
    copy: {
      profile: profileOf(copy.value.trace, copy.seconds, isProgram),
      aws: copy.value.awsCalls.length,
      cpu: copy.cpu,
    },
    unchanged: {
      profile: profileOf(unchanged.trace, unchangedSeconds, isProgram),
      aws: unchanged.awsCalls.length,
    },
  };
  progress(
    `breakdown ${round}/${bench.plan.runs.breakdown}: baseline ${baseline.seconds.toFixed(2)} s, skopeo alone ${skopeo.seconds.toFixed(2)} s, traced warm copy ${copy.seconds.toFixed(2)} s (skopeo ${result.copy.profile.seconds.skopeo.toFixed(2)} s), traced warm unchanged ${unchangedSeconds.toFixed(2)} s`,
  );
  return result;
}

/** Median wall time of `aws ecr get-login-password` run on its own, three times. */
async function oneAwsCall(bench: Bench): Promise<number> {
  const times: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const { seconds } = await timed(() =>
      execFileAsync("aws", ["ecr", "get-login-password", "--region", "us-east-1"], {
        env: bench.world.env(),
      }),
    );
    times.push(seconds);
  }
  return median(times);
}

export async function measureBreakdown(bench: Bench, synced: SyncedImage): Promise<Measured> {
  const isProgram = await programPredicate();
  const traceDir = await bench.tempDir("ecr-sync-bench-trace-");
  const rounds: BreakdownRound[] = [];
  for (let round = 1; round <= bench.plan.runs.breakdown; round++)
    rounds.push(await breakdownRound(bench, synced, isProgram, traceDir, round));
  return breakdownReport(rounds, await oneAwsCall(bench));
}

/** The median of each category's seconds and processes over `profiles`; functions from the run of median total. */
export function medianProfile(profiles: readonly Profile[]): Profile {
  const each = (pick: (profile: Profile) => Record<Category, number>) =>
    Object.fromEntries(
      CATEGORIES.map((category) => [category, median(profiles.map((profile) => pick(profile)[category]))]),
    ) as Record<Category, number>;
  const byTotal = [...profiles].sort((a, b) => a.total - b.total);
  return {
    total: median(profiles.map((profile) => profile.total)),
    seconds: each((profile) => profile.seconds),
    processes: each((profile) => profile.processes),
    functions: byTotal[Math.floor((byTotal.length - 1) / 2)].functions,
  };
}

/** "skopeo 1.70 s (1), curl 0.05 s (3), …, bash 0.05 s": categories that took time or started a process. */
export function splitText(profile: Profile, skip: readonly Category[] = []): string {
  return CATEGORIES.filter((category) => !skip.includes(category))
    .filter((category) => profile.seconds[category] >= 0.005 || profile.processes[category] > 0)
    .map(
      (category) =>
        `${category} ${profile.seconds[category].toFixed(2)} s${category === "bash" ? "" : ` (${profile.processes[category]})`}`,
    )
    .join(", ");
}

const roundedProfile = (profile: Profile, functions: number) => ({
  total_s: round(profile.total),
  seconds: Object.fromEntries(CATEGORIES.map((category) => [category, round(profile.seconds[category])])),
  processes: profile.processes,
  functions_s: Object.fromEntries(
    profile.functions.slice(0, functions).map(([name, seconds]) => [name, round(seconds)]),
  ),
});

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

/** Medians over the rounds; `awsCall`: seconds of one aws call alone. */
export function breakdownReport(rounds: readonly BreakdownRound[], awsCall: number): Measured {
  const copy = medianProfile(rounds.map((r) => r.copy.profile));
  const unchanged = medianProfile(rounds.map((r) => r.unchanged.profile));
  const baseline = median(rounds.map((r) => r.baseline.seconds));
  const skopeoAlone = median(rounds.map((r) => r.skopeo.seconds));
  const copyAws = Math.max(...rounds.map((r) => r.copy.aws));
  const unchangedAws = Math.max(...rounds.map((r) => r.unchanged.aws));
  const cpu = {
    baseline: medianCpu(rounds.map((r) => r.baseline.cpu)),
    skopeo: medianCpu(rounds.map((r) => r.skopeo.cpu)),
    copy: medianCpu(rounds.map((r) => r.copy.cpu)),
  };
  const skopeoInCopy = copy.seconds.skopeo;
  const around = copy.total - skopeoInCopy;
  const signed = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}x`;
  return {
    figures: {
      warm_full_copy_profile: roundedProfile(copy, 8),
      warm_unchanged_copy_profile: roundedProfile(unchanged, 8),
      warm_full_copy_above_baseline: {
        baseline_s: round(baseline),
        skopeo_in_copy_s: round(skopeoInCopy),
        skopeo_x: round(skopeoInCopy / baseline - 1, 3),
        script_around_skopeo_s: round(around),
        script_x: round(around / baseline, 3),
      },
      copy_cpu_s: {
        baseline: cpuFigures(cpu.baseline),
        skopeo_alone: cpuFigures(cpu.skopeo),
        warm_full_copy: cpuFigures(cpu.copy),
      },
      breakdown_skopeo_alone_s: round(skopeoAlone),
      aws_cli_call_s: round(awsCall),
    },
    rows: [
      {
        figure: "warm full copy, traced: where the time goes",
        cache: "warm",
        measured: `${copy.total.toFixed(2)} s: ${splitText(copy)}`,
        aws: copyAws,
      },
      {
        figure: "  above 1.0x: skopeo itself, vs baseline",
        cache: "warm",
        measured: `${signed(skopeoInCopy / baseline - 1)} (skopeo ${skopeoInCopy.toFixed(2)} s, baseline ${baseline.toFixed(2)} s, skopeo alone ${skopeoAlone.toFixed(2)} s)`,
      },
      {
        figure: "  above 1.0x: the script around skopeo",
        cache: "warm",
        measured: `${signed(around / baseline)} (${around.toFixed(2)} s: ${splitText(copy, ["skopeo"])})`,
      },
      {
        figure: "  CPU s: client + source reg. + target reg. (machine busy)",
        measured: `baseline ${cpuText(cpu.baseline)}; skopeo alone ${cpuText(cpu.skopeo)}; warm copy ${cpuText(cpu.copy)}`,
      },
      {
        figure: "warm unchanged copy, traced: where the time goes",
        cache: "warm",
        measured: `${unchanged.total.toFixed(2)} s: ${splitText(unchanged)}`,
        aws: unchangedAws,
      },
      {
        figure: "  its costliest functions",
        cache: "warm",
        measured: unchanged.functions
          .slice(0, 4)
          .map(([name, seconds]) => `${name} ${seconds.toFixed(3)} s`)
          .join(", "),
      },
      { figure: "one aws CLI call alone (a cold run makes 4)", measured: `${awsCall.toFixed(2)} s` },
    ],
  };
}

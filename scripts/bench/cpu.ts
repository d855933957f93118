/**
 * The CPU a measured run used, and the least time that CPU allows on this machine's cores: the
 * floor a time target is set against. The copier's processes are measured from outside (the `times`
 * of a shell that waited for them: in-root.ts WITH_TIMES), the long-running servers from
 * /proc/PID/stat (both registries, moto), and the whole machine from /proc/stat, which shows what
 * other processes took meanwhile. Linux only, as the bench is. The parsing and the floor line are
 * pure: unit tested in test/unit/bench-cpu.test.ts.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Registry } from "../../local/registry";
import { median, round } from "./stats";

/** USER_HZ: the unit of /proc's CPU times on Linux. */
const TICKS_PER_SECOND = 100;

/**
 * The CPU seconds (user + system) of the waited-for children in the output of a POSIX shell's
 * `times` (its second line, "0m1.230000s 0m0.120000s"), which must end `text`.
 */
export function childrenCpuSeconds(text: string): number {
  const lines = text.trimEnd().split("\n");
  const match = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? "");
  if (!match || lines.length < 2) throw new Error(`no 'times' output at the end of: ${text.slice(-200)}`);
  return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) * 60 + Number(match[4]);
}

/**
 * CPU seconds (utime + stime) of a process from its /proc/PID/stat line. The command name
 * (field 2) may hold spaces and parentheses: the fields are counted from its last ')'.
 */
export function cpuSecondsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 120)}`);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU seconds every core of the machine was busy (all but idle and iowait), from the first line of /proc/stat. */
export function machineBusySeconds(procStat: string): number {
  const [label, ...values] = procStat.split("\n")[0].trim().split(/\s+/);
  const numbers = values.map(Number);
  if (label !== "cpu" || numbers.length < 5 || numbers.some((value) => !Number.isFinite(value)))
    throw new Error(`not the first line of /proc/stat: ${procStat.split("\n")[0]}`);
  const total = numbers.reduce((sum, value) => sum + value, 0);
  return (total - numbers[3] - numbers[4]) / TICKS_PER_SECOND;
}

/** The pid of the process that `matches` its command line (NUL-split), or an error naming `what`. */
async function pidOf(what: string, matches: (argv: string[]) => boolean): Promise<number> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (matches(commandLine.split("\0"))) return Number(entry);
  }
  throw new Error(`no process in /proc is ${what}`);
}

/** The pid of the docker-registry serving `registry`: the process whose command line names its config file. */
export function registryPid(registry: Registry): Promise<number> {
  const configFile = join(dirname(registry.storageDir), "config.yml");
  return pidOf(`the docker-registry of ${registry.host} (${configFile})`, (argv) =>
    argv.includes(configFile),
  );
}

/** The pid of the moto_server listening at `endpoint` (http://127.0.0.1:PORT). */
export function motoPid(endpoint: string): Promise<number> {
  const port = new URL(endpoint).port;
  return pidOf(`the moto_server on ${endpoint}`, (argv) => {
    const flag = argv.indexOf("-p");
    return argv.some((arg) => arg.endsWith("moto_server")) && flag >= 0 && argv[flag + 1] === port;
  });
}

/** CPU seconds a process has used so far. */
async function processCpuSeconds(pid: number): Promise<number> {
  return cpuSecondsOfStat(await readFile(`/proc/${pid}/stat`, "utf8"));
}

/** The servers a run keeps busy: both registries it talks to, and moto. */
export interface ServerPids {
  readonly registries: readonly number[];
  readonly moto: number;
}

/** A point to measure CPU from: the servers' CPU so far and the machine's. */
export interface CpuMark {
  readonly pids: ServerPids;
  readonly registries: number;
  readonly moto: number;
  readonly machine: number;
}

export async function cpuMark(pids: ServerPids): Promise<CpuMark> {
  const registries = await Promise.all(pids.registries.map(processCpuSeconds));
  return {
    pids,
    registries: registries.reduce((sum, seconds) => sum + seconds, 0),
    moto: await processCpuSeconds(pids.moto),
    machine: machineBusySeconds(await readFile("/proc/stat", "utf8")),
  };
}

/** CPU seconds one measured run used, by whom. */
export interface CpuUse {
  /** The copier's processes (node, skopeo, flock, bwrap), as the shells that waited for them counted. */
  readonly copier: number;
  /** Both registries. */
  readonly registries: number;
  readonly moto: number;
  /** Every other process of the machine meanwhile (the bench itself, other users): not in the floor. */
  readonly others: number;
}

/** Since `mark`, with `copier` the copier's processes' CPU measured from outside. */
export async function cpuSince(mark: CpuMark, copier: number): Promise<CpuUse> {
  const now = await cpuMark(mark.pids);
  const registries = now.registries - mark.registries;
  const moto = now.moto - mark.moto;
  return {
    copier,
    registries,
    moto,
    others: Math.max(0, now.machine - mark.machine - copier - registries - moto),
  };
}

/** Each part's median over `uses` (several runs of one stage). */
export function medianCpu(uses: readonly CpuUse[]): CpuUse {
  const of = (part: keyof CpuUse) => median(uses.map((use) => use[part]));
  return { copier: of("copier"), registries: of("registries"), moto: of("moto"), others: of("others") };
}

/** The CPU a run needs (the copier's, the registries' and moto's) spread over every core: no run can be faster on this machine. */
export function floorSeconds(cpu: CpuUse, cores: number): number {
  return (cpu.copier + cpu.registries + cpu.moto) / cores;
}

/**
 * Why a time target was missed, from measured figures: the CPU the run used, the floor it gives
 * on `cores`, and whether the target (`limit` s) is below that floor (then no copier that does the
 * same work can meet it here) or above it (then the run also waited on something other than CPU).
 */
export function floorLine(figure: string, limit: number, cpu: CpuUse, cores: number): string {
  const used = cpu.copier + cpu.registries + cpu.moto;
  const floor = floorSeconds(cpu, cores);
  const verdict =
    limit < floor
      ? `target ${limit} s below it`
      : `target ${limit} s above it by ${(limit - floor).toFixed(2)} s`;
  return `${figure}: ${used.toFixed(2)} CPU s (copier ${cpu.copier.toFixed(2)}, registries ${cpu.registries.toFixed(2)}, moto ${cpu.moto.toFixed(2)}) / ${cores} cores = floor ${floor.toFixed(2)} s, ${verdict}; other processes ${cpu.others.toFixed(2)} CPU s`;
}

/** The JSON line's `KEY_cpu_s` (each part, rounded) and `KEY_floor_s`. */
export function cpuFigures(key: string, cpu: CpuUse, cores: number): Record<string, unknown> {
  return {
    [`${key}_cpu_s`]: {
      copier: round(cpu.copier),
      registries: round(cpu.registries),
      moto: round(cpu.moto),
      others: round(cpu.others),
    },
    [`${key}_floor_s`]: round(floorSeconds(cpu, cores)),
  };
}

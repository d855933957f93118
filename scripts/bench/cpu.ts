/**
 * CPU seconds of the processes a copy keeps busy: the two registries (long-running, read from
 * /proc) and the machine as a whole (how much of its 2 cores anything, other users included,
 * kept busy meanwhile). Linux only, as the bench is.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Registry } from "../../local/registry";
import { cpuSecondsOfStat, machineJiffies } from "./profile";

/** The pid of the docker-registry serving `registry`: the process whose command line names its config file. */
export async function registryPid(registry: Registry): Promise<number> {
  const configFile = join(dirname(registry.storageDir), "config.yml");
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (commandLine.split("\0").includes(configFile)) return Number(entry);
  }
  throw new Error(`no docker-registry process serves ${registry.host} (config ${configFile}) in /proc`);
}

/** CPU seconds a process has used so far. */
export async function processCpuSeconds(pid: number): Promise<number> {
  return cpuSecondsOfStat(await readFile(`/proc/${pid}/stat`, "utf8"));
}

/** A point to measure CPU from: the registries' CPU so far and the machine's jiffies. */
export interface CpuMark {
  readonly pids: readonly number[];
  readonly seconds: readonly number[];
  readonly machine: { readonly busy: number; readonly total: number };
}

export async function cpuMark(pids: readonly number[]): Promise<CpuMark> {
  return {
    pids,
    seconds: await Promise.all(pids.map(processCpuSeconds)),
    machine: machineJiffies(await readFile("/proc/stat", "utf8")),
  };
}

/** Since `mark`: CPU seconds of each of its processes, and the share of all cores the machine was busy (0..1). */
export async function cpuSince(mark: CpuMark): Promise<{ seconds: number[]; machineBusy: number }> {
  const now = await cpuMark(mark.pids);
  const total = now.machine.total - mark.machine.total;
  return {
    seconds: now.seconds.map((seconds, i) => seconds - mark.seconds[i]),
    machineBusy: total > 0 ? (now.machine.busy - mark.machine.busy) / total : 0,
  };
}

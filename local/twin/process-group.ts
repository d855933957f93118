/**
 * What `npm start` (scripts/start.ts) reads of Linux's process table, /proc, to leave nothing behind:
 * the members of the twin's process group, to stop them all, and the processes of its own invocation
 * (npm, the shell npm runs the script in, tsx), to notice when they are gone.
 */
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** When it started, in clock ticks since boot: with the pid, names one process even after pid reuse. */
  readonly startTime: string;
  readonly zombie: boolean;
}

/** /proc/PID/stat of a process, or undefined when there is none. */
export function processEntry(pid: number): ProcessEntry | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

function parseStat(pid: number, text: string): ProcessEntry {
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime …": comm may hold spaces and ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: fields[19],
    zombie: fields[0] === "Z",
  };
}

/**
 * Every process there is, as /proc lists them now, read without blocking. (npm start runs as `node
 * --import tsx`, not under the tsx command, whose relaySignals kills a child that does not answer a
 * relayed signal within 60 ms: on a busy machine, npm start itself in the middle of its clean-up.)
 */
export async function allProcesses(): Promise<ProcessEntry[]> {
  const names = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  const entries = await Promise.all(
    names.map((name) =>
      readFile(`/proc/${name}/stat`, "utf8").then(
        (text) => parseStat(Number(name), text),
        () => undefined,
      ),
    ),
  );
  return entries.filter((entry): entry is ProcessEntry => entry !== undefined);
}

/** The live members (zombies hold nothing) of process group `pgid`. */
export async function groupMembers(pgid: number): Promise<number[]> {
  return (await allProcesses()).filter((p) => p.pgid === pgid && !p.zombie).map((p) => p.pid);
}

/** Whether the process `entry` describes is still running (the same start time: not a reused pid). */
export function stillRunning(entry: ProcessEntry): boolean {
  const now = processEntry(entry.pid);
  return now !== undefined && !now.zombie && now.startTime === entry.startTime;
}

/**
 * Stops every process of group `pgid`: SIGTERM, then SIGKILL for what is left after `graceMs`.
 * Returns the pids it found running, and those still there at the end (none, unless they cannot be
 * killed).
 */
export async function stopGroup(pgid: number, graceMs = 3000): Promise<{ found: number[]; left: number[] }> {
  const found = await groupMembers(pgid);
  if (found.length === 0) return { found, left: [] };
  for (const [signal, wait] of [
    ["SIGTERM", graceMs],
    ["SIGKILL", 2000],
  ] as const) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // ESRCH: the group ended in between.
    }
    if (await until(async () => (await groupMembers(pgid)).length === 0, wait)) return { found, left: [] };
  }
  return { found, left: await groupMembers(pgid) };
}

/**
 * The processes of this invocation above this one, to watch: when `npm start` is stopped by a
 * SIGTERM to npm alone, npm passes it to the shell running the script, which ends without passing it
 * on, so the script only learns of it by the shell's absence. With npm: the parent (the shell), each
 * ancestor that carries the same npm script variables, and the npm above them; without npm, the
 * parent.
 */
export function invocationAncestors(): ProcessEntry[] {
  const chain: ProcessEntry[] = [];
  const script = process.env.npm_lifecycle_event;
  let pid = process.ppid;
  while (pid > 1) {
    const entry = processEntry(pid);
    if (entry === undefined) break;
    chain.push(entry);
    if (script === undefined || environmentOf(pid).npm_lifecycle_event !== script) break;
    pid = entry.ppid;
  }
  return chain;
}

function environmentOf(pid: number): Record<string, string> {
  try {
    return Object.fromEntries(
      readFileSync(`/proc/${pid}/environ`, "utf8")
        .split("\0")
        .filter((pair) => pair.includes("="))
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
    );
  } catch {
    return {};
  }
}

/** Polls `done` every 50 ms until it holds (true) or `timeoutMs` passes (false). */
export async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

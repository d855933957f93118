/**
 * Where a copier run's time and CPU go, read from what the run itself leaves (pure: unit tested in
 * test/unit/bench-profile.test.ts):
 * - bash's own trace (set -x with TRACE_PS4, written to a file through BASH_XTRACEFD): one line
 *   per command the script runs, stamped with bash's clock before the command starts, in the main
 *   shell and in every subshell. A command's time is the gap to the next line of any process, so
 *   the gaps add up to the run, nothing counted twice and nothing started that the script would
 *   not start (tracing costs a few microseconds a line; wrappers on PATH would add a process start,
 *   milliseconds, to every call they measure);
 * - the `times` of the shell that waited for the run (CPU seconds of all its processes);
 * - /proc/PID/stat (CPU seconds of a long-running process: the registries).
 */
import { median, round } from "./stats";

/**
 * PS4 of the traced run. bash repeats the first character for each level of nesting; the fields
 * are the time the command starts, the process running it and the function it is in.
 */
export const TRACE_PS4 = "+@${EPOCHREALTIME}@${BASHPID}@${FUNCNAME[0]:-main}@ ";

const TRACE_LINE = /^\++@(\d+[.,]\d+)@(\d+)@([^@]*)@ (.*)$/;

/** One command of the trace. */
export interface TraceLine {
  /** Seconds since the epoch. */
  readonly time: number;
  readonly pid: number;
  /** The innermost function it ran in ("main" outside any). */
  readonly fn: string;
  readonly command: string;
}

/**
 * The trace's commands, in time order (file order among equal times). Lines that do not start
 * with TRACE_PS4's fields (the rest of a command that spans lines) are skipped.
 */
export function parseTrace(text: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const line of text.split("\n")) {
    const match = TRACE_LINE.exec(line);
    if (!match) continue;
    lines.push({
      time: Number(match[1].replace(",", ".")),
      pid: Number(match[2]),
      fn: match[3],
      command: match[4],
    });
  }
  return lines
    .map((line, index) => ({ line, index }))
    .sort((a, b) => a.line.time - b.line.time || a.index - b.index)
    .map(({ line }) => line);
}

/** The kinds of time a run is split into: the programs that matter one by one, all others, bash itself. */
export const CATEGORIES = ["skopeo", "curl", "jq", "flock", "aws", "other programs", "bash"] as const;
export type Category = (typeof CATEGORIES)[number];

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const NAMED_PROGRAMS: ReadonlySet<string> = new Set(CATEGORIES.slice(0, 5));

/**
 * The program a traced command starts, or undefined when bash runs it itself (a builtin, a
 * keyword, an assignment, a function of the script). Leading assignments are skipped; `env`
 * stands for the program it runs. `isProgram` says whether a word names a program on PATH
 * rather than a builtin or one of the script's functions.
 */
export function programOf(command: string, isProgram: (word: string) => boolean): string | undefined {
  const words = command.split(" ").filter((word) => word !== "");
  let i = 0;
  while (i < words.length && ASSIGNMENT.test(words[i])) i++;
  if (i >= words.length || !isProgram(words[i])) return undefined;
  if (words[i] === "env") {
    let j = i + 1;
    while (j < words.length && (ASSIGNMENT.test(words[j]) || words[j].startsWith("-"))) j++;
    if (j < words.length) return words[j];
  }
  return words[i];
}

export function categoryOf(program: string | undefined): Category {
  if (program === undefined) return "bash";
  return NAMED_PROGRAMS.has(program) ? (program as Category) : "other programs";
}

/** Where one run's wall time went. */
export interface Profile {
  /** The run's wall time, as measured from outside (start of bash to its exit). */
  readonly total: number;
  /** Seconds per category; they add up to `total` (start-up and exit count as bash). */
  readonly seconds: Record<Category, number>;
  /** Programs started, per category (bash: 0; its subshells are not counted). */
  readonly processes: Record<Category, number>;
  /** Seconds spent in each function of the script (its own commands and the programs it ran), largest first. */
  readonly functions: ReadonlyArray<readonly [string, number]>;
}

const zeros = (): Record<Category, number> =>
  Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>;

/**
 * Splits a run of `total` seconds by its trace: each command gets the time to the next traced
 * command of any process; what lies outside the first and last line (bash starting, reading the
 * script, exiting) counts as bash. Meant for a run whose processes take turns (copy); the
 * reconcile's parallel copy jobs would share their gaps.
 */
export function profileOf(trace: string, total: number, isProgram: (word: string) => boolean): Profile {
  const lines = parseTrace(trace);
  const seconds = zeros();
  const processes = zeros();
  const functions = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    const program = programOf(line.command, isProgram);
    const category = categoryOf(program);
    if (program !== undefined) processes[category] += 1;
    const gap = i + 1 < lines.length ? lines[i + 1].time - line.time : 0;
    seconds[category] += gap;
    functions.set(line.fn, (functions.get(line.fn) ?? 0) + gap);
  }
  const traced = lines.length > 1 ? lines[lines.length - 1].time - lines[0].time : 0;
  const outside = Math.max(0, total - traced);
  seconds.bash += outside;
  functions.set("(start and exit)", (functions.get("(start and exit)") ?? 0) + outside);
  return {
    total,
    seconds,
    processes,
    functions: [...functions].sort((a, b) => b[1] - a[1]),
  };
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

const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** `profile` divided by `n` (per tag of a reconcile): seconds, processes and functions. */
export function perItem(profile: Profile, n: number): Profile {
  const divide = (values: Record<Category, number>) =>
    Object.fromEntries(CATEGORIES.map((category) => [category, values[category] / n])) as Record<
      Category,
      number
    >;
  return {
    total: profile.total / n,
    seconds: divide(profile.seconds),
    processes: divide(profile.processes),
    functions: profile.functions.map(([name, seconds]) => [name, seconds / n] as const),
  };
}

/** "skopeo 1.70 s (1), curl 0.05 s (3), …, bash 0.05 s": categories that took time or started a process (how many). */
export function splitText(profile: Profile, skip: readonly Category[] = []): string {
  return CATEGORIES.filter((category) => !skip.includes(category))
    .filter((category) => profile.seconds[category] >= 0.005 || profile.processes[category] > 0)
    .map(
      (category) =>
        `${category} ${profile.seconds[category].toFixed(2)} s${category === "bash" ? "" : ` (${count(profile.processes[category])})`}`,
    )
    .join(", ");
}

/** `profile` for the JSON line, rounded, with its `functions` costliest functions. */
export const roundedProfile = (profile: Profile, functions: number) => ({
  total_s: round(profile.total),
  seconds: Object.fromEntries(CATEGORIES.map((category) => [category, round(profile.seconds[category])])),
  processes: Object.fromEntries(
    CATEGORIES.map((category) => [category, round(profile.processes[category], 2)]),
  ),
  functions_s: Object.fromEntries(
    profile.functions.slice(0, functions).map(([name, seconds]) => [name, round(seconds)]),
  ),
});

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
 * CPU seconds (utime + stime) of a process from its /proc/PID/stat line, at `ticksPerSecond`
 * (USER_HZ, 100 on Linux). The command name (field 2) may hold spaces and parentheses: the fields
 * are counted from its last ')'.
 */
export function cpuSecondsOfStat(stat: string, ticksPerSecond = 100): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 120)}`);
  return (utime + stime) / ticksPerSecond;
}

/** Busy and total jiffies of all CPUs from the first line of /proc/stat (busy: all but idle and iowait). */
export function machineJiffies(procStat: string): { busy: number; total: number } {
  const [label, ...values] = procStat.split("\n")[0].trim().split(/\s+/);
  const numbers = values.map(Number);
  if (label !== "cpu" || numbers.length < 5 || numbers.some((value) => !Number.isFinite(value)))
    throw new Error(`not the first line of /proc/stat: ${procStat.split("\n")[0]}`);
  const total = numbers.reduce((sum, value) => sum + value, 0);
  return { busy: total - numbers[3] - numbers[4], total };
}

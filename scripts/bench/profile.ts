/**
 * Where a copier run's time and CPU go, read from what the run itself leaves (pure: unit tested in
 * test/unit/bench-profile.test.ts):
 * - the copier's own trace (ECR_SYNC_TRACE=1, ec2-scripts/copier/trace.ts): a stderr line per step,
 *   `ecr-sync trace MS STEP`, MS counted from the Node process's start; a step that takes time is
 *   a pair, `STEP start` and `STEP end`. Tracing costs a write per step, no process start;
 * - the `times` of the shell that waited for the run (CPU seconds of all its processes);
 * - /proc/PID/stat (CPU seconds of a long-running process: the registries).
 */
import { median, round } from "./stats";

/** One line of the copier's trace. */
export interface TraceLine {
  /** Milliseconds since the copier's Node process started. */
  readonly ms: number;
  readonly step: string;
}

const TRACE_LINE = /^ecr-sync trace (\d+(?:\.\d+)?) (.+)$/;

/** The trace lines of a run's stderr, in time order; every other line is skipped. */
export function parseTrace(stderr: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const line of stderr.split("\n")) {
    const match = TRACE_LINE.exec(line.trim());
    if (match) lines.push({ ms: Number(match[1]), step: match[2] });
  }
  return lines.sort((a, b) => a.ms - b.ms);
}

/**
 * The kinds of time a run is split into, in the order that claims a moment when several run at once
 * (skopeo moving bytes outranks a registry request beside it): "start-up" is Node and the bundle
 * loading (Node's process start to the copier's first step), "copier" the copier's own work
 * between and around its waits, "bwrap and exit" the rest of the wall time measured from outside:
 * bwrap's start before Node's, and the process's exit after the last step.
 */
export const CATEGORIES = [
  "start-up",
  "skopeo",
  "registry",
  "AWS calls",
  "lock",
  "telemetry",
  "copier",
  "bwrap and exit",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The category of a traced span's step, by its first words (trace.ts's callers name them). */
export function categoryOf(step: string): Category {
  if (step.startsWith("skopeo ")) return "skopeo";
  if (/^(source|target) (GET|HEAD|PUT) /.test(step)) return "registry";
  if (/^sts |^(source|target) ecr /.test(step)) return "AWS calls";
  if (step.startsWith("lock ")) return "lock";
  if (step.startsWith("results close")) return "telemetry";
  return "copier";
}

/** A span of the trace: [start, end] in milliseconds, and its category. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly category: Category;
}

/**
 * The spans of a trace: each `X start` paired with the next `X end` of the same X (first in, first
 * out, for steps that run side by side under one name). A start without its end lasts to the last
 * line (a run that failed half-way).
 */
export function spansOf(lines: readonly TraceLine[]): Span[] {
  const open = new Map<string, number[]>();
  const spans: Span[] = [];
  for (const { ms, step } of lines) {
    const match = /^(.*) (start|end)(?: .*)?$/.exec(step);
    if (!match) continue;
    const [, name, edge] = match;
    if (edge === "start") open.set(name, [...(open.get(name) ?? []), ms]);
    else {
      const starts = open.get(name) ?? [];
      const start = starts.shift();
      if (start !== undefined) spans.push({ start, end: ms, category: categoryOf(name) });
    }
  }
  const last = lines.length > 0 ? lines[lines.length - 1].ms : 0;
  for (const [name, starts] of open)
    for (const start of starts) spans.push({ start, end: last, category: categoryOf(name) });
  return spans;
}

/** Where one run's wall time went. */
export interface Profile {
  /** The run's wall time as measured from outside (spawning bwrap to the exit), seconds. */
  readonly total: number;
  /** Seconds per category; they add up to `total`, each moment counted once. */
  readonly seconds: Record<Category, number>;
  /** Spans per category (AWS calls made, registry requests, skopeo copies, lock waits). */
  readonly count: Record<Category, number>;
}

const zeros = (): Record<Category, number> =>
  Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>;

/**
 * Splits a run of `total` seconds by its trace (`stderr`): up to the first line is start-up, after
 * the last is "bwrap and exit", and every moment between goes to the first category in CATEGORIES with a span
 * open then, or to "copier" when none is.
 */
export function profileOf(stderr: string, total: number): Profile {
  const lines = parseTrace(stderr);
  const seconds = zeros();
  const count = zeros();
  if (lines.length === 0) {
    seconds["bwrap and exit"] = total;
    return { total, seconds, count };
  }
  const first = lines[0].ms;
  const last = lines[lines.length - 1].ms;
  const spans = spansOf(lines);
  for (const span of spans) count[span.category] += 1;
  const edges = [...new Set([first, last, ...spans.flatMap((span) => [span.start, span.end])])]
    .filter((ms) => ms >= first && ms <= last)
    .sort((a, b) => a - b);
  const rank = (category: Category) => CATEGORIES.indexOf(category);
  for (let i = 0; i + 1 < edges.length; i++) {
    const [from, to] = [edges[i], edges[i + 1]];
    const open = spans.filter((span) => span.start <= from && span.end >= to && span.end > span.start);
    const category = open.reduce<Category>(
      (best, span) => (rank(span.category) < rank(best) ? span.category : best),
      "copier",
    );
    seconds[category] += (to - from) / 1000;
  }
  seconds["start-up"] = first / 1000;
  seconds["bwrap and exit"] = Math.max(0, total - last / 1000);
  return { total, seconds, count };
}

/** The median of each category's seconds and counts over `profiles`. */
export function medianProfile(profiles: readonly Profile[]): Profile {
  const each = (pick: (profile: Profile) => Record<Category, number>) =>
    Object.fromEntries(
      CATEGORIES.map((category) => [category, median(profiles.map((profile) => pick(profile)[category]))]),
    ) as Record<Category, number>;
  return {
    total: median(profiles.map((profile) => profile.total)),
    seconds: each((profile) => profile.seconds),
    count: each((profile) => profile.count),
  };
}

/** `profile` divided by `n` (per tag of a reconcile). */
export function perItem(profile: Profile, n: number): Profile {
  const divide = (values: Record<Category, number>) =>
    Object.fromEntries(CATEGORIES.map((category) => [category, values[category] / n])) as Record<
      Category,
      number
    >;
  return { total: profile.total / n, seconds: divide(profile.seconds), count: divide(profile.count) };
}

const countText = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

/**
 * "start-up 0.12 s, AWS calls 0.18 s (4), …": the categories that took 5 ms or more, with how many
 * spans of each when there are spans.
 */
export function splitText(profile: Profile): string {
  return CATEGORIES.filter((category) => profile.seconds[category] >= 0.005)
    .map((category) => {
      const spans = profile.count[category] > 0 ? ` (${countText(profile.count[category])})` : "";
      return `${category} ${profile.seconds[category].toFixed(2)} s${spans}`;
    })
    .join(", ");
}

/** `profile` for the JSON line, rounded. */
export const roundedProfile = (profile: Profile) => ({
  total_s: round(profile.total),
  seconds: Object.fromEntries(CATEGORIES.map((category) => [category, round(profile.seconds[category])])),
  count: Object.fromEntries(CATEGORIES.map((category) => [category, round(profile.count[category], 2)])),
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

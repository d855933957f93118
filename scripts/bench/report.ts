/**
 * The bench's report on stdout: a header naming the runs per stage, the table of every stage's
 * rows in order, a line of why under it for each time target missed (the CPU the run used and the
 * floor it gives: cpu.ts), then as the very last line one JSON object with every figure and the
 * machine it ran on.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import { Measured } from "./measure";
import { Runs } from "./plan";
import { formatTable, jsonLine, round, targetsOf } from "./stats";

const execFileAsync = promisify(execFile);

/** A tool's version line, or "unknown (why)": the report never fails for want of it. */
async function toolVersion(tool: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(tool, args);
    return (stdout.trim() || stderr.trim()).split("\n")[0];
  } catch (error) {
    return `unknown (${(error as Error).message.split("\n")[0]})`;
  }
}

/**
 * What the figures depend on: CPU, memory, disk, tool versions (the copier's, `copierTools`, are the
 * worker root's: in-root.ts), and the load when the bench started and ended.
 */
export async function machine(
  loadAtStart: number,
  copierTools: Readonly<Record<string, string>>,
): Promise<Record<string, string | number>> {
  const cpus = os.cpus();
  const disk = await toolVersion("sh", ["-c", `df -hT "${os.tmpdir()}" | tail -n 1`]);
  return {
    nproc: os.availableParallelism(),
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: round(os.totalmem() / 1024 ** 3, 1),
    kernel: `${os.type()} ${os.release()}`,
    tmp_disk: disk.replace(/\s+/g, " "),
    node: process.version,
    ...copierTools,
    docker_registry: await toolVersion("docker-registry", ["--version"]),
    load_avg_1m_at_start: round(loadAtStart, 2),
    load_avg_1m_at_end: round(os.loadavg()[0], 2),
  };
}

/** The lines above the table: what was run, and what the AWS calls column means. */
export function reportHeader(quick: boolean, runs: Runs): string {
  const runsNote = Object.entries(runs)
    .map(([stage, count]) => `${stage} ${count}`)
    .join(", ");
  return [
    `ecr-sync copier benchmark${quick ? " (--quick smoke test: not comparable figures)" : ""}: medians of runs per stage (${runsNote})`,
    "Every copier run: its bundle with the worker root's node, skopeo and flock, as the worker runs it, publishing its figures and result events to CloudWatch (moto); no credential is kept between runs.",
    "AWS calls: counted at moto's door by the recording proxy (the most of any run; a burst: all its copies together).",
  ].join("\n");
}

/** What a run's report shows: its table, the why of each missed time target, and every figure for the JSON line. */
export interface Report {
  readonly table: string;
  /** The table without its Target column, for docs/benchmarks.md (which lists the targets above it). */
  readonly recordedTable: string;
  readonly why: readonly string[];
  readonly figures: Readonly<Record<string, unknown>>;
}

/** The heading of the why lines under the table. */
export const WHY_HEADING = "Time targets missed, against the CPU the run used (the floor: CPU s / cores):";

/**
 * The report of `stages`: the table, the why lines (those of the missed time targets), and the
 * figures: the stages' in order, then every judged target with its verdict, the names of those
 * missed, then `about` (runs, total time, machine). Throws, naming them, when a required figure
 * is missing.
 */
export function reportOf(stages: readonly Measured[], about: Readonly<Record<string, unknown>>): Report {
  const rows = stages.flatMap((stage) => stage.rows);
  const targets = targetsOf(rows);
  const missed = Object.entries(targets)
    .filter(([, target]) => !target.met)
    .map(([name]) => name);
  const figures = Object.assign({}, ...stages.map((stage) => stage.figures), {
    targets,
    targets_missed: missed,
    ...about,
  }) as Record<string, unknown>;
  jsonLine(figures);
  return {
    table: formatTable(rows),
    recordedTable: formatTable(rows, false),
    why: rows.flatMap((row) => (row.met === false && row.why ? [`- ${row.why}`] : [])),
    figures,
  };
}

/** The table (or `table`), and under it the why lines with their heading when a time target was missed. */
export function tableWithWhy(report: Report, table = report.table): string {
  return report.why.length > 0 ? `${table}\n\n${WHY_HEADING}\n\n${report.why.join("\n")}` : table;
}

/** The whole report as printed: header, table and why lines, JSON line. */
export function formatReport(quick: boolean, runs: Runs, report: Report): string {
  return `\n${reportHeader(quick, runs)}\n\n${tableWithWhy(report)}\n\n${jsonLine(report.figures)}\n`;
}

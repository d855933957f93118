/**
 * The bench's report on stdout: a header naming the runs per stage, the table of every stage's
 * rows in order, then as the very last line one JSON object with every figure and the machine
 * it ran on.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import { Measured } from "./measure";
import { Runs } from "./plan";
import { formatTable, jsonLine, round } from "./stats";

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

/** What the figures depend on: CPU, memory, disk, tool versions, and the load when the bench started. */
export async function machine(loadAtStart: number): Promise<Record<string, string | number>> {
  const cpus = os.cpus();
  const disk = await toolVersion("sh", ["-c", `df -hT "${os.tmpdir()}" | tail -n 1`]);
  return {
    nproc: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: round(os.totalmem() / 1024 ** 3, 1),
    kernel: `${os.type()} ${os.release()}`,
    tmp_disk: disk.replace(/\s+/g, " "),
    node: process.version,
    skopeo: await toolVersion("skopeo", ["--version"]),
    docker_registry: await toolVersion("docker-registry", ["--version"]),
    aws_cli: await toolVersion("aws", ["--version"]),
    load_avg_1m_at_start: round(loadAtStart, 2),
  };
}

/** The line above the table. */
export function reportHeader(quick: boolean, runs: Runs): string {
  const runsNote = Object.entries(runs)
    .map(([stage, count]) => `${stage} ${count}`)
    .join(", ");
  return `ecr-sync.sh benchmark${quick ? " (--quick smoke test: not comparable figures)" : ""}: medians of runs per stage (${runsNote})`;
}

/**
 * The whole report: header, table, JSON line (the stages' figures in order, then `about`: runs,
 * total time, machine). Throws, naming them, when a required figure is missing.
 */
export function formatReport(
  quick: boolean,
  runs: Runs,
  stages: readonly Measured[],
  about: Readonly<Record<string, unknown>>,
): string {
  const figures = Object.assign({}, ...stages.map((stage) => stage.figures), about) as Record<
    string,
    unknown
  >;
  const rows = stages.flatMap((stage) => stage.rows);
  return `\n${reportHeader(quick, runs)}\n\n${formatTable(rows)}\n\n${jsonLine(figures)}\n`;
}

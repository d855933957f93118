/**
 * `npm run bench -- --record`: writes the run into docs/benchmarks.md, between two marker comments,
 * in place of the run recorded before: when (UTC), which commit (and whether the tree held
 * uncommitted changes), the machine, the table (without the targets, which the page lists above
 * it) and the why lines. The rest of the page is written by
 * hand. A --quick run is recorded only under a heading that says it is a smoke test: the label comes
 * from the run's own figures (`quick`), and a run whose figures do not say is refused. The page's
 * text is pure (latestRunSection, withLatestRun: unit tested in test/unit/bench-record.test.ts).
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Report, tableWithWhy } from "./report";

const execFileAsync = promisify(execFile);

export const PAGE = join(__dirname, "..", "..", "docs", "benchmarks.md");
export const START_MARKER = "<!-- latest run: written by `npm run bench -- --record`, not by hand -->";
export const END_MARKER = "<!-- end of the latest run -->";
export const SMOKE_TEST_HEADING =
  "## Latest run: a `--quick` smoke test (tiny sizes, one or two runs), not figures to keep";

/** The commit the run measured: `git rev-parse --short HEAD`, and whether the tree differed from it. */
export interface Commit {
  readonly short: string;
  readonly dirty: boolean;
}

/** "2026-12-07 06:41 UTC". */
export function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One line on what the figures depend on, from the report's `machine`. */
export function machineLine(machine: Readonly<Record<string, unknown>>): string {
  return [
    `${String(machine.nproc)} cores (${String(machine.cpu_model)}), ${String(machine.memory_gib)} GiB`,
    `load ${String(machine.load_avg_1m_at_start)} at the start, ${String(machine.load_avg_1m_at_end)} at the end`,
    `worker root ${String(machine.worker_root)}: node ${String(machine.worker_node)}, ${String(machine.skopeo)}`,
  ].join("; ");
}

/** The recorded section, markers included. Refuses a report whose figures do not say whether the run was --quick. */
export function latestRunSection(report: Report, date: Date, commit: Commit): string {
  const { quick, machine } = report.figures;
  if (typeof quick !== "boolean")
    throw new Error("refusing to record a run whose figures do not say whether it was --quick");
  if (typeof machine !== "object" || machine === null)
    throw new Error("refusing to record a run whose figures do not name the machine");
  const heading = quick ? SMOKE_TEST_HEADING : "## Latest run";
  const when = `${utcMinute(date)}, commit ${commit.short}${commit.dirty ? " + uncommitted changes" : ""}`;
  return [
    START_MARKER,
    "",
    heading,
    "",
    `${when}; ${machineLine(machine as Record<string, unknown>)}.`,
    "",
    tableWithWhy(report, report.recordedTable),
    "",
    END_MARKER,
  ].join("\n");
}

/** `page` with `section` in place of what stands between the markers (markers included). */
export function withLatestRun(page: string, section: string): string {
  const start = page.indexOf(START_MARKER);
  const end = page.indexOf(END_MARKER);
  if (
    start < 0 ||
    end < start ||
    page.indexOf(START_MARKER, start + 1) >= 0 ||
    page.indexOf(END_MARKER, end + 1) >= 0
  )
    throw new Error(
      `docs/benchmarks.md must hold the markers '${START_MARKER}' and then '${END_MARKER}', once each: put them back around the latest run`,
    );
  return page.slice(0, start) + section + page.slice(end + END_MARKER.length);
}

/** The commit of the checkout, and whether `git status` shows any change (untracked files too). */
export async function currentCommit(): Promise<Commit> {
  const cwd = join(__dirname, "..", "..");
  const head = await execFileAsync("git", ["rev-parse", "--short", "HEAD"], { cwd });
  const status = await execFileAsync("git", ["status", "--porcelain"], { cwd });
  return { short: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
}

/**
 * Rewrites the latest run of docs/benchmarks.md with `report`, measured from `date` on the checkout
 * at `commit` (both read when the run started: commits landing during a run are not what it measured).
 */
export async function recordLatestRun(report: Report, date: Date, commit: Commit): Promise<void> {
  const section = latestRunSection(report, date, commit);
  await writeFile(PAGE, withLatestRun(await readFile(PAGE, "utf8"), section));
}

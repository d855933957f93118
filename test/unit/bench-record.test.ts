/**
 * `npm run bench -- --record` (scripts/bench/record.ts): the latest run written into
 * docs/benchmarks.md between its markers, with its date, commit and machine, and a --quick run
 * never recorded as figures to keep.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { format } from "prettier";
import {
  END_MARKER,
  latestRunSection,
  machineLine,
  PAGE,
  SMOKE_TEST_HEADING,
  START_MARKER,
  utcMinute,
  withLatestRun,
} from "../../scripts/bench/record";
import { Report } from "../../scripts/bench/report";

const machine = {
  nproc: 2,
  cpu_model: "AMD EPYC 7B13",
  memory_gib: 23.5,
  worker_root: "Debian 13.2",
  worker_node: "v20.19.2",
  skopeo: "skopeo version 1.18.0",
  load_avg_1m_at_start: 1.2,
  load_avg_1m_at_end: 3.4,
};
const TABLE = ["| Figure | Measured |", "| ------ | -------- |", "| burst  | 8.90 s   |"].join("\n");
const run = (figures: Record<string, unknown>, why: string[] = []): Report => ({
  table: "the table with its Target column",
  recordedTable: TABLE,
  why,
  figures: { machine, ...figures },
});
const date = new Date("2026-12-07T06:41:59.123Z");
const page = (section: string) => `# Benchmarks\n\nHow to run.\n\n${section}\n\n## After\n\nKept.\n`;

describe("bench --record (scripts/bench/record.ts)", () => {
  it("writes the UTC date, the commit, the machine, the table without its targets and the why lines between the markers", () => {
    const section = latestRunSection(run({ quick: false }, ["- burst of 20: floor"]), date, {
      short: "abc1234",
      dirty: false,
    });
    expect(section.split("\n")).to.deep.equal([
      START_MARKER,
      "",
      "## Latest run",
      "",
      "2026-12-07 06:41 UTC, commit abc1234; 2 cores (AMD EPYC 7B13), 23.5 GiB; load 1.2 at the start, 3.4 at the end; worker root Debian 13.2: node v20.19.2, skopeo version 1.18.0.",
      "",
      ...TABLE.split("\n"),
      "",
      "Time targets missed, against the CPU the run used (the floor: CPU s / cores):",
      "",
      "- burst of 20: floor",
      "",
      END_MARKER,
    ]);
    expect(utcMinute(new Date("2026-01-02T03:04:05Z"))).to.equal("2026-01-02 03:04 UTC");
    expect(machineLine(machine)).to.match(/^2 cores \(AMD EPYC 7B13\)/);
  });

  it("says when the tree held uncommitted changes", () => {
    const section = latestRunSection(run({ quick: false }), date, { short: "abc1234", dirty: true });
    expect(section).to.include("2026-12-07 06:41 UTC, commit abc1234 + uncommitted changes;");
  });

  it("records a --quick run only under a heading that says it is a smoke test, and refuses a run that does not say which it was", () => {
    const quick = latestRunSection(run({ quick: true }), date, { short: "abc1234", dirty: false });
    expect(quick.split("\n")[2]).to.equal(SMOKE_TEST_HEADING);
    expect(SMOKE_TEST_HEADING).to.match(/smoke test.*not figures to keep/);
    expect(quick).not.to.include("## Latest run\n");
    expect(() => latestRunSection(run({}), date, { short: "abc1234", dirty: false })).to.throw(
      "refusing to record a run whose figures do not say whether it was --quick",
    );
  });

  it("replaces only what stands between the markers, and keeps the rest of the page", () => {
    const before = page(`${START_MARKER}\n\n## Latest run\n\nold figures\n\n${END_MARKER}`);
    const after = withLatestRun(before, `${START_MARKER}\nnew\n${END_MARKER}`);
    expect(after).to.equal(page(`${START_MARKER}\nnew\n${END_MARKER}`));
    expect(withLatestRun(after, `${START_MARKER}\nnewer\n${END_MARKER}`)).to.equal(
      page(`${START_MARKER}\nnewer\n${END_MARKER}`),
    );
  });

  it("refuses a page without both markers in order, once each, naming them", () => {
    for (const broken of [
      page("no markers"),
      page(`${END_MARKER}\n${START_MARKER}`),
      page(`${START_MARKER}\n${START_MARKER}\n${END_MARKER}`),
      page(`${START_MARKER}\n${END_MARKER}\n${END_MARKER}`),
    ])
      expect(() => withLatestRun(broken, "x")).to.throw(`must hold the markers '${START_MARKER}'`);
  });

  it("finds its markers in docs/benchmarks.md, a page of at most about 4 KB that prettier leaves as it is", async () => {
    const text = readFileSync(PAGE, "utf8");
    expect(withLatestRun(text, `${START_MARKER}\n${END_MARKER}`)).to.be.a("string");
    expect(Buffer.byteLength(text)).to.be.at.most(4500);
    expect(await format(text, { parser: "markdown", printWidth: 110 })).to.equal(text);
  });
});

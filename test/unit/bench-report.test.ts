/**
 * The bench's report (scripts/bench/report.ts) over the rows and figures each stage builds
 * (scripts/bench/*.ts, their *Report functions), fed made-up medians: one row per figure with a
 * target, with its AWS calls and verdict; under the table, a line of why for each time target
 * missed; the JSON line last.
 */
import { expect } from "chai";
import { format } from "prettier";
import { backfillReport } from "../../scripts/bench/backfill";
import { burstReport } from "../../scripts/bench/burst";
import { CpuUse } from "../../scripts/bench/cpu";
import { fullCopyReport } from "../../scripts/bench/full-copy";
import { incrementalReport } from "../../scripts/bench/incremental";
import { Measured } from "../../scripts/bench/measure";
import { multiArchReport } from "../../scripts/bench/multiarch";
import { FULL_PLAN } from "../../scripts/bench/plan";
import { reconcileReport } from "../../scripts/bench/reconcile";
import { formatReport, reportHeader, reportOf, tableWithWhy, WHY_HEADING } from "../../scripts/bench/report";
import { REQUIRED_FIGURES } from "../../scripts/bench/stats";
import { unchangedReport } from "../../scripts/bench/unchanged";

const cpu = (copier: number, registries: number, moto: number): CpuUse => ({
  copier,
  registries,
  moto,
  others: 0.1,
});

/**
 * A run on 2 cores in which the ratio, the unchanged copy (over node -e 0 + 0.25 s), the
 * reconcile of 200 tags (above its floor) and the backfill (below its floor) miss.
 */
function stages(): Measured[] {
  return [
    fullCopyReport(FULL_PLAN, 209715200, { copier: [1.9, 1.8, 2.0], baseline: [1.4], aws: [4, 4, 5] }),
    unchangedReport(
      [
        { seconds: 0.38, aws: 4, layerBytes: 0, nodeStart: 0.1, cpu: cpu(0.3, 0.04, 0.02) },
        { seconds: 0.36, aws: 4, layerBytes: 0, nodeStart: 0.12, cpu: cpu(0.34, 0.06, 0.02) },
      ],
      2,
    ),
    incrementalReport([{ seconds: 1.0, aws: 4, moved: 42000, changedLayerBytes: 41950 }]),
    multiArchReport(31457280, [{ seconds: 1.0, aws: 4, preserved: true }]),
    reconcileReport(200, [{ seconds: 1.6, aws: 4, cpu: cpu(0.9, 0.8, 0.02) }], 2),
    backfillReport(50, [{ seconds: 6.5, aws: 4, cpu: cpu(7.1, 5.1, 0.8) }], 2),
    burstReport(FULL_PLAN, [{ seconds: 4.0, arrived: 20, aws: 80, cpu: cpu(6, 1.5, 0.5) }], 2),
  ];
}

const about = { runs: FULL_PLAN.runs, quick: false, bench_total_s: 300, machine: { nproc: 2 } };
const report = () => reportOf(stages(), about);
const printed = () => formatReport(false, FULL_PLAN.runs, report());

/** The table's rows as [figure, measured, AWS calls, target, verdict], without the padding. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| "))
    .slice(2)
    .map((line) =>
      line
        .slice(2, -2)
        .split(/ \| /)
        .map((cell) => cell.trimEnd()),
    );
}

const lastLine = (text: string) =>
  JSON.parse(text.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;

describe("bench report (scripts/bench/report.ts and each stage's rows)", () => {
  it("reports one row per figure with a target, in the stages' order, the copier's with their AWS calls", () => {
    const rows = tableRows(printed());
    expect(rows.map(([figure, , aws]) => `${figure}${aws ? ` [${aws}]` : ""}`)).to.deep.equal([
      "full copy, 5 x 40.0 MiB / plain-HTTP baseline [5]",
      "unchanged copy [4]",
      "incremental copy: bytes moved / the new layer [4]",
      "multi-arch copy: 3 platforms, 30.0 MiB [4]",
      "reconcile, 200 tags in sync [4]",
      "backfill: reconcile of 50 missing small tags [4]",
      "burst: 20 copies at once (1.0 MiB each; AWS calls: all) [80]",
    ]);
    expect(printed()).not.to.match(/ecr-sync\.sh|warm|cold|traced|skopeo alone|growth/);
  });

  it("prints each target next to its figure with the verdict: met with the margin, or missed by how much", () => {
    const judged = tableRows(printed()).map(([figure, measured, , target, verdict]) => [
      figure.split(/[,:]/)[0],
      measured,
      target,
      verdict,
    ]);
    expect(judged).to.deep.equal([
      [
        "full copy",
        "1.36x: 1.90 s (105 MiB/s) vs 1.40 s",
        "≤ 1.15x the baseline",
        "MISSED: ratio 0.21x over",
      ],
      [
        "unchanged copy",
        "0.37 s (node -e 0 0.11 s + 0.26 s), 0 layer bytes",
        "≤ 0.4 s and ≤ node -e 0 + 0.25 s (0.36 s), 0 layer bytes",
        "MISSED: time above node -e 0 0.01 s over (1.04x)",
      ],
      [
        "incremental copy",
        "1.0012x (42000 / 41950 B), 1.00 s",
        "≤ 1.05x the changed layer",
        "met, 0.05x to spare",
      ],
      ["multi-arch copy", "1.00 s, index digest preserved", "same digest", "met"],
      ["reconcile", "1.60 s", "≤ 1.5 s", "MISSED: time 0.10 s over (1.07x)"],
      ["backfill", "6.50 s (0.130 s per tag)", "≤ 4 s", "MISSED: time 2.50 s over (1.63x)"],
      ["burst", "4.00 s, 20/20 arrived (worst run)", "≤ 6 s, all 20 arrive", "met, 2.00 s to spare"],
    ]);
  });

  it("says under the table why each missed time target missed: the CPU used, the floor on the cores, the target against it", () => {
    const text = printed();
    const table = text.indexOf("| burst");
    const why = text.slice(text.indexOf(WHY_HEADING), text.lastIndexOf("\n{")).trim().split("\n");
    expect(text.indexOf(WHY_HEADING)).to.be.greaterThan(table);
    expect(why).to.deep.equal([
      WHY_HEADING,
      "",
      "- unchanged copy: 0.39 CPU s (copier 0.32, registries 0.05, moto 0.02) / 2 cores = floor 0.20 s, target 0.36 s above it by 0.16 s; other processes 0.10 CPU s",
      "- reconcile of 200: 1.72 CPU s (copier 0.90, registries 0.80, moto 0.02) / 2 cores = floor 0.86 s, target 1.5 s above it by 0.64 s; other processes 0.10 CPU s",
      "- backfill of 50: 13.00 CPU s (copier 7.10, registries 5.10, moto 0.80) / 2 cores = floor 6.50 s, target 4 s below it; other processes 0.10 CPU s",
    ]);
  });

  it("prints no why lines when every time target is met, and none for a missed target that is not a time", () => {
    const met = reportOf(
      [
        fullCopyReport(FULL_PLAN, 209715200, { copier: [1.9], baseline: [1.4], aws: [4] }),
        unchangedReport(
          [{ seconds: 0.3, aws: 4, layerBytes: 0, nodeStart: 0.1, cpu: cpu(0.3, 0.04, 0.02) }],
          2,
        ),
        ...stages().slice(2, 4),
        reconcileReport(200, [{ seconds: 1.2, aws: 4, cpu: cpu(0.9, 0.8, 0.02) }], 2),
        backfillReport(50, [{ seconds: 3.5, aws: 4, cpu: cpu(7.1, 5.1, 0.8) }], 2),
        stages()[6],
      ],
      about,
    );
    expect(met.figures.targets_missed).to.deep.equal(["full_copy_ratio"]);
    expect(met.why).to.deep.equal([]);
    expect(tableWithWhy(met)).to.equal(met.table);
  });

  it("judges the unchanged copy against node -e 0 of the same rounds (medians of each)", () => {
    expect(lastLine(printed())).to.deep.include({
      unchanged_copy_s: 0.37,
      node_start_s: 0.11,
      unchanged_copy_above_node_s: 0.26,
      unchanged_copy_aws: 4,
      unchanged_copy_floor_s: 0.195,
    });
  });

  it("does not judge a reconcile of fewer tags than the target's 200 (--quick)", () => {
    const quick = reconcileReport(10, [{ seconds: 0.3, aws: 4, cpu: cpu(0.2, 0.1, 0) }], 2);
    expect(quick.rows).to.deep.equal([{ figure: "reconcile, 10 tags in sync", measured: "0.30 s", aws: 4 }]);
  });

  it("ends with one JSON line: every required figure, every target with its verdict, the missed ones named, then the run", () => {
    const text = printed();
    expect(text.endsWith("}\n")).to.equal(true);
    const figures = lastLine(text);
    expect(Object.keys(figures)).to.include.members([...REQUIRED_FIGURES]);
    expect(Object.keys(figures).slice(-6)).to.deep.equal([
      "targets",
      "targets_missed",
      "runs",
      "quick",
      "bench_total_s",
      "machine",
    ]);
    expect(figures).to.deep.include({
      full_copy_s: 1.9,
      baseline_s: 1.4,
      full_copy_ratio: 1.36,
      full_copy_aws: 5,
      burst_aws: 80,
      backfill_floor_s: 6.5,
      targets_missed: ["full_copy_ratio", "unchanged_copy", "reconcile_in_sync", "backfill"],
    });
    expect(figures.backfill_cpu_s).to.deep.equal({ copier: 7.1, registries: 5.1, moto: 0.8, others: 0.1 });
    expect((figures.targets as Record<string, unknown>).burst).to.deep.equal({
      target: "≤ 6 s, all 20 arrive",
      met: true,
      verdict: "met, 2.00 s to spare",
    });
  });

  it("prints the tables and the why lines as prettier writes Markdown, so that they go into docs/benchmarks.md unchanged", async () => {
    for (const table of [report().table, report().recordedTable]) {
      const section = `${tableWithWhy(report(), table)}\n`;
      expect(await format(section, { parser: "markdown", printWidth: 110 })).to.equal(section);
    }
  });

  it("keeps for docs/benchmarks.md the same table without its Target column", () => {
    const { table, recordedTable } = report();
    const withoutTarget = (line: string) => line.split(" | ").filter((_, column) => column !== 3);
    expect(recordedTable.split("\n")[0]).to.match(/^\| Figure +\| Measured +\| AWS calls \| Verdict +\|$/);
    expect(tableRows(recordedTable).map((row) => row.join(" | "))).to.deep.equal(
      tableRows(table).map((row) => withoutTarget(row.join(" | ")).join(" | ")),
    );
  });

  it("marks a --quick run as not comparable and says what the runs are and where AWS calls are counted", () => {
    const header = reportHeader(true, FULL_PLAN.runs).split("\n");
    expect(header[0]).to.match(
      /^ecr-sync copier benchmark \(--quick smoke test: not comparable figures\): medians of runs per stage \(full 5,/,
    );
    expect(header[1]).to.match(/worker root's node, skopeo and flock/);
    expect(header[2]).to.match(/^AWS calls: counted at moto's door/);
  });

  it("flags as incorrect only a changed multi-arch digest or a burst copy that did not arrive", () => {
    expect(stages().map((stage) => stage.correct)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      true,
      undefined,
      undefined,
      true,
    ]);
    const changed = multiArchReport(31457280, [
      { seconds: 2, aws: 4, preserved: true },
      { seconds: 2, aws: 4, preserved: false },
    ]);
    expect(changed.correct).to.equal(false);
    expect(changed.rows[0]).to.deep.include({ measured: "2.00 s, index digest CHANGED", met: false });
    const lost = burstReport(
      FULL_PLAN,
      [
        { seconds: 7, arrived: 20, aws: 80, cpu: cpu(6, 1, 0.5) },
        { seconds: 8, arrived: 19, aws: 80, cpu: cpu(6, 1, 0.5) },
      ],
      2,
    );
    expect(lost.correct).to.equal(false);
    expect(lost.rows[0]).to.deep.include({
      measured: "7.50 s, 19/20 arrived (worst run)",
      met: false,
      verdict: "MISSED: time 1.50 s over (1.25x); arrived 1 short",
    });
  });
});

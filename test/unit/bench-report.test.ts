/**
 * The bench's report (scripts/bench/report.ts) over the rows and figures each stage builds
 * (scripts/bench/*.ts, their *Report functions), fed made-up medians: every copier figure with its
 * AWS calls, each target judged where it applies, the JSON line last.
 */
import { expect } from "chai";
import { format } from "prettier";
import { backfillReport } from "../../scripts/bench/backfill";
import { BreakdownRound, breakdownReport } from "../../scripts/bench/breakdown";
import { burstReport } from "../../scripts/bench/burst";
import { fullCopyReport } from "../../scripts/bench/full-copy";
import { incrementalReport } from "../../scripts/bench/incremental";
import { Measured } from "../../scripts/bench/measure";
import { multiArchReport } from "../../scripts/bench/multiarch";
import { FULL_PLAN } from "../../scripts/bench/plan";
import { Profile } from "../../scripts/bench/profile";
import { reconcileReport } from "../../scripts/bench/reconcile";
import { formatReport, reportHeader } from "../../scripts/bench/report";
import { REQUIRED_FIGURES } from "../../scripts/bench/stats";
import { unchangedReport } from "../../scripts/bench/unchanged";

/** A traced run of `total` s: 0.12 s of start-up, `skopeo` s of skopeo, the rest split as the copier would. */
const profile = (total: number, skopeo: number): Profile => ({
  total,
  seconds: {
    "start-up": 0.12,
    skopeo,
    registry: 0.03,
    "AWS calls": 0.18,
    lock: 0.02,
    telemetry: 0,
    copier: 0.01,
    "bwrap and exit": total - skopeo - 0.36,
  },
  count: {
    "start-up": 0,
    skopeo: skopeo > 0 ? 1 : 0,
    registry: 4,
    "AWS calls": 4,
    lock: 1,
    telemetry: 0,
    copier: 0,
    "bwrap and exit": 0,
  },
});

const cpu = { client: 0.6, sourceRegistry: 0.15, targetRegistry: 0.8, machineBusy: 0.97 };
const round: BreakdownRound = {
  baseline: { seconds: 1.3, cpu: { ...cpu, client: 0.5 } },
  skopeo: { seconds: 1.6, cpu },
  copy: { profile: profile(1.8, 1.4), aws: 4, cpu: { ...cpu, client: 0.75 } },
  unchanged: { profile: profile(0.5, 0), aws: 4 },
};

/** A one-at-a-time backfill of 50 tags: 0.2 s, 0.3 CPU-s of the copier and 0.1 of the registries per tag. */
const serial = {
  profile: {
    total: 10,
    seconds: {
      "start-up": 0.12,
      skopeo: 5,
      registry: 1.5,
      "AWS calls": 0.2,
      lock: 1,
      telemetry: 0,
      copier: 1.18,
      "bwrap and exit": 1,
    },
    count: {
      "start-up": 0,
      skopeo: 50,
      registry: 200,
      "AWS calls": 4,
      lock: 50,
      telemetry: 0,
      copier: 0,
      "bwrap and exit": 0,
    },
  },
  copierCpu: 15,
  registriesCpu: 5,
  aws: 4,
};

const scale = (tags: number, seconds: number) => ({ scale: tags, runs: [{ seconds, aws: 4 }] });

/** A run in which the ratio, the unchanged copy's margin over node -e 0 and the reconcile of 200 tags miss. */
function stages(): Measured[] {
  const breakdown = breakdownReport(
    [round],
    { inRoot: 0.0121, here: 0.0043 },
    { baseline: 1.4, skopeoAlone: 1.7, copier: 1.9 },
  );
  return [
    fullCopyReport(FULL_PLAN, 209715200, {
      copier: [1.9, 1.8, 2.0],
      baseline: [1.4],
      skopeo: [1.7],
      aws: [4, 4, 5],
    }),
    breakdown.fullCopy,
    unchangedReport([
      { seconds: 0.38, aws: 4, layerBytes: 0, nodeStart: 0.1 },
      { seconds: 0.36, aws: 4, layerBytes: 0, nodeStart: 0.12 },
    ]),
    breakdown.unchanged,
    incrementalReport([{ seconds: 1.0, aws: 4, moved: 42000, changedLayerBytes: 41950 }]),
    multiArchReport(31457280, [{ seconds: 1.0, aws: 4, preserved: true }]),
    reconcileReport([scale(10, 0.4), scale(50, 0.6), scale(200, 1.6)], profile(1.6, 0), 4),
    backfillReport(50, [{ seconds: 2.5, aws: 4 }], serial),
    burstReport(FULL_PLAN, [{ seconds: 4.0, arrived: 20, aws: 80 }]),
  ];
}

const about = { runs: FULL_PLAN.runs, quick: false, bench_total_s: 300, machine: { nproc: 2 } };

/** The table's rows as [figure, measured, AWS calls, target, verdict], without the padding. */
function tableRows(report: string): string[][] {
  return report
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

const lastLine = (report: string) =>
  JSON.parse(report.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;

describe("bench report (scripts/bench/report.ts and each stage's rows)", () => {
  it("reports every figure in the stages' order, the copier's with their AWS calls, the breakdown's under the figures they explain", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    expect(rows.map(([figure, , aws]) => `${figure}${aws ? ` [${aws}]` : ""}`)).to.deep.equal([
      "full copy, 5 x 40.0 MiB (the copier) [5]",
      "baseline: plain HTTP GET->PUT, every blob once, all at once",
      "full copy / baseline [5]",
      "↳ skopeo copy alone (no copier) / baseline",
      "↳ above 1.0x: skopeo's own (skopeo alone / baseline)",
      "↳ above 1.0x: the copier's ((copy - skopeo alone) / baseline)",
      "↳ full copy, traced: where the time goes [4]",
      "↳ CPU s: client + source reg. + target reg. (machine busy)",
      "↳ CPU s more than the baseline",
      "unchanged copy [4]",
      "↳ node -e 0 in the worker root, same rounds (bwrap's start included)",
      "↳ unchanged copy, traced: where the time goes [4]",
      "↳ bwrap's start: in every copier time and in node -e 0",
      "incremental copy (1 new layer): bytes moved / changed layer [4]",
      "multi-arch copy: 3 platforms, 30.0 MiB [4]",
      "reconcile, 10 tags in sync [4]",
      "reconcile, 50 tags in sync [4]",
      "reconcile, 200 tags in sync [4]",
      "reconcile growth (fit over 10/50/200)",
      "↳ 200 tags in sync, traced: where the time goes [4]",
      "backfill: reconcile copying 50 missing small tags [4]",
      "↳ one tag at a time, traced: per tag [4]",
      "↳ CPU s per tag: copier + registries; 2 cores at best",
      "burst: 20 copies started at once (1.0 MiB each), AWS calls in all [80]",
    ]);
    const report = formatReport(false, FULL_PLAN.runs, stages(), about);
    expect(report).not.to.match(/ecr-sync\.sh|warm|cold|\baws processes\b/);
  });

  it("prints each target next to its figure with the verdict: met with the margin, or missed by how much", () => {
    const judged = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about))
      .filter((row) => row[3] !== "")
      .map(([figure, , , target, verdict]) => [figure, target, verdict]);
    expect(judged).to.deep.equal([
      ["full copy / baseline", "≤ 1.15x the baseline", "MISSED: ratio 1.36x, 0.21x over 1.15x"],
      [
        "unchanged copy",
        "≤ 0.4 s and ≤ node -e 0 + 0.25 s (0.36 s), 0 layer bytes",
        "MISSED: time above node -e 0 0.26 s, 0.01 s over 0.25 s (1.04x the limit)",
      ],
      [
        "incremental copy (1 new layer): bytes moved / changed layer",
        "≤ 1.05x the changed layer",
        "met, 0.05x to spare",
      ],
      ["multi-arch copy: 3 platforms, 30.0 MiB", "same digest", "met"],
      ["reconcile, 200 tags in sync", "≤ 1.5 s", "MISSED: time 1.60 s, 0.10 s over 1.50 s (1.07x the limit)"],
      ["backfill: reconcile copying 50 missing small tags", "≤ 4 s", "met, 1.50 s to spare"],
      [
        "burst: 20 copies started at once (1.0 MiB each), AWS calls in all",
        "≤ 6 s, all 20 arrive",
        "met, 2.00 s to spare",
      ],
    ]);
  });

  it("judges the unchanged copy against node -e 0 of the same rounds (medians of each)", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const measured = (figure: string) => rows.find((row) => row[0] === figure)?.[1];
    // Copies 0.38 and 0.36 s: median 0.37 s; node 0.10 and 0.12 s: median 0.11 s; 0.26 s above it.
    expect(measured("unchanged copy")).to.equal("0.37 s (node -e 0 + 0.26 s), 0 layer bytes");
    expect(measured("↳ node -e 0 in the worker root, same rounds (bwrap's start included)")).to.equal(
      "0.11 s",
    );
    expect(lastLine(formatReport(false, FULL_PLAN.runs, stages(), about))).to.deep.include({
      unchanged_copy_s: 0.37,
      node_start_s: 0.11,
      unchanged_copy_above_node_s: 0.26,
      unchanged_copy_aws: 4,
    });
  });

  it("splits a full copy above 1.0x into skopeo's own share and the copier's, and the copier's time by what it waited on", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const measured = (figure: string) => rows.find((row) => row[0] === figure)?.[1];
    // Stage 1's medians: baseline 1.4 s, skopeo alone 1.7 s, the copier 1.9 s (1.36x).
    expect(measured("↳ above 1.0x: skopeo's own (skopeo alone / baseline)")).to.equal(
      "+0.21x (1.70 s vs 1.40 s)",
    );
    expect(measured("↳ above 1.0x: the copier's ((copy - skopeo alone) / baseline)")).to.equal(
      "+0.14x (+0.20 s)",
    );
    expect(measured("↳ full copy, traced: where the time goes")).to.equal(
      "1.80 s: start-up 0.12 s, skopeo 1.40 s (1), registry 0.03 s (4), AWS calls 0.18 s (4), lock 0.02 s (1), copier 0.01 s, bwrap and exit 0.04 s",
    );
    expect(measured("↳ unchanged copy, traced: where the time goes")).to.equal(
      "0.50 s: start-up 0.12 s, registry 0.03 s (4), AWS calls 0.18 s (4), lock 0.02 s (1), copier 0.01 s, bwrap and exit 0.14 s",
    );
    expect(measured("↳ CPU s: client + source reg. + target reg. (machine busy)")).to.equal(
      "baseline 0.50 + 0.15 + 0.80 (97%); skopeo alone 0.60 + 0.15 + 0.80 (97%); copy 0.75 + 0.15 + 0.80 (97%)",
    );
    expect(measured("↳ CPU s more than the baseline")).to.equal(
      "skopeo alone: client +0.10, target registry +0.00; copy: client +0.25, target registry +0.00",
    );
    expect(measured("↳ bwrap's start: in every copier time and in node -e 0")).to.equal(
      "0.008 s (`true` started in the worker root 0.012 s, here 0.004 s)",
    );
  });

  it("says where the time of the largest in-sync reconcile goes, and of one backfilled tag, with the least time its CPU allows on 2 cores", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const measured = (figure: string) => rows.find((row) => row[0] === figure)?.[1];
    expect(measured("reconcile growth (fit over 10/50/200)")).to.equal("6.4 ms per tag + 0.31 s fixed");
    expect(measured("↳ 200 tags in sync, traced: where the time goes")).to.equal(
      "1.60 s: start-up 0.12 s, registry 0.03 s (4), AWS calls 0.18 s (4), lock 0.02 s (1), copier 0.01 s, bwrap and exit 1.24 s",
    );
    expect(measured("↳ one tag at a time, traced: per tag")).to.equal(
      "0.200 s: skopeo 0.10 s (1), registry 0.03 s (4), lock 0.02 s (1), copier 0.02 s, bwrap and exit 0.02 s",
    );
    expect(measured("↳ CPU s per tag: copier + registries; 2 cores at best")).to.equal(
      "0.300 + 0.100; 50 tags ≥ 10.00 s (parallel: 2.50 s, 4.0x one at a time)",
    );
  });

  it("ends with one JSON line: every required figure, every target with its verdict, the missed ones named, then the run", () => {
    const report = formatReport(false, FULL_PLAN.runs, stages(), about);
    expect(report.endsWith("}\n")).to.equal(true);
    const figures = lastLine(report);
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
      full_copy_ratio: 1.36,
      full_copy_aws: 5,
      burst_aws: 80,
      bwrap_start_s: 0.008,
      targets_missed: ["full_copy_ratio", "unchanged_copy", "reconcile_in_sync"],
    });
    expect(figures.reconcile_in_sync_s).to.deep.equal({ "10": 0.4, "50": 0.6, "200": 1.6 });
    expect((figures.targets as Record<string, unknown>).backfill).to.deep.equal({
      target: "≤ 4 s",
      met: true,
      verdict: "met, 1.50 s to spare",
    });
  });

  it("prints a table that prettier leaves as it is, so that it pastes into docs/benchmarks.md unchanged", async () => {
    const report = formatReport(false, FULL_PLAN.runs, stages(), about);
    const table = `${report
      .split("\n")
      .filter((line) => line.startsWith("| "))
      .join("\n")}\n`;
    expect(await format(table, { parser: "markdown", printWidth: 110 })).to.equal(table);
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
    const lost = burstReport(FULL_PLAN, [
      { seconds: 7, arrived: 20, aws: 80 },
      { seconds: 8, arrived: 19, aws: 80 },
    ]);
    expect(lost.correct).to.equal(false);
    expect(lost.rows[0]).to.deep.include({
      measured: "7.50 s, 19/20 arrived (worst run)",
      met: false,
      verdict: "MISSED: time 7.50 s, 1.50 s over 6.00 s (1.25x the limit); arrived 19, 1 short of 20",
    });
  });
});

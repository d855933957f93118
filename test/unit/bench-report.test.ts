/**
 * The bench's report (scripts/bench/report.ts) over the rows and figures each stage builds
 * (scripts/bench/*.ts, their *Report functions), fed made-up medians: every copier figure warm
 * and cold with its aws processes, each target judged where it applies, the JSON line last.
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

const profile = (total: number, skopeo: number): Profile => ({
  total,
  seconds: {
    skopeo,
    curl: 0.03,
    jq: 0.09,
    flock: 0.002,
    aws: 0,
    "other programs": 0.02,
    bash: total - skopeo - 0.142,
  },
  processes: { skopeo: skopeo > 0 ? 1 : 0, curl: 3, jq: 5, flock: 2, aws: 0, "other programs": 18, bash: 0 },
  functions: [
    ["check_repository_map", 0.04],
    ["manifest_digests", 0.03],
  ],
});

const cpu = { client: 0.6, sourceRegistry: 0.15, targetRegistry: 0.8, machineBusy: 0.97 };
const round: BreakdownRound = {
  baseline: { seconds: 1.3, cpu: { ...cpu, client: 0.5 } },
  skopeo: { seconds: 1.6, cpu },
  copy: { profile: profile(1.8, 1.62), aws: 0, cpu: { ...cpu, client: 0.75 } },
  unchanged: { profile: profile(0.16, 0), aws: 0 },
};

/** A one-at-a-time backfill of 50 tags: 0.2 s, 0.3 CPU-s of the script and 0.1 of the registries per tag. */
const serial = {
  profile: {
    total: 10,
    seconds: { skopeo: 5, curl: 1.5, jq: 1, flock: 0.1, aws: 0, "other programs": 0.9, bash: 1.5 },
    processes: { skopeo: 50, curl: 150, jq: 50, flock: 100, aws: 0, "other programs": 310, bash: 0 },
    functions: [["copy_locked", 7] as const],
  },
  scriptCpu: 15,
  registriesCpu: 5,
  aws: 0,
};

const scale = (tags: number, warm: number, cold: number) => ({
  scale: tags,
  runs: {
    warm: [{ seconds: warm, aws: 0, awsSeconds: 0 }],
    cold: [{ seconds: cold, aws: 4, awsSeconds: 1.3 }],
  },
});

/** A run in which the warm ratio, the cold reconcile of 200 tags and the cold backfill miss their targets. */
function stages(): Measured[] {
  const breakdown = breakdownReport(
    [round],
    { awsCall: 0.45, rootStart: { inRoot: 0.0121, here: 0.0043 } },
    { baseline: 1.4, skopeoAlone: 1.7, warm: 1.9 },
  );
  return [
    fullCopyReport(FULL_PLAN, 209715200, {
      warm: [1.9, 1.8, 2.0],
      cold: [3.2],
      baseline: [1.4],
      skopeo: [1.7],
      warmAws: [0, 0, 0],
      coldAws: [4],
      coldAwsSeconds: [1.25],
    }),
    breakdown.fullCopy,
    unchangedReport({
      warm: [
        { seconds: 0.15, aws: 0, awsSeconds: 0, layerBytes: 0 },
        { seconds: 0.17, aws: 0, awsSeconds: 0, layerBytes: 0 },
      ],
      cold: [{ seconds: 1.5, aws: 4, awsSeconds: 1.2, layerBytes: 0 }],
    }),
    breakdown.unchanged,
    incrementalReport({
      warm: [{ seconds: 1.0, aws: 0, moved: 42000, changedLayerBytes: 41950 }],
      cold: [{ seconds: 2.3, aws: 4, moved: 42000, changedLayerBytes: 41950 }],
    }),
    multiArchReport(31457280, {
      warm: [{ seconds: 1.0, aws: 0, preserved: true }],
      cold: [{ seconds: 2.1, aws: 4, preserved: true }],
    }),
    reconcileReport([scale(10, 0.3, 1.6), scale(50, 0.5, 1.8), scale(200, 1.1, 2.4)], profile(1.1, 0.02)),
    backfillReport(
      50,
      { warm: [{ seconds: 2.5, aws: 0, awsSeconds: 0 }], cold: [{ seconds: 3.6, aws: 4, awsSeconds: 1.3 }] },
      serial,
    ),
    burstReport(FULL_PLAN, {
      warm: [{ seconds: 4.0, arrived: 20, aws: 0, awsSeconds: 0 }],
      cold: [{ seconds: 7.0, arrived: 20, aws: 4, awsSeconds: 1.4 }],
    }),
  ];
}

const about = { runs: FULL_PLAN.runs, quick: false, bench_total_s: 300, machine: { nproc: 2 } };

/** The table's rows as [figure, cache, measured, aws, target, verdict], without the padding. */
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

describe("bench report (scripts/bench/report.ts and each stage's rows)", () => {
  it("reports every copier figure warm and cold, with its aws processes, in the stages' order", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const copierRows = rows.filter(([, cache]) => cache !== "");
    const figures = (cache: string) =>
      copierRows.filter((row) => row[1] === cache && !row[0].startsWith("↳ ")).map(([figure]) => figure);
    expect(figures("cold")).to.deep.equal([
      "full copy, 5 x 40.0 MiB (ecr-sync.sh)",
      "full copy / baseline",
      "unchanged copy",
      "incremental copy (1 new layer): bytes moved / changed layer",
      "multi-arch copy: 3 platforms, 30.0 MiB",
      "reconcile, 10 tags in sync",
      "reconcile, 50 tags in sync",
      "reconcile, 200 tags in sync",
      "reconcile growth (fit over 10/50/200)",
      "backfill: reconcile copying 50 missing small tags",
      "burst: 20 copies started at once (1.0 MiB each), aws in all",
    ]);
    for (const figure of figures("cold").filter((name) => !name.startsWith("reconcile growth")))
      expect(figures("warm"), figure).to.include(figure);
    // The breakdown's rows sit under the figures they explain.
    expect(
      rows.slice(0, 14).map(([figure, cache]) => `${figure}${cache ? ` (${cache})` : ""}`),
    ).to.deep.equal([
      "full copy, 5 x 40.0 MiB (ecr-sync.sh) (warm)",
      "full copy, 5 x 40.0 MiB (ecr-sync.sh) (cold)",
      "baseline: plain HTTP GET->PUT, same blobs",
      "full copy / baseline (warm)",
      "full copy / baseline (cold)",
      "↳ skopeo copy alone (no script) / baseline",
      "↳ above 1.0x: skopeo's own (skopeo alone / baseline)",
      "↳ above 1.0x: the script's ((warm - skopeo alone) / baseline) (warm)",
      "↳ warm full copy, traced: where the time goes (warm)",
      "↳ CPU s: client + source reg. + target reg. (machine busy)",
      "↳ CPU s more than the baseline",
      "unchanged copy (warm)",
      "unchanged copy (cold)",
      "↳ warm unchanged copy, traced: where the time goes (warm)",
    ]);
    expect(rows.find(([figure, cache]) => figure === "unchanged copy" && cache === "cold")).to.deep.equal([
      "unchanged copy",
      "cold",
      "1.50 s, 0 layer bytes; aws running 1.20 s",
      "4",
      "",
      "",
    ]);
  });

  it("prints each target next to its figure with the verdict: met with the margin, or missed by how much", () => {
    const judged = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about))
      .filter((row) => row[4] !== "")
      .map(([figure, cache, , , target, verdict]) => [figure, cache, target, verdict]);
    expect(judged).to.deep.equal([
      ["full copy / baseline", "warm", "≤ 1.3x the baseline", "MISSED: ratio 1.36x, 0.06x over 1.30x"],
      ["unchanged copy", "warm", "≤ 0.25 s, 0 aws, 0 layer bytes", "met, 0.09 s to spare"],
      [
        "incremental copy (1 new layer): bytes moved / changed layer",
        "warm",
        "≤ 1.05x the changed layer",
        "met, 0.05x to spare",
      ],
      [
        "incremental copy (1 new layer): bytes moved / changed layer",
        "cold",
        "≤ 1.05x the changed layer",
        "met, 0.05x to spare",
      ],
      ["multi-arch copy: 3 platforms, 30.0 MiB", "warm", "same digest", "met"],
      ["multi-arch copy: 3 platforms, 30.0 MiB", "cold", "same digest", "met"],
      ["reconcile, 200 tags in sync", "warm", "≤ 2 s", "met, 0.90 s to spare"],
      [
        "reconcile, 200 tags in sync",
        "cold",
        "≤ 2 s",
        "MISSED: time 2.40 s, 0.40 s over 2.00 s (1.20x the limit)",
      ],
      ["backfill: reconcile copying 50 missing small tags", "warm", "≤ 3 s", "met, 0.50 s to spare"],
      [
        "backfill: reconcile copying 50 missing small tags",
        "cold",
        "≤ 3 s",
        "MISSED: time 3.60 s, 0.60 s over 3.00 s (1.20x the limit)",
      ],
      [
        "burst: 20 copies started at once (1.0 MiB each), aws in all",
        "warm",
        "≤ 5 s, all 20 arrive",
        "met, 1.00 s to spare",
      ],
      ["burst: 20 copies started at once (1.0 MiB each), aws in all", "cold", "all 20 arrive", "met"],
    ]);
  });

  it("splits a warm full copy above 1.0x into skopeo's own share and the script's, and the script's by program", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const measured = (figure: string) => rows.find((row) => row[0] === figure)?.[2];
    // Stage 1's medians: baseline 1.4 s, skopeo alone 1.7 s, warm copy 1.9 s (1.36x).
    expect(measured("↳ above 1.0x: skopeo's own (skopeo alone / baseline)")).to.equal(
      "+0.21x (1.70 s vs 1.40 s)",
    );
    expect(measured("↳ above 1.0x: the script's ((warm - skopeo alone) / baseline)")).to.equal(
      "+0.14x (+0.20 s)",
    );
    expect(measured("↳ warm full copy, traced: where the time goes")).to.equal(
      "1.80 s: skopeo 1.62 s (1), curl 0.03 s (3), jq 0.09 s (5), flock 0.00 s (2), other programs 0.02 s (18), bash 0.04 s",
    );
    expect(measured("↳ CPU s: client + source reg. + target reg. (machine busy)")).to.equal(
      "baseline 0.50 + 0.15 + 0.80 (97%); skopeo alone 0.60 + 0.15 + 0.80 (97%); warm copy 0.75 + 0.15 + 0.80 (97%)",
    );
    expect(measured("↳ CPU s more than the baseline")).to.equal(
      "skopeo alone: client +0.10, target registry +0.00; warm copy: client +0.25, target registry +0.00",
    );
  });

  it("says, under the unchanged copy, what one aws call and bwrap's start add to a copier run", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const index = rows.findIndex((row) => row[0] === "↳ its costliest functions");
    expect(rows.slice(index + 1, index + 3).map(([figure, , measured]) => [figure, measured])).to.deep.equal([
      ["↳ one aws CLI call alone, in the worker root (a cold run makes 4)", "0.45 s"],
      [
        "↳ bwrap's start: in every copier time and the aws call alone",
        "0.008 s (`true` started in the worker root 0.012 s, here 0.004 s)",
      ],
    ]);
    const figures = JSON.parse(
      formatReport(false, FULL_PLAN.runs, stages(), about).trimEnd().split("\n").at(-1) ?? "",
    ) as Record<string, unknown>;
    expect(figures).to.deep.include({ aws_cli_call_s: 0.45, bwrap_start_s: 0.008 });
  });

  it("says where the time of the largest in-sync reconcile goes", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const index = rows.findIndex((row) => row[0] === "↳ 200 tags in sync, traced: where the time goes");
    expect(rows[index - 1][0]).to.equal("reconcile growth (fit over 10/50/200)");
    expect(rows[index].slice(1, 4)).to.deep.equal([
      "warm",
      "1.10 s: skopeo 0.02 s (1), curl 0.03 s (3), jq 0.09 s (5), flock 0.00 s (2), other programs 0.02 s (18), bash 0.94 s",
      "0",
    ]);
    expect(rows[index + 1]).to.deep.include("check_repository_map 0.040 s, manifest_digests 0.030 s");
  });

  it("says where one tag of a backfill goes, and the least time its CPU allows on 2 cores", () => {
    const rows = tableRows(formatReport(false, FULL_PLAN.runs, stages(), about));
    const measured = (figure: string) => rows.find((row) => row[0] === figure)?.[2];
    expect(measured("↳ one tag at a time, traced: per tag")).to.equal(
      "0.200 s: skopeo 0.10 s (1), curl 0.03 s (3), jq 0.02 s (1), flock 0.00 s (2), other programs 0.02 s (6.2), bash 0.03 s",
    );
    expect(measured("↳ CPU s per tag: script + registries; 2 cores at best")).to.equal(
      "0.300 + 0.100; 50 tags ≥ 10.00 s (parallel: 2.50 s, 4.0x one at a time)",
    );
  });

  it("ends with one JSON line: every required figure, every target with its verdict, the missed ones named, then the run", () => {
    const report = formatReport(false, FULL_PLAN.runs, stages(), about);
    expect(report.endsWith("}\n")).to.equal(true);
    const figures = JSON.parse(report.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;
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
      full_copy_warm_s: 1.9,
      full_copy_warm_ratio: 1.36,
      full_copy_cold_ratio: 2.29,
      full_copy_warm_aws: 0,
      full_copy_cold_aws: 4,
      unchanged_copy_warm_s: 0.16,
      unchanged_copy_warm_aws: 0,
      burst_warm_aws: 0,
      burst_cold_aws: 4,
      targets_missed: ["full_copy_ratio_warm", "reconcile_in_sync_cold", "backfill_cold"],
    });
    expect(figures.reconcile_in_sync_cold_s).to.deep.equal({ "10": 1.6, "50": 1.8, "200": 2.4 });
    expect((figures.targets as Record<string, unknown>).unchanged_copy_warm).to.deep.equal({
      target: "≤ 0.25 s, 0 aws, 0 layer bytes",
      met: true,
      verdict: "met, 0.09 s to spare",
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

  it("marks a --quick run as not comparable and says what warm, cold and aws mean", () => {
    const header = reportHeader(true, FULL_PLAN.runs).split("\n");
    expect(header[0]).to.match(
      /^ecr-sync\.sh benchmark \(--quick smoke test: not comparable figures\): medians of runs per stage and cache state \(full 5,/,
    );
    expect(header[1]).to.match(/^Cache warm: .* cold: that directory removed before the run\.$/);
    expect(header[2]).to.match(/^aws: aws processes started, counted by a wrapper on PATH/);
  });

  it("flags as incorrect only a changed multi-arch digest or a burst copy that did not arrive, warm or cold", () => {
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
    const changed = multiArchReport(31457280, {
      warm: [{ seconds: 1, aws: 0, preserved: true }],
      cold: [
        { seconds: 2, aws: 4, preserved: true },
        { seconds: 2, aws: 4, preserved: false },
      ],
    });
    expect(changed.correct).to.equal(false);
    expect(changed.rows[1]).to.deep.include({ measured: "2.00 s, index digest CHANGED", met: false });
    const lost = burstReport(FULL_PLAN, {
      warm: [{ seconds: 4, arrived: 20, aws: 0, awsSeconds: 0 }],
      cold: [
        { seconds: 7, arrived: 20, aws: 4, awsSeconds: 1.4 },
        { seconds: 8, arrived: 19, aws: 4, awsSeconds: 1.4 },
      ],
    });
    expect(lost.correct).to.equal(false);
    expect(lost.rows[1]).to.deep.include({
      measured: "7.50 s, 19/20 arrived (worst run); aws running 1.40 s",
      met: false,
      verdict: "MISSED: arrived 19, 1 short of 20",
    });
  });
});

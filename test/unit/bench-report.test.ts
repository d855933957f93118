/**
 * The bench's report (scripts/bench/report.ts) over the rows and figures each stage builds
 * (scripts/bench/*.ts, their *Report functions): fed the medians of the run recorded in
 * docs/benchmarks.md, it prints that run's header and table again, character for character.
 */
import { expect } from "chai";
import { backfillReport } from "../../scripts/bench/backfill";
import { breakdownReport } from "../../scripts/bench/breakdown";
import { burstReport } from "../../scripts/bench/burst";
import { fullCopyReport } from "../../scripts/bench/full-copy";
import { incrementalReport } from "../../scripts/bench/incremental";
import { Measured } from "../../scripts/bench/measure";
import { multiArchReport } from "../../scripts/bench/multiarch";
import { FULL_PLAN } from "../../scripts/bench/plan";
import { reconcileReport } from "../../scripts/bench/reconcile";
import { formatReport, reportHeader } from "../../scripts/bench/report";
import { REQUIRED_FIGURES } from "../../scripts/bench/stats";
import { unchangedReport } from "../../scripts/bench/unchanged";

const RECORDED_TABLE = `
ecr-sync.sh benchmark: medians of runs per stage (full 5, unchanged 5, incremental 5, multiarch 5, reconcile 5, backfill 3, burst 3, breakdown 3)

| Figure                                            | Measured                           | Target      | Verdict |
|---------------------------------------------------|------------------------------------|-------------|---------|
| full copy, 5 x 40.0 MiB (ecr-sync.sh)             | 2.90 s (69 MiB/s)                  |             |         |
| baseline: plain HTTP GET->PUT, same blobs         | 1.05 s (190 MiB/s)                 |             |         |
| full copy / baseline                              | 2.76x                              | <= 1.3x     | MISSED  |
|   skopeo copy alone (no auth calls) / baseline    | 1.37x (1.44 s)                     |             |         |
| unchanged copy: time                              | 1.82 s                             | < 0.5 s     | MISSED  |
| unchanged copy: layer bytes moved (max of runs)   | 0 B                                | 0 B         | met     |
|   of which: aws CLI running (wall, overlaps once) | 1.56 s (4 calls, one alone 0.57 s) |             |         |
|   of which: curl / skopeo / jq running            | 0.05 / 0.00 / 0.07 s               |             |         |
|   of which: bash, no tool running                 | 0.04 s                             |             |         |
| incremental copy: time (1 of 5 layers new)        | 2.14 s                             |             |         |
| incremental: bytes moved / changed layer          | 1.0000x (41951304 / 41950799 B)    | <= 1.05x    | met     |
| multi-arch copy: 3 platforms, 30.0 MiB            | 2.38 s, index digest preserved     | same digest | met     |
| reconcile, 10 tags in sync                        | 2.83 s                             |             |         |
| reconcile, 50 tags in sync                        | 2.93 s                             |             |         |
| reconcile, 200 tags in sync                       | 4.38 s                             | < 10 s      | met     |
| reconcile growth (fit over 10/50/200)             | 8.6 ms per tag + 2.64 s fixed      |             |         |
| backfill: reconcile copying 50 missing small tags | 9.45 s (0.19 s per tag)            |             |         |
| burst: 20 copies started at once (1.0 MiB each)   | 32.07 s, 20/20 arrived (worst run) | all arrive  | met     |
`;

/** The recorded run's medians, fed to each stage's report in the runner's order. */
function recordedStages(): Measured[] {
  return [
    fullCopyReport(FULL_PLAN, 209753995, { copy: [2.898], baseline: [1.0502], skopeo: [1.441] }),
    unchangedReport([1.9, 1.816, 1.79], 0),
    breakdownReport(
      { total: 1.692, aws_cli: 1.563, curl: 0.053, skopeo: 0, jq: 0.071, bash_and_startup: 0.043 },
      4,
      0.573,
    ),
    incrementalReport([{ seconds: 2.137, moved: 41951304, changedLayerBytes: 41950799 }]),
    multiArchReport(31471284, [2.377], true),
    reconcileReport([
      [10, 2.829],
      [50, 2.927],
      [200, 4.377],
    ]),
    backfillReport(50, [9.451]),
    burstReport(FULL_PLAN, [32.074], 20),
  ];
}

const about = { runs: FULL_PLAN.runs, quick: false, bench_total_s: 269.4, machine: { nproc: 2 } };

describe("bench report (scripts/bench/report.ts and each stage's rows)", () => {
  it("prints the recorded run's header and table again, row for row, then the JSON line last", () => {
    const report = formatReport(false, FULL_PLAN.runs, recordedStages(), about);
    const [table, jsonLine] = report.split("\n\n{");
    expect(`${table}\n`).to.equal(RECORDED_TABLE);
    expect(report.endsWith("}\n")).to.equal(true);
    expect(report.trimEnd().split("\n").at(-1)).to.equal(`{${jsonLine.trimEnd()}`);
  });

  it("carries every required figure, with the recorded run's values, in the stages' order", () => {
    const report = formatReport(false, FULL_PLAN.runs, recordedStages(), about);
    const figures = JSON.parse(report.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;
    expect(Object.keys(figures)).to.include.members([...REQUIRED_FIGURES]);
    expect(Object.keys(figures).slice(0, 3)).to.deep.equal([
      "image_layer_bytes",
      "full_copy_s",
      "baseline_s",
    ]);
    expect(Object.keys(figures).slice(-4)).to.deep.equal(["runs", "quick", "bench_total_s", "machine"]);
    expect(figures).to.deep.include({
      full_copy_s: 2.898,
      baseline_s: 1.05,
      full_copy_ratio: 2.76,
      full_copy_mib_per_s: 69,
      baseline_mib_per_s: 190.5,
      skopeo_alone_ratio: 1.37,
      unchanged_copy_s: 1.816,
      aws_cli_calls_per_copy: 4,
      incremental_bytes_ratio: 1,
      multiarch_digest_preserved: true,
      reconcile_per_tag_ms: 8.56,
      reconcile_fixed_s: 2.635,
      backfill_50_s: 9.451,
      backfill_per_tag_s: 0.189,
      burst_20_s: 32.074,
      burst_20_arrived: 20,
    });
    expect(figures.reconcile_in_sync_s).to.deep.equal({ "10": 2.829, "50": 2.927, "200": 4.377 });
  });

  it("marks a --quick run as not comparable", () => {
    expect(reportHeader(true, FULL_PLAN.runs)).to.match(
      /^ecr-sync\.sh benchmark \(--quick smoke test: not comparable figures\): medians of runs per stage \(full 5,/,
    );
  });

  it("flags as incorrect only a changed multi-arch digest or a burst copy that did not arrive", () => {
    expect(recordedStages().map((stage) => stage.correct)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
      true,
      undefined,
      undefined,
      true,
    ]);
    const changed = multiArchReport(31471284, [2.377], false);
    expect(changed.correct).to.equal(false);
    expect(changed.rows[0]).to.deep.include({ measured: "2.38 s, index digest CHANGED", met: false });
    const lost = burstReport(FULL_PLAN, [32.074], 19);
    expect(lost.correct).to.equal(false);
    expect(lost.rows[0]).to.deep.include({ measured: "32.07 s, 19/20 arrived (worst run)", met: false });
  });
});

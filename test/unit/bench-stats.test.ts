/**
 * The pure helpers of `npm run bench` (scripts/bench/stats.ts): the statistics behind every
 * figure, the time accounting of the tool calls, and the shape of the report's last line.
 */
import { expect } from "chai";
import {
  breakdownOf,
  formatTable,
  jsonLine,
  linearFit,
  median,
  medianOfEach,
  REQUIRED_FIGURES,
  round,
  toolSpans,
  toolTimes,
  unionLength,
} from "../../scripts/bench/stats";

describe("bench helpers (scripts/bench/stats.ts)", () => {
  it("takes the middle value of an odd count and the mean of the two middle values of an even count, whatever the order", () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
  });

  it("refuses the median of no runs or of a value that is not a finite number", () => {
    expect(() => median([])).to.throw("median of an empty list");
    expect(() => median([1, Number.NaN])).to.throw("NaN is not a finite number");
  });

  it("counts overlapping spans once and gaps not at all", () => {
    expect(unionLength([])).to.equal(0);
    expect(
      unionLength([
        [0, 1],
        [0.5, 2],
        [3, 4],
      ]),
    ).to.equal(3);
    expect(
      unionLength([
        [3, 4],
        [0, 10],
      ]),
    ).to.equal(10);
    expect(
      unionLength([
        [1, 1],
        [2, 2.5],
      ]),
    ).to.equal(0.5);
    expect(() => unionLength([[2, 1]])).to.throw("ends before it starts");
  });

  it("fits the line through reconcile times so the per-tag cost and the fixed cost come out", () => {
    const fit = linearFit([
      [10, 2.05],
      [50, 2.25],
      [200, 3.0],
    ]);
    expect(fit.slope).to.be.closeTo(0.005, 1e-9);
    expect(fit.intercept).to.be.closeTo(2.0, 1e-9);
    expect(() => linearFit([[1, 1]])).to.throw("at least two points");
    expect(() =>
      linearFit([
        [1, 1],
        [1, 2],
      ]),
    ).to.throw("same x");
  });

  it("adds up the wall time of each tool from the wrappers' log, parallel calls counted once", () => {
    const log = [
      "aws 0 800000000 sts",
      "aws 100000000 900000000 ecr",
      "curl 1000000000 1050000000",
      "aws 1100000000 1600000000 ecr",
      "",
    ].join("\n");
    const times = toolTimes(log);
    expect(Object.keys(times)).to.deep.equal(["aws", "curl"]);
    expect(times.aws.calls).to.equal(3);
    expect(times.aws.seconds).to.be.closeTo(1.4, 1e-9);
    expect(times.curl).to.deep.include({ calls: 1 });
    expect(times.curl.seconds).to.be.closeTo(0.05, 1e-9);
    expect(() => toolTimes("aws soon later")).to.throw("malformed line 'aws soon later'");
  });

  it("keeps each tool's calls as spans in seconds, in the order logged", () => {
    const spans = toolSpans("aws 0 500000000 sts\njq 600000000 700000000\naws 1000000000 2000000000\n");
    expect([...spans.keys()]).to.deep.equal(["aws", "jq"]);
    expect(spans.get("aws")).to.deep.equal([
      [0, 0.5],
      [1, 2],
    ]);
  });

  it("splits a copy's time by tool, and leaves for bash only the time no tool was running", () => {
    const log = [
      "aws 0 800000000 sts",
      "aws 100000000 900000000 ecr",
      "jq 850000000 950000000",
      "curl 1000000000 1050000000",
      "skopeo 1200000000 1300000000",
    ].join("\n");
    const { breakdown, awsCalls } = breakdownOf(log, 1.5);
    expect(awsCalls).to.equal(2);
    expect(Object.keys(breakdown)).to.deep.equal([
      "total",
      "aws_cli",
      "curl",
      "skopeo",
      "jq",
      "bash_and_startup",
    ]);
    expect(breakdown.total).to.equal(1.5);
    expect(breakdown.aws_cli).to.be.closeTo(0.9, 1e-9);
    expect(breakdown.jq).to.be.closeTo(0.1, 1e-9);
    expect(breakdown.curl).to.be.closeTo(0.05, 1e-9);
    expect(breakdown.skopeo).to.be.closeTo(0.1, 1e-9);
    // Some tool ran during 0–0.95, 1.0–1.05 and 1.2–1.3 s: 1.1 s of the 1.5.
    expect(breakdown.bash_and_startup).to.be.closeTo(0.4, 1e-9);
    expect(breakdownOf("", 0.2).breakdown).to.deep.include({ aws_cli: 0, bash_and_startup: 0.2 });
  });

  it("takes the median of every key over the runs, rounded, keys in their order", () => {
    const medians = medianOfEach([
      { total: 1.0004, aws_cli: 0.5 },
      { total: 3, aws_cli: 0.1 },
      { total: 2, aws_cli: 0.3 },
    ]);
    expect(medians).to.deep.equal({ total: 2, aws_cli: 0.3 });
    expect(Object.keys(medians)).to.deep.equal(["total", "aws_cli"]);
    expect(() => medianOfEach([])).to.throw("no run produced a value");
  });

  it("prints a Markdown table with aligned columns and a verdict only where there is a target", () => {
    const table = formatTable([
      { figure: "full copy / baseline", measured: "1.10x", target: "<= 1.3x", met: true },
      { figure: "unchanged copy", measured: "2.40 s", target: "< 0.5 s", met: false },
      { figure: "burst | all", measured: "30 s" },
    ]).split("\n");
    expect(table).to.have.length(5);
    expect(table[0]).to.match(/^\| Figure\s+\| Measured \| Target\s+\| Verdict \|$/);
    expect(table[1]).to.match(/^\|-+\|-+\|-+\|-+\|$/);
    expect(table[2]).to.match(/\| met +\|$/);
    expect(table[3]).to.match(/\| MISSED +\|$/);
    expect(table[4]).to.match(/^\| burst \\\| all\s+\| 30 s\s+\|\s+\|\s+\|$/);
    expect(new Set(table.map((line) => line.length)).size).to.equal(1);
  });

  it("renders the figures as one JSON line that parses back, and names any missing or non-finite figure", () => {
    const figures: Record<string, unknown> = Object.fromEntries(REQUIRED_FIGURES.map((name) => [name, 1]));
    figures.reconcile_in_sync_s = { "10": 2.1, "50": 2.3, "200": 3.2 };
    figures.machine = { nproc: 2 };
    const line = jsonLine(figures);
    expect(line).not.to.include("\n");
    expect(JSON.parse(line)).to.deep.equal(figures);

    const { burst_20_s: _dropped, ...withoutBurst } = figures;
    expect(() => jsonLine(withoutBurst)).to.throw("lacks figures: burst_20_s");
    expect(() => jsonLine({ ...figures, reconcile_in_sync_s: { "10": Number.POSITIVE_INFINITY } })).to.throw(
      "reconcile_in_sync_s.10=Infinity",
    );
  });

  it("rounds figures to a fixed number of decimals", () => {
    expect(round(1.23456)).to.equal(1.235);
    expect(round(1.23456, 1)).to.equal(1.2);
  });
});

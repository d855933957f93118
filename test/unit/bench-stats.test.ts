/**
 * The pure helpers of `npm run bench` (scripts/bench/stats.ts): the statistics behind every
 * figure, the table, and the shape of the report's last line.
 */
import { expect } from "chai";
import { formatTable, jsonLine, median, REQUIRED_FIGURES, round, targetsOf } from "../../scripts/bench/stats";

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

  it("prints a Markdown table with aligned columns, as prettier would write it, and a verdict only where there is a target", () => {
    const table = formatTable([
      { figure: "full copy / baseline", measured: "1.10x", aws: 4, target: "≤ 1.15x", verdict: "met" },
      { figure: "unchanged copy", measured: "0.40 s", aws: 0 },
      { figure: "burst | all", measured: "30 s" },
    ]).split("\n");
    expect(table).to.deep.equal([
      "| Figure               | Measured | AWS calls | Target  | Verdict |",
      "| -------------------- | -------- | --------- | ------- | ------- |",
      "| full copy / baseline | 1.10x    | 4         | ≤ 1.15x | met     |",
      "| unchanged copy       | 0.40 s   | 0         |         |         |",
      "| burst \\| all         | 30 s     |           |         |         |",
    ]);
    expect(new Set(table.map((line) => line.length)).size).to.equal(1);
  });

  it("leaves the Target column out when asked (the page lists the targets above its recorded table)", () => {
    expect(
      formatTable(
        [{ figure: "burst", measured: "8.90 s", aws: 80, target: "≤ 6 s", verdict: "MISSED" }],
        false,
      ).split("\n"),
    ).to.deep.equal([
      "| Figure | Measured | AWS calls | Verdict |",
      "| ------ | -------- | --------- | ------- |",
      "| burst  | 8.90 s   | 80        | MISSED  |",
    ]);
  });

  it("collects every judged row's target by its key, and refuses two rows judging one target", () => {
    const rows = [
      {
        figure: "a",
        measured: "1 s",
        key: "a_warm",
        target: "≤ 2 s",
        met: true,
        verdict: "met, 1.00 s to spare",
      },
      { figure: "b", measured: "3 s" },
      { figure: "c", measured: "3 s", key: "c_cold", target: "≤ 2 s", met: false, verdict: "MISSED" },
    ];
    expect(targetsOf(rows)).to.deep.equal({
      a_warm: { target: "≤ 2 s", met: true, verdict: "met, 1.00 s to spare" },
      c_cold: { target: "≤ 2 s", met: false, verdict: "MISSED" },
    });
    expect(() => targetsOf([rows[0], rows[0]])).to.throw("two rows judge the target 'a_warm'");
  });

  it("renders the figures as one JSON line that parses back, and names any missing or non-finite figure", () => {
    const figures: Record<string, unknown> = Object.fromEntries(REQUIRED_FIGURES.map((name) => [name, 1]));
    figures.backfill_cpu_s = { copier: 7.1, registries: 5.2, moto: 0.8, others: 0.3 };
    figures.machine = { nproc: 2 };
    const line = jsonLine(figures);
    expect(line).not.to.include("\n");
    expect(JSON.parse(line)).to.deep.equal(figures);

    const { node_start_s: _dropped, ...withoutNode } = figures;
    expect(() => jsonLine(withoutNode)).to.throw("lacks figures: node_start_s");
    expect(() => jsonLine({ ...figures, backfill_cpu_s: { copier: Number.POSITIVE_INFINITY } })).to.throw(
      "backfill_cpu_s.copier=Infinity",
    );
  });

  it("rounds figures to a fixed number of decimals", () => {
    expect(round(1.23456)).to.equal(1.235);
    expect(round(1.23456, 1)).to.equal(1.2);
  });
});

import { expect } from "chai";
import { formatValue, judge, judgedRow, keeps, Target, TARGETS } from "../../scripts/bench/targets";

describe("bench targets and verdicts (scripts/bench/targets.ts)", () => {
  it("holds issue 18's targets: unchanged 0.4 s and node -e 0 + 0.25 s with 0 bytes, 1.15x, burst 6 s all arrive, reconcile 1.5 s, backfill 4 s", () => {
    const unchanged = TARGETS.unchanged(0.21);
    expect(unchanged.limits.map((limit) => [limit.name, limit.bound, limit.limit])).to.deep.equal([
      ["time", "at most", 0.4],
      ["time above node -e 0", "at most", 0.25],
      ["layer bytes", "at most", 0],
    ]);
    expect(unchanged.text).to.equal("≤ 0.4 s and ≤ node -e 0 + 0.25 s (0.46 s), 0 layer bytes");
    expect(TARGETS.fullCopyRatio.limits[0]).to.deep.include({ bound: "at most", limit: 1.15, unit: "x" });
    expect(TARGETS.burst(20)).to.deep.equal({
      text: "≤ 6 s, all 20 arrive",
      limits: [
        { name: "time", bound: "at most", limit: 6, unit: "s" },
        { name: "arrived", bound: "at least", limit: 20, unit: "n" },
      ],
    });
    expect(TARGETS.reconcileInSync.limits[0]).to.deep.include({ limit: 1.5, unit: "s" });
    expect(TARGETS.backfill.limits[0]).to.deep.include({ limit: 4, unit: "s" });
  });

  it("says met with the headline limit's margin", () => {
    expect(judge(TARGETS.unchanged(0.2), [0.3, 0.1, 0])).to.deep.equal({
      met: true,
      verdict: "met, 0.10 s to spare",
    });
    expect(judge(TARGETS.fullCopyRatio, [1.15])).to.deep.equal({ met: true, verdict: "met, 0.00x to spare" });
    expect(judge(TARGETS.multiarch, [1])).to.deep.equal({ met: true, verdict: "met" });
  });

  it("says by how much each missed limit was missed, and only those", () => {
    // Under 0.4 s but more than 0.25 s above Node's own start: missed on the second limit alone.
    expect(judge(TARGETS.unchanged(0.1), [0.39, 0.29, 0])).to.deep.equal({
      met: false,
      verdict: "MISSED: time above node -e 0 0.04 s over (1.16x)",
    });
    expect(judge(TARGETS.unchanged(0.2), [0.6, 0.4, 512]).verdict).to.equal(
      "MISSED: time 0.20 s over (1.50x); time above node -e 0 0.15 s over (1.60x); layer bytes 512 B over",
    );
    expect(judge(TARGETS.fullCopyRatio, [1.23]).verdict).to.equal("MISSED: ratio 0.08x over");
    expect(judge(TARGETS.burst(20), [4.2, 19]).verdict).to.equal("MISSED: arrived 1 short");
    expect(judge(TARGETS.multiarch, [0]).verdict).to.equal("MISSED: digest preserved: no");
  });

  it("refuses a value that is not a finite number, or a count of values the target does not have", () => {
    expect(() => judge(TARGETS.backfill, [Number.NaN])).to.throw("time: NaN is not a finite number");
    expect(() => judge(TARGETS.unchanged(0.2), [0.1])).to.throw("has 3 limits but 1 values were given");
  });

  it("keeps a limit exactly at its bound, from either side", () => {
    const [time, arrived] = TARGETS.burst(20).limits;
    expect([keeps(6, time), keeps(6.001, time), keeps(20, arrived), keeps(19, arrived)]).to.deep.equal([
      true,
      false,
      true,
      false,
    ]);
  });

  it("prints values in their unit", () => {
    expect([
      formatValue(0.254, "s"),
      formatValue(1.3, "x"),
      formatValue(4, "n"),
      formatValue(0, "B"),
      formatValue(1, "yes"),
      formatValue(0, "yes"),
    ]).to.deep.equal(["0.25 s", "1.30x", "4", "0 B", "yes", "no"]);
  });

  it("puts the target's text, the verdict and the key on a row", () => {
    const target: Target = TARGETS.backfill;
    expect(
      judgedRow({ figure: "backfill", measured: "4.50 s", aws: 4 }, "backfill", target, [4.5]),
    ).to.deep.equal({
      figure: "backfill",
      measured: "4.50 s",
      aws: 4,
      key: "backfill",
      target: "≤ 4 s",
      met: false,
      verdict: "MISSED: time 0.50 s over (1.13x)",
    });
  });

  it("keeps a time target's why line on its row only when the target was missed", () => {
    const row = { figure: "backfill", measured: "", aws: 4 };
    expect(judgedRow(row, "backfill", TARGETS.backfill, [4.5], "backfill of 50: floor").why).to.equal(
      "backfill of 50: floor",
    );
    expect(judgedRow(row, "backfill", TARGETS.backfill, [3.5], "backfill of 50: floor")).not.to.have.property(
      "why",
    );
  });
});

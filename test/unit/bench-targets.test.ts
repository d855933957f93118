import { expect } from "chai";
import { formatValue, judge, judgedRow, keeps, Target, TARGETS } from "../../scripts/bench/targets";

describe("bench targets and verdicts (scripts/bench/targets.ts)", () => {
  it("holds the copier's targets: unchanged 0.25 s / 0 aws / 0 bytes, 1.3x, burst 5 s all arrive, reconcile 2 s, backfill 3 s", () => {
    expect(TARGETS.unchangedWarm.limits.map((limit) => [limit.name, limit.bound, limit.limit])).to.deep.equal(
      [
        ["time", "at most", 0.25],
        ["aws processes", "at most", 0],
        ["layer bytes", "at most", 0],
      ],
    );
    expect(TARGETS.fullCopyRatioWarm.limits[0]).to.deep.include({ bound: "at most", limit: 1.3, unit: "x" });
    expect(TARGETS.burstWarm(20)).to.deep.equal({
      text: "≤ 5 s, all 20 arrive",
      limits: [
        { name: "time", bound: "at most", limit: 5, unit: "s" },
        { name: "arrived", bound: "at least", limit: 20, unit: "n" },
      ],
    });
    expect(TARGETS.burstCold(20).limits).to.deep.equal([TARGETS.burstWarm(20).limits[1]]);
    expect(TARGETS.reconcileInSync.limits[0]).to.deep.include({ limit: 2, unit: "s" });
    expect(TARGETS.backfill.limits[0]).to.deep.include({ limit: 3, unit: "s" });
  });

  it("says met with the headline limit's margin", () => {
    expect(judge(TARGETS.unchangedWarm, [0.15, 0, 0])).to.deep.equal({
      met: true,
      verdict: "met, 0.10 s to spare",
    });
    expect(judge(TARGETS.fullCopyRatioWarm, [1.3])).to.deep.equal({
      met: true,
      verdict: "met, 0.00x to spare",
    });
    expect(judge(TARGETS.burstCold(20), [20])).to.deep.equal({ met: true, verdict: "met" });
    expect(judge(TARGETS.multiarch, [1])).to.deep.equal({ met: true, verdict: "met" });
  });

  it("says by how much each missed limit was missed, and only those", () => {
    expect(judge(TARGETS.unchangedWarm, [0.6, 4, 0])).to.deep.equal({
      met: false,
      verdict: "MISSED: time 0.60 s, 0.35 s over 0.25 s (2.40x the limit); aws processes 4, 4 over 0",
    });
    expect(judge(TARGETS.unchangedWarm, [0.2, 0, 512]).verdict).to.equal(
      "MISSED: layer bytes 512 B, 512 B over 0 B",
    );
    expect(judge(TARGETS.fullCopyRatioWarm, [1.42]).verdict).to.equal(
      "MISSED: ratio 1.42x, 0.12x over 1.30x",
    );
    expect(judge(TARGETS.burstWarm(20), [4.2, 19]).verdict).to.equal("MISSED: arrived 19, 1 short of 20");
    expect(judge(TARGETS.multiarch, [0]).verdict).to.equal("MISSED: digest preserved: no");
  });

  it("refuses a value that is not a finite number, or a count of values the target does not have", () => {
    expect(() => judge(TARGETS.backfill, [Number.NaN])).to.throw("time: NaN is not a finite number");
    expect(() => judge(TARGETS.unchangedWarm, [0.1])).to.throw("has 3 limits but 1 values were given");
  });

  it("keeps a limit exactly at its bound, from either side", () => {
    const [time, arrived] = TARGETS.burstWarm(20).limits;
    expect([keeps(5, time), keeps(5.001, time), keeps(20, arrived), keeps(19, arrived)]).to.deep.equal([
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
      judgedRow(
        { figure: "backfill", cache: "cold", measured: "3.50 s", aws: 4 },
        "backfill_cold",
        target,
        [3.5],
      ),
    ).to.deep.equal({
      figure: "backfill",
      cache: "cold",
      measured: "3.50 s",
      aws: 4,
      key: "backfill_cold",
      target: "≤ 3 s",
      met: false,
      verdict: "MISSED: time 3.50 s, 0.50 s over 3.00 s (1.17x the limit)",
    });
  });
});

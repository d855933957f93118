import { expect } from "chai";
import { FULL_PLAN, parseArguments, QUICK_PLAN } from "../../scripts/bench/plan";

describe("bench command line (scripts/bench/plan.ts)", () => {
  it("runs the full plan without arguments and the small one with --quick", () => {
    expect(parseArguments([])).to.deep.equal({ quick: false, plan: FULL_PLAN });
    expect(parseArguments(["--quick"])).to.deep.equal({ quick: true, plan: QUICK_PLAN });
  });

  it("refuses any other argument by name, saying what the one option is", () => {
    expect(() => parseArguments(["--quick", "--fast", "x"])).to.throw(
      "unknown argument(s) --fast x: the only option is --quick (small sizes, few runs)",
    );
  });

  it("measures the figures the targets are set for: 5 x 40 MiB, reconcile at 10/50/200, 50 backfilled, a burst of 20", () => {
    expect(FULL_PLAN.layerCount * FULL_PLAN.layerBytes).to.equal(200 * 1024 * 1024);
    expect(FULL_PLAN.reconcileScales).to.deep.equal([10, 50, 200]);
    expect(FULL_PLAN.backfillTags).to.equal(50);
    expect(FULL_PLAN.burstCopies).to.equal(20);
    expect(Object.keys(QUICK_PLAN.runs)).to.deep.equal(Object.keys(FULL_PLAN.runs));
  });
});

import { expect } from "chai";
import { RunResult } from "../../local/world";
import { expectOk, inBatches, numberedTags, warmAndCold } from "../../scripts/bench/measure";

const result = (code: number, results: string[]): RunResult => ({
  code,
  stdout: "",
  stderr: "the script's stderr",
  lines: results.map((value) => ({ result: value })),
  milliseconds: 1,
});

describe("bench measuring tools (scripts/bench/measure.ts)", () => {
  it("accepts a run only when it exited 0 and every line has the expected result", () => {
    expect(() => expectOk(result(0, ["copied", "copied"]), "copied", "run 1")).not.to.throw();
    expect(() => expectOk(result(0, ["copied", "unchanged"]), "copied", "run 1")).to.throw(
      "run 1: expected exit 0 and every line 'copied', got exit 0, results [copied, unchanged]\nthe script's stderr",
    );
    expect(() => expectOk(result(3, ["copied"]), "copied", "run 2")).to.throw("got exit 3");
    expect(() => expectOk(result(0, []), "copied", "run 3")).to.throw("results []");
  });

  it("reads a reconcile's summary line as no image of its own", () => {
    expect(() =>
      expectOk(result(0, ["unchanged", "unchanged", "reconcile"]), "unchanged", "run 4"),
    ).not.to.throw();
    expect(() => expectOk(result(0, ["reconcile"]), "unchanged", "run 5")).to.throw("results []");
  });

  it("runs at most `width` actions at a time and keeps the items' order", async () => {
    let running = 0;
    let most = 0;
    const results = await inBatches([1, 2, 3, 4, 5], 2, async (item, index) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 6 - item));
      running -= 1;
      return `${index}:${item}`;
    });
    expect(results).to.deep.equal(["0:1", "1:2", "2:3", "3:4", "4:5"]);
    expect(most).to.equal(2);
  });

  it("names numbered tags with a fixed width", () => {
    expect(numberedTags("t", 3, 4)).to.deep.equal(["t0000", "t0001", "t0002"]);
    expect(numberedTags("r", 12, 2).at(-1)).to.equal("r11");
  });

  it("runs each cache state as often, taking turns and going first every other round, results grouped by state", async () => {
    const order: string[] = [];
    const results = await warmAndCold(3, async (cache, round) => {
      order.push(`${cache}${round}`);
      return `${cache} run of round ${round}`;
    });
    expect(order).to.deep.equal(["warm1", "cold1", "cold2", "warm2", "warm3", "cold3"]);
    expect(results).to.deep.equal({
      warm: ["warm run of round 1", "warm run of round 2", "warm run of round 3"],
      cold: ["cold run of round 1", "cold run of round 2", "cold run of round 3"],
    });
  });
});

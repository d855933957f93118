import { expect } from "chai";
import { RunResult } from "../../local/world";
import { expectOk, inBatches, numberedTags, repeated } from "../../scripts/bench/measure";

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

  it("runs one after the other, as often as asked, results in run order", async () => {
    const order: string[] = [];
    let running = 0;
    const results = await repeated(3, async (round) => {
      running += 1;
      order.push(`start ${round} (${running} running)`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return `run ${round}`;
    });
    expect(order).to.deep.equal(["start 1 (1 running)", "start 2 (1 running)", "start 3 (1 running)"]);
    expect(results).to.deep.equal(["run 1", "run 2", "run 3"]);
  });
});

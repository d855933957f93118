import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { FULL_PLAN, parseArguments, QUICK_PLAN } from "../../scripts/bench/plan";

describe("bench command line (scripts/bench/plan.ts)", () => {
  it("runs the full plan without arguments and the small one with --quick; records only with --record", () => {
    expect(parseArguments([])).to.deep.equal({ quick: false, record: false, plan: FULL_PLAN });
    expect(parseArguments(["--quick"])).to.deep.equal({ quick: true, record: false, plan: QUICK_PLAN });
    expect(parseArguments(["--record"])).to.deep.equal({ quick: false, record: true, plan: FULL_PLAN });
    expect(parseArguments(["--record", "--quick"])).to.deep.equal({
      quick: true,
      record: true,
      plan: QUICK_PLAN,
    });
  });

  it("refuses any other argument by name, saying what the options are", () => {
    expect(() => parseArguments(["--quick", "--fast", "x"])).to.throw(
      "unknown argument(s) --fast x: the options are --quick (small sizes, few runs: a smoke test) and --record (write the run into docs/benchmarks.md)",
    );
  });

  it("measures the figures the targets are set for: 5 x 40 MiB, reconcile of 200, 50 backfilled, a burst of 20", () => {
    expect(FULL_PLAN.layerCount * FULL_PLAN.layerBytes).to.equal(200 * 1024 * 1024);
    expect(FULL_PLAN.reconcileTags).to.equal(200);
    expect(FULL_PLAN.backfillTags).to.equal(50);
    expect(FULL_PLAN.burstCopies).to.equal(20);
    expect(Object.keys(QUICK_PLAN.runs)).to.deep.equal(Object.keys(FULL_PLAN.runs));
  });

  it("answers --help with its usage (exit 0) and a wrong argument with the reason and the usage (exit 2), no stack trace", () => {
    const bench = (arg: string) =>
      spawnSync(
        process.execPath,
        ["--import", "tsx", path.join(__dirname, "..", "..", "scripts", "bench.ts"), arg],
        {
          encoding: "utf8",
        },
      );
    const help = bench("--help");
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^usage: npm run bench/);
    const wrong = bench("--fast");
    expect(wrong.status).to.equal(2);
    expect(wrong.stderr).to.include("bench: unknown argument(s) --fast").and.include("usage: npm run bench");
    expect(wrong.stderr).not.to.match(/\n\s+at /);
  });
});

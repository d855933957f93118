import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The suite's reporter (test/support/summary-reporter.cjs), run by mocha as `npm test` runs it:
 * its last line is what CI reads, so a file that ran no test must make that line and the exit
 * status say failed.
 */
describe("the suite's summary line", function () {
  this.timeout(60000);
  const root = path.join(__dirname, "..", "..");
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-reporter-"));
    fs.writeFileSync(path.join(dir, "one.test.ts"), 'it("passes", () => undefined);\n');
    // Registers no test: a loop over a list that came out empty, say.
    fs.writeFileSync(
      path.join(dir, "none.test.ts"),
      'describe("nothing", () => {\n  for (const x of []) it(x, () => undefined);\n});\n',
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts a file that ran no test as failed, and exits non-zero", () => {
    const run = spawnSync(
      path.join(root, "node_modules", ".bin", "mocha"),
      [
        "--config",
        path.join(root, ".mocharc.json"),
        path.join(dir, "one.test.ts"),
        path.join(dir, "none.test.ts"),
      ],
      { cwd: root, encoding: "utf8" },
    );
    expect(run.stdout).to.include("none.test.ts: no results");
    expect(run.stdout.trim().split("\n").at(-1)).to.equal("tests: 1 passed, 1 failed, 0 skipped");
    expect(run.status).to.not.equal(0);
  });
});

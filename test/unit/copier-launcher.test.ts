import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { statSync, utimesSync } from "node:fs";
import path from "node:path";
import { COPIER_BUNDLE_PATH } from "../../ec2-scripts/bundle";

/**
 * ec2-scripts/ecr-sync, the copier's launcher in a checkout: it builds the bundle when it is
 * missing or older than a source it bundles, and runs it with node.
 */
describe("the copier's launcher (ec2-scripts/ecr-sync)", function () {
  this.timeout(60000);
  const LAUNCHER = path.join(__dirname, "..", "..", "ec2-scripts", "ecr-sync");
  const run = (...args: string[]) => spawnSync(LAUNCHER, args, { encoding: "utf8" });

  it("rebuilds a bundle older than its sources, then runs it: --help, exit 0", () => {
    expect(run("--help").status).to.equal(0);
    const past = new Date("2020-01-01T00:00:00Z");
    utimesSync(COPIER_BUNDLE_PATH, past, past);
    const help = run("--help");
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^Usage:\n {2}ecr-sync copy --source-repository NAME/);
    expect(statSync(COPIER_BUNDLE_PATH).mtimeMs, "the bundle made current").to.be.greaterThan(past.getTime());
  });

  it("runs a current bundle as it is, passing the arguments and the exit code on", () => {
    run("--help");
    const before = statSync(COPIER_BUNDLE_PATH).mtimeMs;
    const unknown = run("publish");
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.include("unknown command 'publish'");
    expect(statSync(COPIER_BUNDLE_PATH).mtimeMs, "not rebuilt").to.equal(before);
  });
});

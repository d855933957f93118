import { expect } from "chai";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { REQUIRED_FIGURES } from "../../scripts/bench/stats";

/**
 * `npm run bench -- --quick` end to end (scripts/bench.ts with smoke-test sizes), as a user runs it:
 * the real copier against fresh local registries and moto. Its figures are not judged here (timed
 * tests are no benchmark); what is proven is that every stage still runs against the copier as it is
 * now — the bench broke twice when the copier's contract changed (copy bound to the mapping, the
 * reconcile's summary line) and nothing else would have noticed.
 */
describe("npm run bench -- --quick", function () {
  this.timeout(240000);

  it("runs every stage against the current copier, prints the table, and ends with its JSON line", async () => {
    const root = join(__dirname, "..", "..");
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        join(root, "node_modules", ".bin", "tsx"),
        [join(root, "scripts", "bench.ts"), "--quick"],
        { cwd: root, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).to.equal(0);
    const last = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    expect(last.quick).to.equal(true);
    for (const figure of REQUIRED_FIGURES) expect(last, figure).to.have.property(figure);
    expect(last.multiarch_digest_preserved).to.equal(true);
    expect(last.unchanged_layer_bytes).to.equal(0);
  });
});

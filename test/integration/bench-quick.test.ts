import { expect } from "chai";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { workerRootVersions } from "../../local/worker-root";
import { REQUIRED_FIGURES } from "../../scripts/bench/stats";

/** The upstream part of a Debian package version: "1:2.23.6-1+b2" → "2.23.6". */
const upstream = (debianVersion: string | undefined) =>
  (debianVersion ?? "?").replace(/^\d+:/, "").split(/[+-]/)[0];

/**
 * `npm run bench -- --quick` end to end (scripts/bench.ts with smoke-test sizes), as a user runs it:
 * the real copier against fresh local registries and moto. Its times are not judged here (timed
 * tests are no benchmark); what is proven is that every stage still runs against the copier as it is
 * now — the bench broke twice when the copier's contract changed (copy bound to the mapping, the
 * reconcile's summary line) and nothing else would have noticed — that its AWS calls are counted at
 * moto's door (a copy assumes the role and makes three ECR calls; none is cached between runs), that
 * the CPU of the copier's processes, the registries and moto is measured and gives each time target
 * its floor (a line of why under the table for each one missed), that `node -e 0` is measured in
 * the same run, and that every copier run used the worker root's node and skopeo, never this
 * machine's: the target registries' access logs name the skopeo build.
 */
describe("npm run bench -- --quick", function () {
  // About 2 minutes on 2 busy cores.
  this.timeout(600000);

  it("runs every stage against the current copier, counts its AWS calls and CPU, and ends with its JSON line", async () => {
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

    // The copier's tools are the worker root's, as the root recorded them when it was built ...
    const versions = workerRootVersions();
    const machine = last.machine as Record<string, string>;
    expect(machine.worker_node).to.equal(`v${upstream(versions.nodejs)}`);
    expect(machine.skopeo).to.equal(`skopeo version ${upstream(versions.skopeo)}`);
    // ... and so is the only skopeo that reached a target registry: besides it, only Node's
    // requests (the copier's reads, the baseline's and the bench's own: "" and "node").
    const clients = last.target_registry_clients as Record<string, number>;
    const rootSkopeo = `skopeo/${upstream(versions.skopeo)}`;
    expect(Object.keys(clients)).to.include(rootSkopeo);
    expect(Object.keys(clients).filter((agent) => !["", "node", rootSkopeo].includes(agent))).to.deep.equal(
      [],
    );
    for (const figure of REQUIRED_FIGURES) expect(last, figure).to.have.property(figure);
    expect(last.multiarch_digest_preserved).to.equal(true);
    expect(last.burst_arrived).to.equal(4);
    expect(last.unchanged_copy_layer_bytes).to.equal(0);

    // AWS calls at moto's door: a copy makes source password, AssumeRole, target password and the
    // description (4), then publishes its telemetry (log stream, result events, and figures when it
    // copied: 3); a burst of 4 copies 28, nothing shared between processes.
    expect([last.full_copy_aws, last.incremental_aws, last.multiarch_aws]).to.deep.equal([7, 7, 7]);
    expect(last.unchanged_copy_aws).to.equal(6);
    expect(last.burst_aws).to.equal(28);

    // node -e 0 was measured in this run, and the unchanged copy judged against it.
    expect(last.node_start_s).to.be.a("number").greaterThan(0);
    expect(last.unchanged_copy_above_node_s).to.be.closeTo(
      (last.unchanged_copy_s as number) - (last.node_start_s as number),
      0.002,
    );

    // Each time target's CPU, measured from outside the copier and at the servers, and its floor on
    // this machine's cores; under the table a line of why for each time target missed.
    const nproc = (last.machine as Record<string, number>).nproc;
    const timeTargets = { unchanged_copy: "unchanged copy", backfill: "backfill of 5", burst: "burst of 4" };
    for (const [key, name] of Object.entries(timeTargets)) {
      const cpu = last[`${key}_cpu_s`] as Record<string, number>;
      expect(cpu.copier, key).to.be.greaterThan(0);
      expect(cpu.registries, key).to.be.greaterThan(0);
      expect(last[`${key}_floor_s`], key).to.be.closeTo(
        (cpu.copier + cpu.registries + cpu.moto) / nproc,
        0.002,
      );
      const why = new RegExp(
        `^- ${name}: \\d+\\.\\d\\d CPU s \\(copier .*\\) / ${nproc} cores = floor \\d+\\.\\d\\d s, target `,
        "m",
      );
      if ((last.targets_missed as string[]).includes(key)) expect(run.stdout, key).to.match(why);
      else expect(run.stdout, key).not.to.match(why);
    }

    // The table names the copier, counts AWS calls, and puts a verdict next to each target.
    expect(run.stdout).to.match(/^ecr-sync copier benchmark/m);
    expect(run.stdout).not.to.match(/ecr-sync\.sh|\bwarm\b|\bcold\b|traced/);
    expect(run.stdout).to.match(
      /^\| unchanged copy +\| .* \| 6 +\| ≤ 0\.4 s and ≤ node -e 0 \+ 0\.25 s \(\d+\.\d\d s\), 0 layer bytes \| (met|MISSED)/m,
    );
    expect(Object.keys(last.targets as object)).to.have.members([
      "full_copy_ratio",
      "unchanged_copy",
      "incremental",
      "multiarch",
      "backfill",
      "burst",
    ]);
  });
});

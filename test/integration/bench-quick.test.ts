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
 * reconcile's summary line) and nothing else would have noticed — and that its warm and cold
 * figures are what they say: warm, the copier started no aws process (the credential cache was
 * filled for the very registry and repository of the run), cold, it did (the cache was gone). And
 * that every copier run, skopeo alone included, used the worker root's tools, never this machine's:
 * the target registries' access logs name the skopeo and curl builds that talked to them.
 */
describe("npm run bench -- --quick", function () {
  // About 3.5 minutes on 2 busy cores: each cold run starts the root's AWS CLI v2 four times.
  this.timeout(600000);

  it("runs every stage warm and cold against the current copier, counts its aws processes, and ends with its JSON line", async () => {
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
    expect(machine.bash.split("(")[0]).to.equal(upstream(versions.bash));
    expect(machine.skopeo).to.equal(`skopeo version ${upstream(versions.skopeo)}`);
    expect(machine.aws_cli.split(" ")[0]).to.equal(`aws-cli/${upstream(versions.awscli)}`);
    expect(machine.curl).to.equal(`curl ${upstream(versions.curl)}`);
    // ... and so are the only skopeo and curl that reached a target registry: besides them, only
    // the baseline's and the bench's own Node requests ("" and "node").
    const clients = last.target_registry_clients as Record<string, number>;
    const rootClients = [`skopeo/${upstream(versions.skopeo)}`, `curl/${upstream(versions.curl)}`];
    expect(Object.keys(clients)).to.include.members(rootClients);
    expect(
      Object.keys(clients).filter((agent) => !["", "node", ...rootClients].includes(agent)),
    ).to.deep.equal([]);
    for (const figure of REQUIRED_FIGURES) expect(last, figure).to.have.property(figure);
    expect(last.multiarch_digest_preserved).to.equal(true);
    expect([last.burst_warm_arrived, last.burst_cold_arrived]).to.deep.equal([4, 4]);
    expect([last.unchanged_copy_warm_layer_bytes, last.unchanged_copy_cold_layer_bytes]).to.deep.equal([
      0, 0,
    ]);

    // Every copier figure has its aws count in both states: none warm, some cold.
    const awsCounts = Object.entries(last).filter(([name]) => /_(warm|cold)_aws$/.test(name));
    expect(awsCounts.map(([name]) => name)).to.include.members([
      "full_copy_warm_aws",
      "full_copy_cold_aws",
      "unchanged_copy_warm_aws",
      "unchanged_copy_cold_aws",
      "incremental_warm_aws",
      "incremental_cold_aws",
      "multiarch_warm_aws",
      "multiarch_cold_aws",
      "reconcile_in_sync_warm_aws",
      "reconcile_in_sync_cold_aws",
      "backfill_warm_aws",
      "backfill_cold_aws",
      "burst_warm_aws",
      "burst_cold_aws",
    ]);
    const counts = (value: unknown) => (typeof value === "number" ? [value] : Object.values(value as object));
    const warmWithAws = awsCounts.filter(
      ([name, value]) => name.includes("_warm_") && counts(value).some((n) => n !== 0),
    );
    const coldWithout = awsCounts.filter(
      ([name, value]) => name.includes("_cold_") && counts(value).some((n) => n === 0),
    );
    expect(warmWithAws, "warm figures whose runs started aws processes").to.deep.equal([]);
    expect(coldWithout, "cold figures whose runs started none").to.deep.equal([]);
    expect(last.unchanged_copy_warm_aws).to.equal(0);
    // The wrapper also times them: a cold run spends some of its time with aws running.
    expect(last.unchanged_copy_cold_aws_s).to.be.greaterThan(0);
    const profile = last.warm_unchanged_copy_profile as { processes: Record<string, number> };
    expect(profile.processes.aws).to.equal(0);
    expect(profile.processes.curl).to.be.greaterThan(0);

    // The table has a row for each state and a verdict next to each target.
    expect(run.stdout).to.match(
      /^\| unchanged copy +\| warm +\| .* \| 0 +\| ≤ 0\.25 s, 0 aws, 0 layer bytes \| (met|MISSED)/m,
    );
    expect(run.stdout).to.match(/^\| unchanged copy +\| cold +\| /m);
    expect(Object.keys(last.targets as object)).to.include.members([
      "unchanged_copy_warm",
      "full_copy_ratio_warm",
    ]);
  });
});

/**
 * The metric filters' patterns (components/metrics.ts) against the result lines the REAL
 * ecr-sync.sh prints (copied with its latency, unchanged, superseded, failed, a reconcile's lines and
 * its summary: real registries, moto, skopeo), each line as stdout carries it, evaluated by the
 * hand-written stand-in of CloudWatch's JSON patterns (test/support/filter-pattern.ts; moto
 * evaluates none).
 */
import { expect } from "chai";
import { filterSpecs, MetricKey } from "../../components/metrics";
import { EcrSyncWorld, startEcrSyncWorld } from "../../local/world";
import { metricValue } from "../support/filter-pattern";

describe("metric filters on the real copier's result lines", function () {
  this.timeout(90000);
  let world: EcrSyncWorld;
  const stdoutLines: string[] = [];

  before(async function () {
    this.timeout(90000);
    world = await startEcrSyncWorld();
    world.mapRepository("kuali-coeus", "coeus");
    await world.createTargetRepository("coeus", "MUTABLE");
    const first = await world.layout.addImage({ layers: [{ size: 4096 }] });
    await world.pushToSource(first, "kuali-coeus", "v1");
    const moved = await world.layout.addImage({ layers: [{ size: 4096 }], label: "moved" });
    const copy = (tag: string, extra: string[] = []) =>
      world.run([
        "copy",
        "--source-repository",
        "kuali-coeus",
        "--target-repository",
        "coeus",
        "--tag",
        tag,
        ...extra,
      ]);
    const pushedAt = new Date(Date.now() - 5000).toISOString().replace(/\.\d+Z$/, "Z");
    // copied (an event's copy, with its push time), then unchanged
    const runs = [await copy("v1", ["--pushed-at", pushedAt]), await copy("v1")];
    await world.pushToSource(moved, "kuali-coeus", "v1");
    runs.push(await copy("v1", ["--digest", first.digest])); // a late event for the old digest: superseded
    runs.push(await copy("v404")); // no such tag: failed
    const missed = await world.layout.addImage({ layers: [{ size: 4096 }], label: "missed" });
    await world.pushToSource(missed, "kuali-coeus", "v2"); // an event that never came
    runs.push(await world.run(["reconcile"])); // v1 unchanged, v2 copied (a heal), the summary
    for (const run of runs) stdoutLines.push(...run.stdout.split("\n").filter((l) => l.trim() !== ""));
  });

  after(async () => {
    await world?.stop();
  });

  const total = (metric: MetricKey) => {
    const spec = filterSpecs().find((s) => s.metric === metric)!;
    return stdoutLines.map((l) => metricValue(spec.pattern, spec.value, l) ?? 0).reduce((a, b) => a + b, 0);
  };

  it("the script printed the lines this test counts", () => {
    expect(stdoutLines.map((l) => (JSON.parse(l) as { result: string }).result)).to.deep.equal([
      "copied",
      "unchanged",
      "superseded",
      "failed",
      "unchanged",
      "copied",
      "reconcile",
    ]);
  });

  it("counts images copied, failed and superseded, the event copy's latency, one heal and one run", () => {
    expect(total("copied")).to.equal(2);
    expect(total("failed")).to.equal(1);
    expect(total("superseded")).to.equal(1);
    const latency = (JSON.parse(stdoutLines[0]) as { latency_s: number }).latency_s;
    expect(latency).to.be.a("number").and.at.least(5);
    expect(total("latency")).to.equal(latency); // only the line that carries a push time
    expect(total("reconcileHealed")).to.equal(1);
    expect(total("reconcileRuns")).to.equal(1);
    expect(total("invalidDecisions")).to.equal(0);
  });
});

/**
 * The metric filters' patterns (components/metrics.ts) against the result lines the REAL
 * ecr-sync.sh prints today (copied, unchanged, superseded, failed: real registries, moto, skopeo),
 * each line as stdout carries it, evaluated by the hand-written stand-in of CloudWatch's JSON
 * patterns (test/support/filter-pattern.ts; moto evaluates none). The latency fields and the
 * reconcile summary are not printed yet: test/unit/metric-filters.test.ts covers them with lines
 * written to their contract.
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
    const copy = (tag: string, digest?: string) =>
      world.run([
        "copy",
        "--source-repository",
        "kuali-coeus",
        "--target-repository",
        "coeus",
        "--tag",
        tag,
        ...(digest === undefined ? [] : ["--digest", digest]),
      ]);
    const runs = [await copy("v1"), await copy("v1")]; // copied, then unchanged
    await world.pushToSource(moved, "kuali-coeus", "v1");
    runs.push(await copy("v1", first.digest)); // a late event for the old digest: superseded
    runs.push(await copy("v404")); // no such tag: failed
    for (const run of runs) stdoutLines.push(...run.stdout.split("\n").filter((l) => l.trim() !== ""));
  });

  after(async () => {
    await world?.stop();
  });

  const total = (metric: MetricKey) => {
    const spec = filterSpecs().find((s) => s.metric === metric)!;
    return stdoutLines.map((l) => metricValue(spec.pattern, spec.value, l) ?? 0).reduce((a, b) => a + b, 0);
  };

  it("the script printed one copied, unchanged, superseded and failed line", () => {
    expect(stdoutLines.map((l) => (JSON.parse(l) as { result: string }).result)).to.deep.equal([
      "copied",
      "unchanged",
      "superseded",
      "failed",
    ]);
  });

  it("counts one image copied, one failed, one superseded; no latency, heal, run or invalid event", () => {
    expect(total("copied")).to.equal(1);
    expect(total("failed")).to.equal(1);
    expect(total("superseded")).to.equal(1);
    // Today's lines carry no latency_s and there is no summary line: nothing may be published.
    expect(total("latency")).to.equal(0);
    expect(total("reconcileHealed")).to.equal(0);
    expect(total("reconcileRuns")).to.equal(0);
    expect(total("invalidDecisions")).to.equal(0);
  });
});

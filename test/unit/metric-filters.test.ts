/**
 * The metric filters' patterns (components/metrics.ts) against result lines written exactly to
 * the contract of the copier's latency fields and reconcile summary (pushed_at, latency_s,
 * copy_s; the `reconcile` line), which the copier does not print yet, and against lines they must
 * not count. Evaluated by a hand-written stand-in (test/support/filter-pattern.ts: what it does
 * not cover is listed there); test/integration/metric-filters.test.ts does the same with lines
 * the real ecr-sync.sh prints today.
 */
import { expect } from "chai";
import { filterSpecs, FilterSpec, MetricKey } from "../../components/metrics";
import { matches, metricValue, parsePattern } from "../support/filter-pattern";

const spec = (metric: MetricKey): FilterSpec => filterSpecs().find((s) => s.metric === metric)!;
const value = (metric: MetricKey, line: object | string) =>
  metricValue(
    spec(metric).pattern,
    spec(metric).value,
    typeof line === "string" ? line : JSON.stringify(line),
  );

const DIGEST = `sha256:${"a".repeat(64)}`;
const base = {
  source: "770203350335.dkr.ecr.us-east-1.amazonaws.com/kuali-coeus:v1",
  target: "730096353738.dkr.ecr.us-east-1.amazonaws.com/coeus:v1",
  digest: DIGEST,
};
// Written to the contract (H14's fields), not printed by the script yet.
const COPIED_FROM_PUSH = {
  result: "copied",
  ...base,
  pushed_at: "2026-12-01T18:00:00Z",
  latency_s: 42.5,
  copy_s: 12.25,
};
const COPIED_BY_RECONCILE = { result: "copied", ...base, copy_s: 9 };
const SUMMARY = {
  result: "reconcile",
  copied: 3,
  unchanged: 40,
  superseded: 1,
  failed: 0,
  unsupported: 0,
  planned: 44,
  duration_s: 81.2,
};
const HEALTHY_SUMMARY = { ...SUMMARY, copied: 0 };

describe("metric filter patterns (hand-written stand-in evaluator)", () => {
  it("every pattern is within the subset the stand-in evaluates", () => {
    for (const s of filterSpecs()) expect(() => parsePattern(s.pattern), s.metric).not.to.throw();
  });

  it("counts each copied, failed and superseded line once, and nothing else", () => {
    const lines = [
      COPIED_FROM_PUSH,
      COPIED_BY_RECONCILE,
      { result: "failed", ...base, error: "source image does not exist" },
      { result: "superseded", ...base, event_digest: DIGEST },
      { result: "unchanged", ...base },
      { result: "unsupported", ...base },
      SUMMARY,
    ];
    const counts = (metric: MetricKey) => lines.map((l) => value(metric, l) ?? 0).reduce((a, b) => a + b, 0);
    expect(counts("copied")).to.equal(2);
    expect(counts("failed")).to.equal(1);
    expect(counts("superseded")).to.equal(1);
  });

  it("publishes latency_s of a copied line, and nothing for a copy without a push time", () => {
    expect(value("latency", COPIED_FROM_PUSH)).to.equal(42.5);
    expect(value("latency", COPIED_BY_RECONCILE)).to.equal(undefined);
    expect(value("latency", { ...COPIED_FROM_PUSH, latency_s: "42.5" })).to.equal(undefined);
    expect(value("latency", { ...COPIED_FROM_PUSH, result: "unchanged" })).to.equal(undefined);
    expect(value("latency", { ...COPIED_FROM_PUSH, result: "failed" })).to.equal(undefined);
  });

  it("takes the images a reconcile healed from its summary, 0 included, and counts the run", () => {
    expect(value("reconcileHealed", SUMMARY)).to.equal(3);
    expect(value("reconcileHealed", HEALTHY_SUMMARY)).to.equal(0);
    expect(value("reconcileRuns", SUMMARY)).to.equal(1);
    for (const line of [COPIED_FROM_PUSH, COPIED_BY_RECONCILE, { result: "failed", ...base }]) {
      expect(value("reconcileHealed", line)).to.equal(undefined);
      expect(value("reconcileRuns", line)).to.equal(undefined);
    }
  });

  it("counts the push trigger's invalid decisions, not its sent or skipped ones", () => {
    const decision = (d: string) => ({
      decision: d,
      reason: "why",
      repository: "kuali-coeus",
      tag: "v1",
      digest: DIGEST,
    });
    expect(value("invalidDecisions", decision("invalid"))).to.equal(1);
    for (const d of ["sent", "skipped", "unsupported", "failed"])
      expect(value("invalidDecisions", decision(d)), d).to.equal(undefined);
    // A copier line never counts as a decision, nor a decision as a copy.
    expect(value("invalidDecisions", { result: "failed", ...base })).to.equal(undefined);
    expect(value("failed", decision("failed"))).to.equal(undefined);
  });

  it("counts the push trigger's unsupported tags on their own metric, never as invalid events (no page)", () => {
    const line = {
      decision: "unsupported",
      reason: "the tag has 129 characters, longer than an image reference can carry",
      repository: "kuali-coeus",
      tag: "a".repeat(129),
      digest: DIGEST,
    };
    expect(value("unsupportedTags", line)).to.equal(1);
    expect(value("invalidDecisions", line)).to.equal(undefined);
    for (const d of ["sent", "skipped", "invalid", "failed"])
      expect(value("unsupportedTags", { ...line, decision: d }), d).to.equal(undefined);
    // The copier's unsupported result line (a reconcile's) is its own, not the push trigger's.
    expect(value("unsupportedTags", { result: "unsupported", ...base })).to.equal(undefined);
    expect(spec("unsupportedTags").logGroup).to.equal("function");
  });

  it("counts nothing from lines that are not one JSON object (skopeo's and the script's log text)", () => {
    for (const text of ["copied 1 image", 'time=... level=info msg="Copying blob"', '["copied"]', ""]) {
      for (const s of filterSpecs()) expect(matches(s.pattern, text), `${s.metric}: ${text}`).to.equal(false);
    }
  });
});

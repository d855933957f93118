/**
 * The push trigger's metric filters (components/metrics.ts) against its decision lines and lines
 * they must not count, evaluated by a hand-written stand-in of CloudWatch's JSON patterns cut to the
 * one form they use (test/support/filter-pattern.ts). The Lambda writes each line as its own log
 * event, so a JSON filter sees one decision per event. The copier's figures are no filter's: it
 * publishes them itself (test/unit/copier-telemetry.test.ts, test/integration/telemetry-under-agent.test.ts).
 */
import { expect } from "chai";
import { MetricKey } from "../../common/telemetry";
import { filterSpecs, FilterSpec } from "../../components/metrics";
import { metricValue } from "../support/filter-pattern";

const spec = (metric: MetricKey): FilterSpec => filterSpecs().find((s) => s.metric === metric)!;
const value = (metric: MetricKey, line: object | string) =>
  metricValue(
    spec(metric).pattern,
    spec(metric).value,
    typeof line === "string" ? line : JSON.stringify(line),
  );

const DIGEST = `sha256:${"a".repeat(64)}`;
const decision = (d: string, tag = "v1") => ({
  decision: d,
  reason: "why",
  repository: "kuali-coeus",
  tag,
  digest: DIGEST,
});

describe("the push trigger's metric filter patterns (hand-written stand-in evaluator)", () => {
  it("has a filter for invalid events and one for unsupported tags, and no other", () => {
    expect(filterSpecs().map((s) => s.metric)).to.deep.equal(["invalidDecisions", "unsupportedTags"]);
  });

  it("counts the push trigger's invalid decisions, not its sent or skipped ones", () => {
    expect(value("invalidDecisions", decision("invalid"))).to.equal(1);
    for (const d of ["sent", "skipped", "unsupported", "failed"])
      expect(value("invalidDecisions", decision(d)), d).to.equal(undefined);
    // A copier line never counts as a decision.
    expect(value("invalidDecisions", { result: "failed", decision: undefined })).to.equal(undefined);
  });

  it("counts the push trigger's unsupported tags on their own metric, never as invalid events (no page)", () => {
    const line = decision("unsupported", "a".repeat(129));
    expect(value("unsupportedTags", line)).to.equal(1);
    expect(value("invalidDecisions", line)).to.equal(undefined);
    for (const d of ["sent", "skipped", "invalid", "failed"])
      expect(value("unsupportedTags", { ...line, decision: d }), d).to.equal(undefined);
    // The copier's unsupported result line (a reconcile's) is its own figure, not the push trigger's.
    expect(value("unsupportedTags", { result: "unsupported" })).to.equal(undefined);
  });

  it("counts nothing from an event that is not one JSON object", () => {
    const two = `${JSON.stringify(decision("invalid"))}\n${JSON.stringify(decision("invalid"))}`;
    for (const text of ["invalid", '["invalid"]', "", two]) {
      for (const s of filterSpecs())
        expect(value(s.metric, text), `${s.metric}: ${text}`).to.equal(undefined);
    }
  });
});

import { expect } from "chai";
import { ResultLine } from "../../common/result-lines";
import { Clock } from "../../ec2-scripts/copier/clock";
import { Results, ResultSink } from "../../ec2-scripts/copier/results";

/** The one way out for result lines (ec2-scripts/copier/results.ts): stdout, and every sink. */
describe("copier result lines", () => {
  const clock: Clock = { monotonic: () => 2500, wall: () => Date.parse("2026-06-01T12:00:13Z") };
  const images = { source: "src/kuali-coeus:v1", target: "tgt/coeus:v1" };

  it("prints each line as one JSON object and hands the same line to every sink, then waits for their close", async () => {
    const printed: string[] = [];
    const seen: ResultLine[] = [];
    let closed = false;
    const sink: ResultSink = Object.assign((line: ResultLine) => void seen.push(line), {
      close: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        closed = true;
      },
    });
    const results = new Results(
      clock,
      [sink],
      { text: "2026-06-01T12:00:03Z", epochMicros: Date.parse("2026-06-01T12:00:03Z") * 1000 },
      (text) => printed.push(text),
    );
    results.image("copied", { ...images, lockedAt: 1000 }, { digest: "sha256:x" });
    results.image("failed", images, { error: "boom", digest: undefined });
    results.summary(0);
    await results.close();
    expect(closed).to.equal(true);
    expect(printed.map((text) => JSON.parse(text))).to.deep.equal(seen);
    expect(printed.every((text) => text.endsWith("}\n") && !text.slice(0, -1).includes("\n"))).to.equal(true);
    expect(seen).to.deep.equal([
      {
        result: "copied",
        ...images,
        digest: "sha256:x",
        copy_s: 1.5,
        pushed_at: "2026-06-01T12:00:03Z",
        latency_s: 10,
      },
      { result: "failed", ...images, error: "boom" },
      {
        result: "reconcile",
        copied: 1,
        unchanged: 0,
        superseded: 0,
        failed: 1,
        unsupported: 0,
        planned: 0,
        referrers_copied: 0,
        referrers_unsupported: 0,
        referrers_failed: 0,
        duration_s: 2.5,
      },
    ]);
  });

  it("prints the line even when a sink throws", () => {
    const printed: string[] = [];
    const results = new Results(
      clock,
      [
        () => {
          throw new Error("sink down");
        },
      ],
      undefined,
      (text) => printed.push(text),
    );
    results.image("unchanged", { ...images, lockedAt: 2500 }, { digest: "sha256:y" });
    expect(printed).to.deep.equal([
      `${JSON.stringify({ result: "unchanged", ...images, digest: "sha256:y", copy_s: 0 })}\n`,
    ]);
  });
});

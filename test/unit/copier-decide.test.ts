import { expect } from "chai";
import { EXIT } from "../../common/result-lines";
import {
  decideLocked,
  decidePlanned,
  decideVerified,
  LockedInput,
  ManifestRead,
  Origin,
  reconcileExitCode,
} from "../../ec2-scripts/copier/decide";
import { Failure } from "../../ec2-scripts/copier/failure";

/**
 * The copier's decisions as one table each (like regsync's TestProcess): what the registries
 * answered under the tag's lock (source digest, target digest), the digest the run set out with
 * (none, a push event's, a plan's) and the tag's mutability → the line and the exit code, or a
 * copy by the digest the source tag names now. No servers: decide.ts is pure.
 */
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const images = { source: "src.example/kuali-coeus:v1", target: "tgt.example/coeus:v1" };
const found = (digest: string): ManifestRead => ({ kind: "found", digest });
const missing: ManifestRead = { kind: "missing" };
const failedWith = (code: (typeof EXIT)[keyof typeof EXIT]): ManifestRead => ({
  kind: "failed",
  failure: new Failure(code, `failure ${code}`),
});

describe("copier decisions", () => {
  describe("under the tag's lock (decideLocked)", () => {
    type Row = [string, Origin, string | undefined, ManifestRead, ManifestRead, boolean, string];
    // [what, origin, hint, source, target, immutable, expected: "copy DIGEST [stale]" or "RESULT CODE DIGEST FIELD"]
    const rows: Row[] = [
      ["new tag, no hint", "tag", undefined, found(A), missing, false, "copy A"],
      ["new tag, immutable repository", "tag", undefined, found(A), missing, true, "copy A"],
      ["same digest", "tag", undefined, found(A), found(A), false, "unchanged 0 A -"],
      ["same digest, immutable", "tag", undefined, found(A), found(A), true, "unchanged 0 A -"],
      ["moved tag, mutable", "tag", undefined, found(B), found(A), false, "copy B"],
      ["moved tag, immutable", "tag", undefined, found(B), found(A), true, "failed 6 B -"],
      [
        "source tag missing, copy without --digest",
        "tag",
        undefined,
        missing,
        missing,
        false,
        "failed 5 - -",
      ],
      ["event matches", "event", A, found(A), missing, false, "copy A"],
      ["event matches, target has it", "event", A, found(A), found(A), false, "unchanged 0 A -"],
      ["stale event, target behind", "event", A, found(B), found(A), false, "copy B stale"],
      [
        "stale event, target has the newer",
        "event",
        A,
        found(B),
        found(B),
        false,
        "superseded 0 B event_digest=A",
      ],
      [
        "stale event, the tag gone, target empty",
        "event",
        A,
        missing,
        missing,
        false,
        "superseded 0 - event_digest=A",
      ],
      [
        "stale event, the tag gone, target holds one",
        "event",
        A,
        missing,
        found(C),
        false,
        "superseded 0 C event_digest=A",
      ],
      ["stale event, immutable target holding another", "event", A, found(B), found(C), true, "failed 6 B -"],
      ["stale plan, target behind", "plan", A, found(B), missing, false, "copy B stale"],
      ["stale plan, target has it", "plan", A, found(B), found(B), false, "superseded 0 B planned_digest=A"],
      ["source unavailable", "event", A, failedWith(EXIT.unavailable), missing, false, "failed 7 A -"],
      [
        "source refuses the password",
        "tag",
        undefined,
        failedWith(EXIT.auth),
        missing,
        false,
        "failed 4 - -",
      ],
      ["target unavailable", "tag", undefined, found(A), failedWith(EXIT.unavailable), false, "failed 7 A -"],
      [
        "source answer without digest (a failure)",
        "event",
        A,
        failedWith(EXIT.failed),
        found(A),
        false,
        "failed 1 A -",
      ],
    ];
    const name = (digest?: string) =>
      digest === undefined ? "-" : ({ [A]: "A", [B]: "B", [C]: "C" } as Record<string, string>)[digest];
    for (const [what, origin, hint, source, target, immutable, expected] of rows) {
      it(`${what}: ${expected}`, () => {
        const input: LockedInput = { images, origin, hint, source, target, immutable };
        const decision = decideLocked(input);
        const got =
          decision.do === "copy"
            ? `copy ${name(decision.digest)}${decision.stale ? " stale" : ""}`
            : `${decision.result} ${decision.code} ${name(decision.digest)} ${
                decision.staleField ? `${decision.staleField}=${name(decision.staleDigest)}` : "-"
              }`;
        expect(got).to.equal(expected);
      });
    }

    it("never copies a digest other than the one the source tag names now", () => {
      const reads = [found(A), found(B), missing];
      for (const origin of ["tag", "event", "plan"] as const)
        for (const hint of origin === "tag" ? [undefined] : [A, B, C])
          for (const source of reads)
            for (const target of reads)
              for (const immutable of [false, true]) {
                const decision = decideLocked({ images, origin, hint, source, target, immutable });
                if (decision.do === "copy") expect(source).to.deep.equal(found(decision.digest));
                if (decision.do === "report" && decision.result === "unchanged") {
                  expect(target).to.deep.equal(source);
                }
              }
    });
  });

  describe("after the copy (decideVerified)", () => {
    const rows: Array<[string, boolean, ManifestRead, string]> = [
      ["holds the digest", false, found(A), "copied 0"],
      ["holds the digest, stale hint", true, found(A), "superseded 0"],
      ["holds another", false, found(B), "failed 1"],
      ["holds none", false, missing, "failed 1"],
      ["cannot be read", false, failedWith(EXIT.unavailable), "failed 7"],
    ];
    for (const [what, stale, target, expected] of rows) {
      it(`${what}: ${expected}`, () => {
        const report = decideVerified({
          images,
          origin: stale ? "event" : "tag",
          hint: stale ? B : undefined,
          copy: { do: "copy", digest: A, stale },
          target,
        });
        expect(`${report.result} ${report.code}`).to.equal(expected);
        if (report.result === "failed" && target.kind !== "failed") {
          expect(report.error).to.include("after the copy tgt.example/coeus:v1 resolves to");
        }
      });
    }
  });

  describe("a reconcile's plan (decidePlanned)", () => {
    const rows: Array<[string, ManifestRead, ManifestRead, boolean, boolean, string]> = [
      ["in sync", found(A), found(A), false, false, "unchanged 0"],
      ["missing on the target", found(A), missing, false, false, "lock A"],
      ["different on the target", found(A), found(B), false, false, "lock A"],
      ["different, immutable: the lock decides", found(A), found(B), true, false, "lock A"],
      ["dry run, missing", found(A), missing, false, true, "planned 0"],
      ["dry run, immutable conflict", found(A), found(B), true, true, "failed 6"],
      ["deleted since the listing", missing, found(B), false, false, "superseded 0"],
      ["source unavailable", failedWith(EXIT.unavailable), missing, false, false, "failed 7"],
      ["target refuses", found(A), failedWith(EXIT.auth), false, false, "failed 4"],
    ];
    for (const [what, source, target, immutable, dryRun, expected] of rows) {
      it(`${what}: ${expected}`, () => {
        const decision = decidePlanned({ images, source, target, immutable, dryRun });
        const got =
          decision.do === "lock"
            ? `lock ${decision.digest === A ? "A" : "?"}`
            : `${decision.result} ${decision.code}`;
        expect(got).to.equal(expected);
      });
    }
  });

  describe("a reconcile's exit code", () => {
    const rows: Array<[number[], number]> = [
      [[], 0],
      [[7], 7],
      [[7, 7, 7], 7],
      [[6, 6], 6],
      [[7, 4], 1],
      [[5, 6, 7], 1],
    ];
    for (const [codes, expected] of rows) {
      it(`[${codes.join(", ")}] → ${expected}`, () => {
        expect(reconcileExitCode(codes as Array<(typeof EXIT)[keyof typeof EXIT]>)).to.equal(expected);
      });
    }
  });
});

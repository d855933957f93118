/**
 * `npm run status`'s decisions (scripts/status.ts), as plain functions: the arguments, which pair an
 * IMAGE means, which result line is the tag's, and the answer for each state of the two tags and
 * each last result. Against moto, with real credentials and logs: test/system/status.test.ts.
 */
import { expect } from "chai";
import { ImageLine } from "../../common/result-lines";
import { renderStack } from "../../local/render";
import {
  imageLineFor,
  LastResult,
  Pair,
  parseArgs,
  repositoryReport,
  resolveImage,
  RESULTS_LOG_GROUP,
  TagState,
  UsageError,
  verdict,
} from "../../scripts/status";

const MAP = { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" };
const STACKS = ["css", "css-staging", "legacy"];
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const PAIR: Pair = { source: "kuali-coeus", target: "coeus", tag: "1.2.3" };
const LEGACY = "730096353738.dkr.ecr.us-east-1.amazonaws.com";

function usageErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("npm run status: arguments", () => {
  it("takes IMAGE and the flags, profiles by name, css by default", () => {
    expect(parseArgs(["coeus:1.2.3", "--legacy-profile=l", "--css-profile", "c"], STACKS)).to.deep.equal({
      image: { repository: "coeus", tag: "1.2.3" },
      stack: "css",
      cssProfile: "c",
      legacyProfile: "l",
    });
    expect(parseArgs(["--repositories", "--stack", "css-staging"], STACKS)?.image).to.equal(undefined);
    expect(parseArgs(["--help"], STACKS)).to.equal(undefined);
  });

  it("names every problem at once, each with the value", () => {
    const message = usageErrorOf(() => parseArgs(["coeus", "--stack", "prod", "--colour"], STACKS));
    expect(message)
      .to.include('unknown argument "--colour"')
      .and.include('unknown stack "prod": there is no Pulumi.prod.yaml (stacks: css, css-staging, legacy)')
      .and.include('IMAGE "coeus" has no tag: write REPOSITORY:TAG');
  });

  it("refuses a digest, a tag no reference can carry, a bad name, two images, and an image with --repositories", () => {
    expect(usageErrorOf(() => parseArgs([`coeus@${A}`], STACKS))).to.include("give a tag, not a digest");
    expect(usageErrorOf(() => parseArgs(["coeus:-x"], STACKS))).to.include('"-x" is not an image tag');
    expect(usageErrorOf(() => parseArgs(["Coeus:1"], STACKS))).to.include(
      '"Coeus" is not a repository name ECR accepts',
    );
    expect(usageErrorOf(() => parseArgs(["coeus:1", "coeus:2"], STACKS))).to.include("one IMAGE at a time");
    expect(usageErrorOf(() => parseArgs(["--repositories", "coeus:1"], STACKS))).to.include(
      "give it no IMAGE",
    );
  });
});

describe("npm run status: which pair an IMAGE means", () => {
  it("either side's name, or a full reference with its registry", () => {
    expect(resolveImage(MAP, { repository: "kuali-coeus", tag: "1" }, "Pulumi.css.yaml")).to.deep.equal({
      source: "kuali-coeus",
      target: "coeus",
      tag: "1",
    });
    expect(resolveImage(MAP, { repository: "coeus-feature", tag: "1" }, "Pulumi.css.yaml").source).to.equal(
      "kuali-coeus-feature",
    );
    const full = `770203350335.dkr.ecr.us-east-1.amazonaws.com/kuali-coeus`;
    expect(resolveImage(MAP, { repository: full, tag: "1" }, "Pulumi.css.yaml").target).to.equal("coeus");
  });

  it("an unknown repository names the value, the file and the map", () => {
    expect(
      usageErrorOf(() => resolveImage(MAP, { repository: "research", tag: "1" }, "Pulumi.css.yaml")),
    ).to.equal(
      '"research" (in IMAGE "research:1") is neither a source nor a target repository of Pulumi.css.yaml\'s map ' +
        "(kuali-coeus → coeus, kuali-coeus-feature → coeus-feature): name one of them, or add the mapping first " +
        "(docs/runbook.md#add-a-mapping)",
    );
  });

  it("takes a result line only for exactly that target tag", () => {
    const line = (target: string) => JSON.stringify({ result: "failed", source: "s", target, error: "e" });
    expect(imageLineFor(line(`${LEGACY}/coeus:1.2.3`), PAIR)?.error).to.equal("e");
    for (const other of [`${LEGACY}/coeus:1.2.3-rc1`, `${LEGACY}/team/coeus:1.2.3`, `${LEGACY}/coeus:11.2.3`])
      expect(imageLineFor(line(other), PAIR), other).to.equal(undefined);
    expect(imageLineFor('{"result":"reconcile","copied":1}', PAIR)).to.equal(undefined);
    expect(imageLineFor("not json", PAIR)).to.equal(undefined);
    // A referrer's line names the tag too, but is about its signature or SBOM, not the image.
    const referrer = JSON.stringify({
      result: "unsupported",
      source: "s",
      target: `${LEGACY}/coeus:1.2.3`,
      referrer: `sha256:${"b".repeat(64)}`,
      subject: `sha256:${"a".repeat(64)}`,
      reason: "405",
    });
    expect(imageLineFor(referrer, PAIR)).to.equal(undefined);
  });
});

describe("npm run status: the answer", () => {
  const at = new Date("2026-12-07T05:00:00.000Z");
  const digest = (d: string, pushedAt?: Date): TagState => ({ kind: "digest", digest: d, pushedAt });
  const last = (result: ImageLine["result"], extra: Partial<ImageLine> = {}): LastResult => ({
    at,
    line: { result, source: "s", target: `${LEGACY}/coeus:1.2.3`, ...extra },
  });
  const text = (v: { lines: readonly string[] }) => v.lines.join("\n");

  const cases: Array<{
    name: string;
    source: TagState;
    target: TagState;
    last?: LastResult;
    inSync: boolean;
    says: string[];
  }> = [
    {
      name: "same digest: in sync",
      source: digest(A),
      target: digest(A),
      inSync: true,
      says: [`in sync: css kuali-coeus:1.2.3 and legacy coeus:1.2.3 both hold ${A}.`],
    },
    {
      name: "another digest in legacy, last copied before the css tag moved: the copy should follow",
      source: digest(B, new Date(at.getTime() + 60_000)),
      target: digest(A),
      last: last("copied", { digest: A }),
      inSync: false,
      says: [
        `legacy coeus:1.2.3 holds ${A}, css kuali-coeus:1.2.3 holds ${B}`,
        "pushed again after that result",
      ],
    },
    {
      name: "another digest in legacy, the css tag unchanged since the copy: legacy was changed",
      source: digest(B, new Date(at.getTime() - 60_000)),
      target: digest(A),
      last: last("copied", { digest: B }),
      inSync: false,
      says: ["the legacy tag changed after that result", "#lifecycle-policies-on-the-legacy-repositories"],
    },
    {
      name: "missing, last failed: the error and the failed-command section",
      source: digest(A),
      target: { kind: "no-tag" },
      last: last("failed", { error: "target: 403" }),
      inSync: false,
      says: ["last result (2026-12-07T05:00:00Z): failed: target: 403", "docs/runbook.md#failed-command"],
    },
    {
      name: "missing, last a dry run: nothing was copied",
      source: digest(A),
      target: { kind: "no-tag" },
      last: last("planned", { digest: A }),
      inSync: false,
      says: ["a reconcile --dry-run: nothing was copied", "docs/runbook.md#backfill-now"],
    },
    {
      name: "missing, no result: dead letters, the worker, backfill",
      source: digest(A),
      target: { kind: "no-tag" },
      inSync: false,
      says: ["no result for coeus:1.2.3", "#dead-letters", "#worker-not-ready", "#backfill-now"],
    },
    {
      name: "no legacy repository: create it",
      source: digest(A),
      target: { kind: "no-repository" },
      inSync: false,
      says: ["legacy has no repository coeus: copies to it fail (exit 5); create it"],
    },
    {
      name: "no css tag: nothing to copy",
      source: { kind: "no-tag" },
      target: { kind: "no-tag" },
      inSync: false,
      says: ["css kuali-coeus:1.2.3 does not exist, so there is nothing to copy"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const answer = verdict(PAIR, c.source, c.target, c.last);
      expect(answer.inSync).to.equal(c.inSync);
      for (const s of c.says) expect(text(answer)).to.include(s);
    });
  }

  it("--repositories: a missing legacy repository gets its create command; an immutable one under a mutable source a warning", () => {
    const report = repositoryReport(
      [
        {
          source: { name: "kuali-coeus", mutability: "MUTABLE" },
          target: { name: "coeus", mutability: "IMMUTABLE", scanOnPush: true },
        },
        {
          source: { name: "kuali-coeus-feature", mutability: "MUTABLE" },
          target: { name: "coeus-feature", mutability: undefined },
        },
      ],
      { source: "770203350335", target: "730096353738", region: "us-east-1" },
    );
    expect(report.inSync).to.equal(false);
    expect(text(report))
      .to.include("  kuali-coeus → coeus: css MUTABLE; legacy IMMUTABLE, scan on push")
      .and.include("a css tag pushed again fails to copy with exit 6")
      .and.include(
        "aws ecr create-repository --region us-east-1 --repository-name coeus-feature --image-tag-mutability MUTABLE --image-scanning-configuration scanOnPush=true",
      );
  });
});

describe("npm run status: what it reads is what the stack makes", function () {
  this.timeout(60000);

  it("the results log group is the css stack's resultsLogGroupName output", async () => {
    const css = await renderStack("css");
    expect(css.outputs.resultsLogGroupName).to.equal(RESULTS_LOG_GROUP);
  });
});

/**
 * The push trigger's event pattern (components/patterns.ts): its shape, its input checks, and what
 * it matches when a real matcher evaluates it.
 *
 * The matcher is moto's EventBridge: a rule with the pattern and an SQS target, PutEvents with
 * one event per case, and the queue shows which events the rule let through. (moto 5.2 does not
 * implement TestEventPattern — the call answers nothing — so routing through a rule is the honest
 * way to have moto evaluate the pattern.) moto's matcher treats `exists` and `anything-but` as the
 * EventBridge documentation describes: a pattern field never matches a field the event lacks,
 * except `exists: false`. It is still an emulator; the ADR records what AWS itself documents.
 */
import { expect } from "chai";
import { pushEventPattern } from "../../components/patterns";
import { MotoServer, startMoto } from "../../local/moto";

const MAPPED = ["kuali-coeus", "kuali-coeus-feature"];

describe("push event pattern (components/patterns.ts)", () => {
  it("matches successful tagged ECR pushes to the mapped repositories, names sorted", () => {
    expect(pushEventPattern(["kuali-coeus-feature", "kuali-coeus"])).to.deep.equal({
      source: ["aws.ecr"],
      "detail-type": ["ECR Image Action"],
      detail: {
        "action-type": ["PUSH"],
        result: ["SUCCESS"],
        "repository-name": ["kuali-coeus", "kuali-coeus-feature"],
        "image-tag": [{ "anything-but": [""] }],
      },
    });
  });

  it("renders the same JSON whatever the order of the repositories", () => {
    expect(JSON.stringify(pushEventPattern(["b-repo", "a-repo"]))).to.equal(
      JSON.stringify(pushEventPattern(["a-repo", "b-repo"])),
    );
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ["an empty list", [], /^sourceRepositories: expected a non-empty list of ECR repository names, got \[\]/],
    [
      "a name ECR would reject",
      ["kuali-coeus", "Kuali_Coeus"],
      /^sourceRepositories\[1\]: "Kuali_Coeus" is not a valid ECR repository name/,
    ],
    [
      "a repository listed twice",
      ["kuali-coeus", "kuali-coeus"],
      /^sourceRepositories\[1\]: "kuali-coeus" is listed twice/,
    ],
    [
      "an ARN instead of a name",
      ["arn:aws:ecr:us-east-1:770203350335:repository/kuali-coeus"],
      /^sourceRepositories\[0\]: "arn:aws:ecr:.*" is not a valid ECR repository name/,
    ],
    ["not a list", "kuali-coeus", /^sourceRepositories: expected a non-empty list/],
  ];
  for (const [what, input, message] of rejected) {
    it(`rejects ${what}`, () => {
      expect(() => pushEventPattern(input as string[])).to.throw(Error, message);
    });
  }
});

describe("push event pattern, evaluated by moto's EventBridge matcher", function () {
  // moto's start and some fifteen aws CLI calls (a Python start each): about 15 s on 2 quiet cores,
  // over the 60 s this had on a busy machine, where the hook timed out while nothing was wrong.
  this.timeout(180000);
  let moto: MotoServer;

  /** An ECR push event as ECR sends it; `detail` entries set to undefined are left out. */
  function ecrEvent(
    id: string,
    detail: Record<string, string | undefined>,
    source = "aws.ecr",
    detailType = "ECR Image Action",
  ) {
    const base = {
      "action-type": "PUSH",
      result: "SUCCESS",
      "repository-name": "kuali-coeus",
      "image-digest": `sha256:${id.padStart(64, "0")}`,
      "image-tag": "v1.2.3",
      ...detail,
    };
    return { Source: source, DetailType: detailType, Detail: JSON.stringify(base) };
  }

  const cases: Array<{ name: string; id: string; event: ReturnType<typeof ecrEvent>; matches: boolean }> = [
    { name: "a tagged push to kuali-coeus", id: "a1", event: ecrEvent("a1", {}), matches: true },
    {
      name: "a tagged push to kuali-coeus-feature",
      id: "a2",
      event: ecrEvent("a2", { "repository-name": "kuali-coeus-feature", "image-tag": "feature-x" }),
      matches: true,
    },
    {
      name: "an untagged push (a per-platform manifest of a multi-arch push has no image-tag)",
      id: "b1",
      event: ecrEvent("b1", { "image-tag": undefined }),
      matches: false,
    },
    {
      name: "a push with an empty image-tag",
      id: "b2",
      event: ecrEvent("b2", { "image-tag": "" }),
      matches: false,
    },
    {
      name: "a tagged push to an unmapped repository",
      id: "b3",
      event: ecrEvent("b3", { "repository-name": "kuali-other" }),
      matches: false,
    },
    {
      name: "a tagged push to a repository whose name starts like a mapped one",
      id: "b4",
      event: ecrEvent("b4", { "repository-name": "kuali-coeus-feature-x" }),
      matches: false,
    },
    { name: "a failed push", id: "b5", event: ecrEvent("b5", { result: "FAILURE" }), matches: false },
    {
      name: "an image deletion",
      id: "b6",
      event: ecrEvent("b6", { "action-type": "DELETE" }),
      matches: false,
    },
    {
      name: "the same detail from another source",
      id: "b7",
      event: ecrEvent("b7", {}, "my.app"),
      matches: false,
    },
    {
      name: "an image scan event",
      id: "b8",
      event: ecrEvent("b8", {}, "aws.ecr", "ECR Image Scan"),
      matches: false,
    },
  ];

  const delivered = new Set<string>();

  before(async () => {
    moto = await startMoto();
    const received = await moto.deliveredBy(
      pushEventPattern(MAPPED),
      cases.map((c) => c.event),
    );
    for (const event of received) delivered.add(String(event.detail["image-digest"]));
  });

  after(async () => {
    await moto?.stop();
  });

  for (const { name, id, matches } of cases) {
    it(`${matches ? "delivers" : "skips"} ${name}`, () => {
      expect(delivered.has(`sha256:${id.padStart(64, "0")}`)).to.equal(matches);
    });
  }
});

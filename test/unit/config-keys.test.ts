import { expect } from "chai";
import {
  CONFIG_DEFAULTS,
  editDistance,
  nearestKey,
  parseStackConfig,
  qualifiedStackName,
} from "../../components/config";
import { problemsOf, rawFor } from "../support/config";

describe("stack config keys (components/config-keys.ts)", () => {
  describe("a key the program does not read is refused, with the nearest real key", () => {
    const misspelt: [string, string, string][] = [
      ["css", "alertEmai", "alertEmail"],
      ["css", "logRetentionDay", "logRetentionDays"],
      ["legacy", "sourceStak", "sourceStack"],
      ["css", "Repositories", "repositories"],
      ["css", "workerInstancetype", "workerInstanceType"],
    ];
    for (const [stack, wrong, right] of misspelt) {
      it(`ecr-sync:${wrong} on ${stack}: did you mean ecr-sync:${right}?`, () => {
        const problems = problemsOf(rawFor(stack, { [`ecr-sync:${wrong}`]: "x" }));
        expect(problems).to.have.length(1);
        expect(problems[0])
          .to.include(`ecr-sync:${wrong} in Pulumi.${stack}.yaml is not a key this program reads`)
          .and.include(`did you mean ecr-sync:${right}?`)
          .and.include(`pulumi config rm ecr-sync:${wrong} -s ${stack})`);
      });
    }

    it("lists the real keys when none is near", () => {
      const [problem] = problemsOf(rawFor("css", { "ecr-sync:colour": "blue" }));
      expect(problem)
        .to.include("ecr-sync:colour in Pulumi.css.yaml is not a key")
        .and.not.include("did you mean");
      expect(problem).to.include("ecr-sync:participant, ecr-sync:sourceAccountId");
    });

    it("a mapping line indented as a key of its own (read as ecr-sync:<source>) says to indent it under ecr-sync:repositories", () => {
      const [problem] = problemsOf(rawFor("css", { "ecr-sync:kuali-coeus-api": "coeus-api" }));
      expect(problem)
        .to.include("ecr-sync:kuali-coeus-api in Pulumi.css.yaml is not a key this program reads")
        .and.include("indent it under ecr-sync:repositories like the lines above it")
        .and.include("pulumi config rm ecr-sync:kuali-coeus-api -s css");
      // A legacy stack has no mapping to indent under.
      const [onLegacy] = problemsOf(rawFor("legacy", { "ecr-sync:kuali-coeus-api": "coeus-api" }));
      expect(onLegacy).to.include("is not a key this program reads").and.not.include("indent it");
    });

    it("a key in a namespace a slip away from ecr-sync is refused, not ignored", () => {
      for (const namespace of ["ecr_sync", "ecrsync", "ECR-sync"]) {
        expect(problemsOf(rawFor("css", { [`${namespace}:reconcileSchedule`]: "off" }))).to.deep.equal([
          `${namespace}:reconcileSchedule in Pulumi.css.yaml is in namespace ${namespace}, which this program does not read, so it would be ignored: did you mean ecr-sync:reconcileSchedule? rename it`,
        ]);
      }
      // Provider and Pulumi keys are not the program's to refuse.
      expect(
        parseStackConfig(rawFor("css", { "aws:profile": "css", "pulumi:tags": "{}" })).participant,
      ).to.equal("source");
    });

    it("finds the nearest key by edit distance, not by prefix", () => {
      expect(editDistance("alertEmai", "alertEmail")).to.equal(1);
      expect(editDistance("kitten", "sitting")).to.equal(3);
      expect(editDistance("", "abc")).to.equal(3);
      expect(nearestKey("targetAcountId")).to.equal("targetAccountId");
      expect(nearestKey("sourceAcountId")).to.equal("sourceAccountId");
      expect(nearestKey("reconcile")).to.equal(undefined);
    });
  });

  describe("a key of the other stack is refused unless it equals its declared default", () => {
    it("a css-only key with its own value on the legacy stack", () => {
      const problems = problemsOf(rawFor("legacy", { "ecr-sync:alertEmail": "oncall@example.edu" }));
      expect(problems).to.deep.equal([
        'ecr-sync:alertEmail is set to "oncall@example.edu" on a target (legacy) stack, but only a source (css) stack reads it: remove it here (pulumi config rm ecr-sync:alertEmail -s legacy) and set it on the source (css) stack',
      ]);
      expect(problemsOf(rawFor("legacy", { "ecr-sync:logRetentionDays": "30" }))[0]).to.include(
        "ecr-sync:logRetentionDays",
      );
    });

    it("a legacy-only key with its own value on the css stack", () => {
      const [problem] = problemsOf(rawFor("css", { "ecr-sync:sourceStack": "organization/ecr-sync/blue" }));
      expect(problem).to.include(
        'ecr-sync:sourceStack is set to "organization/ecr-sync/blue" on a source (css) stack, but only a target (legacy) stack reads it',
      );
    });

    it("passes a wrong-stack key equal to its default, which the CLI puts into every stack", () => {
      const legacy = rawFor("legacy");
      // The CLI's injection, as readStackConfig reproduces it.
      expect(legacy.values.reconcileSchedule).to.equal(CONFIG_DEFAULTS.reconcileSchedule);
      expect(legacy.values.logRetentionDays).to.equal("90");
      expect(parseStackConfig(legacy).participant).to.equal("target");
      expect(parseStackConfig(rawFor("legacy", { "ecr-sync:targetRoleName": "ecr-sync-target" }))).to.include(
        {
          participant: "target",
        },
      );
      expect(
        parseStackConfig(rawFor("css", { "ecr-sync:sourceStack": "organization/ecr-sync/css" })),
      ).to.include({ participant: "source" });
    });

    it("still refuses a mapping on the legacy stack, which has no declared default", () => {
      expect(
        problemsOf(rawFor("legacy", { "ecr-sync:repositories": { "kuali-coeus": "coeus" } })),
      ).to.deep.equal([
        "ecr-sync:repositories is set on a target stack: the mapping lives in the css stack's config only (Pulumi.css.yaml) and the legacy stack reads it from the css stack; remove it here",
      ]);
    });
  });

  describe("a target stack that would reference itself is refused", () => {
    it("names the key, its value and both ways out", () => {
      const [problem] = problemsOf(
        rawFor("legacy", { "ecr-sync:sourceStack": "organization/ecr-sync/legacy" }),
      );
      expect(problem)
        .to.include('ecr-sync:sourceStack is "organization/ecr-sync/legacy", this stack itself')
        .and.include("set ecr-sync:sourceStack to the css stack's name")
        .and.include("set ecr-sync:participant to source");
    });

    it("resolves short stack names as Pulumi does, within this organization and project", () => {
      expect(problemsOf(rawFor("legacy", { "ecr-sync:sourceStack": "legacy" }))[0]).to.include(
        "this stack itself",
      );
      expect(problemsOf(rawFor("legacy", { "ecr-sync:sourceStack": "ecr-sync/legacy" }))[0]).to.include(
        "this stack itself",
      );
      expect(qualifiedStackName("css", "organization/ecr-sync/legacy")).to.equal("organization/ecr-sync/css");
      expect(qualifiedStackName("other/css", "organization/ecr-sync/legacy")).to.equal(
        "organization/other/css",
      );
      expect(qualifiedStackName("acme/ecr-sync/legacy", "organization/ecr-sync/legacy")).to.equal(
        "acme/ecr-sync/legacy",
      );
    });

    it("says when the self-reference comes from the default (the css stack set to participant target)", () => {
      const problems = problemsOf(
        rawFor("css", {
          "ecr-sync:participant": "target",
          "ecr-sync:repositories": null,
          "aws:allowedAccountIds": ["730096353738"],
        }),
      );
      // Pulumi.css.yaml's alertEmail (css only, no default) is refused on a target stack too.
      expect(problems).to.have.length(2);
      expect(problems.find((p) => p.startsWith("ecr-sync:sourceStack"))).to.include(
        'ecr-sync:sourceStack is "organization/ecr-sync/css" (its default), this stack itself',
      );
      expect(problems.find((p) => p.startsWith("ecr-sync:alertEmail"))).to.include(
        "only a source (css) stack reads it",
      );
    });
  });
});

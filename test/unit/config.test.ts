import { expect } from "chai";
import { heartbeatHours } from "../../components/heartbeat";
import {
  RawStackConfig,
  checkSourceStackOutputs,
  parseReconcileSchedule,
  parseStackConfig,
} from "../../components/config";
import { problemsOf, rawFor } from "../support/config";

function expectProblem(raw: RawStackConfig, ...fragments: string[]): void {
  const problems = problemsOf(raw);
  const match = problems.find((p) => fragments.every((f) => p.includes(f)));
  expect(match, `a problem containing ${JSON.stringify(fragments)} among:\n${problems.join("\n")}`).to.be.a(
    "string",
  );
}

describe("stack config (components/config.ts)", () => {
  describe("the real stack files", () => {
    it("css parses to a source stack in 770203350335 with the two Kuali mappings and the defaults", () => {
      const s = parseStackConfig(rawFor("css"));
      expect(s).to.deep.equal({
        participant: "source",
        region: "us-east-1",
        accountId: "770203350335",
        sourceAccountId: "770203350335",
        targetAccountId: "730096353738",
        repositories: { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" },
        targetRoleName: "ecr-sync-target",
        workerInstanceType: "t4g.small",
        workerSubnetId: undefined,
        workerAmiParameter: "/aws/service/debian/release/13/latest/arm64",
        logRetentionDays: 90,
        alertEmail: undefined,
        reconcileSchedule: "rate(1 day)",
        reconcileParallelism: 4,
        copyReferrers: true,
        latencyAlarmSeconds: 900,
        runbook: "docs/runbook.md",
      });
    });

    it("legacy parses to a target stack in 730096353738 that references organization/ecr-sync/css", () => {
      expect(parseStackConfig(rawFor("legacy"))).to.deep.equal({
        participant: "target",
        region: "us-east-1",
        accountId: "730096353738",
        sourceAccountId: "770203350335",
        targetAccountId: "730096353738",
        sourceStack: "organization/ecr-sync/css",
      });
    });
  });

  describe("errors name the key and the value", () => {
    it("an unknown participant", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:participant": "primary" }),
        "ecr-sync:participant",
        '"primary"',
        "source",
        "target",
      );
    });

    it("a missing participant", () => {
      expectProblem(rawFor("css", { "ecr-sync:participant": null }), "ecr-sync:participant is missing");
    });

    it("a malformed source account id", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:sourceAccountId": "77020335033" }),
        "ecr-sync:sourceAccountId",
        '"77020335033"',
        "12-digit",
      );
    });

    it("a malformed target account id", () => {
      expectProblem(
        rawFor("legacy", { "ecr-sync:targetAccountId": "7300-9635-3738" }),
        "ecr-sync:targetAccountId",
        '"7300-9635-3738"',
      );
    });

    it("a missing account id", () => {
      expectProblem(
        rawFor("legacy", { "ecr-sync:sourceAccountId": null }),
        "ecr-sync:sourceAccountId is missing",
      );
    });

    it("an account id that lost its leading zero (unquoted in YAML) says to quote it, naming the file", () => {
      // What pulumi up passes for an unquoted 030096353738: yaml.v3 reads it as the number 30096353738.
      expectProblem(
        rawFor("css", { "ecr-sync:targetAccountId": "30096353738" }),
        'ecr-sync:targetAccountId: "30096353738" is not a 12-digit AWS account id',
        "if Pulumi.css.yaml writes it without quotes and it starts with 0",
        'quote it ("0…")',
      );
      expectProblem(
        rawFor("css", { "aws:allowedAccountIds": [70203350335] }),
        "aws:allowedAccountIds: [70203350335] lists a number",
        'write the id in quotes in Pulumi.css.yaml (- "770203350335")',
        "lost the zero",
      );
      // Twelve digits or letters: no talk of zeros.
      const [problem] = problemsOf(rawFor("legacy", { "ecr-sync:sourceAccountId": "7702-0335-0335" }));
      expect(problem).to.include("12-digit").and.not.include("quote");
    });

    it("the same account on both sides", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:targetAccountId": "770203350335" }),
        "ecr-sync:sourceAccountId and ecr-sync:targetAccountId",
        '"770203350335"',
      );
    });

    it("allowedAccountIds that do not match the participant's account", () => {
      expectProblem(
        rawFor("css", { "aws:allowedAccountIds": ["730096353738"] }),
        "aws:allowedAccountIds",
        '"730096353738"',
        'ecr-sync:sourceAccountId "770203350335"',
      );
    });

    it("allowedAccountIds missing or listing more than one account", () => {
      expectProblem(rawFor("css", { "aws:allowedAccountIds": null }), "aws:allowedAccountIds is missing");
      expectProblem(
        rawFor("css", { "aws:allowedAccountIds": ["770203350335", "730096353738"] }),
        "aws:allowedAccountIds",
        "exactly one",
      );
    });

    it("a missing or malformed region", () => {
      expectProblem(rawFor("css", { "aws:region": null }), "aws:region is missing");
      expectProblem(rawFor("css", { "aws:region": "US East" }), "aws:region", '"US East"');
    });

    it("a repository name ECR would reject", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": { Kuali_Coeus: "coeus" } }),
        'ecr-sync:repositories["Kuali_Coeus"]',
        "not a valid ECR repository name",
      );
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": { "kuali-coeus": "coeus--" } }),
        'ecr-sync:repositories["kuali-coeus"]',
        '"coeus--"',
      );
    });

    it("two sources mapped to one target", () => {
      expectProblem(
        rawFor("css", {
          "ecr-sync:repositories": { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus" },
        }),
        '"kuali-coeus" and "kuali-coeus-feature" are both mapped to "coeus"',
      );
    });

    it("a repository mapped to itself", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": { coeus: "coeus" } }),
        'ecr-sync:repositories["coeus"] maps the repository to itself',
      );
    });

    it("an empty mapping", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": {} }),
        "ecr-sync:repositories is an empty object",
      );
    });

    it("a mapping that is not an object", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": ["kuali-coeus"] }),
        "ecr-sync:repositories",
        "not an object",
      );
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": "kuali-coeus=coeus" }),
        "ecr-sync:repositories",
        '"kuali-coeus=coeus"',
      );
    });

    it("a missing mapping on the css stack", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:repositories": null }),
        "ecr-sync:repositories is missing",
        "pulumi config set --path",
      );
    });

    it("a mapping on the legacy stack, which must read it from css", () => {
      expectProblem(
        rawFor("legacy", { "ecr-sync:repositories": { "kuali-coeus": "coeus" } }),
        "ecr-sync:repositories is set on a target stack",
      );
    });

    it("a malformed source stack name", () => {
      expectProblem(
        rawFor("legacy", { "ecr-sync:sourceStack": "org/ecr-sync/css/extra" }),
        "ecr-sync:sourceStack",
        '"org/ecr-sync/css/extra"',
      );
    });

    it("a retention CloudWatch does not accept", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:logRetentionDays": "45" }),
        "ecr-sync:logRetentionDays",
        '"45"',
      );
    });

    it("an instance type whose architecture does not match the AMI", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:workerInstanceType": "t3.small" }),
        "ecr-sync:workerAmiParameter",
        "arm64",
        'ecr-sync:workerInstanceType "t3.small" is x86_64',
      );
      expect(
        parseStackConfig(
          rawFor("css", {
            "ecr-sync:workerInstanceType": "t3.small",
            "ecr-sync:workerAmiParameter": "/aws/service/debian/release/13/latest/amd64",
          }),
        ),
      ).to.include({ workerInstanceType: "t3.small" });
    });

    it("a malformed subnet id, instance type, AMI parameter or role name", () => {
      expectProblem(
        rawFor("css", { "ecr-sync:workerSubnetId": "subnet-xyz" }),
        "ecr-sync:workerSubnetId",
        '"subnet-xyz"',
      );
      expectProblem(
        rawFor("css", { "ecr-sync:workerInstanceType": "small" }),
        "ecr-sync:workerInstanceType",
        '"small"',
      );
      expectProblem(
        rawFor("css", { "ecr-sync:workerAmiParameter": "ami-0123" }),
        "ecr-sync:workerAmiParameter",
        '"ami-0123"',
      );
      expectProblem(
        rawFor("css", { "ecr-sync:targetRoleName": "has space" }),
        "ecr-sync:targetRoleName",
        '"has space"',
      );
    });

    it("an alertEmail that is not one e-mail address", () => {
      for (const bad of [
        "oncall",
        "oncall@",
        "@example.edu",
        "on call@example.edu",
        "a@example.edu,b@example.edu",
        "oncall@example",
      ]) {
        expectProblem(
          rawFor("css", { "ecr-sync:alertEmail": bad }),
          "ecr-sync:alertEmail",
          JSON.stringify(bad),
          "neither one e-mail address nor none",
          "set it to one e-mail address",
          "or to none if another endpoint",
        );
      }
    });

    it("a missing alertEmail, naming both choices (an address, or none)", () => {
      for (const missing of [null, "", "  "]) {
        expectProblem(
          rawFor("css", { "ecr-sync:alertEmail": missing }),
          "ecr-sync:alertEmail is missing",
          "set it to one e-mail address",
          "or to none if another endpoint (chat, paging) is subscribed to the alertTopicArn output",
        );
      }
    });

    it("a latencyAlarmSeconds that is not a whole number of seconds from 60 to 86400", () => {
      for (const bad of ["59", "86401", "15m", "900.5", "-900", "0"]) {
        expectProblem(
          rawFor("css", { "ecr-sync:latencyAlarmSeconds": bad }),
          "ecr-sync:latencyAlarmSeconds",
          JSON.stringify(bad),
          "not a whole number of seconds from 60 to 86400",
        );
      }
      const seconds = (text: string) =>
        (
          parseStackConfig(rawFor("css", { "ecr-sync:latencyAlarmSeconds": text })) as {
            latencyAlarmSeconds: number;
          }
        ).latencyAlarmSeconds;
      expect([seconds("60"), seconds("1800"), seconds("86400")]).to.deep.equal([60, 1800, 86400]);
    });

    it("a runbookUrl that is not an https address without a #section (alerts link it; unset, they name the path)", () => {
      for (const [bad, reason] of [
        ["http://wiki.example.org/runbook", "is not an https web address"],
        ["docs/runbook.md", "is not an https web address"],
        ["https://github.com/org/ecr-sync/blob/main/docs/runbook.md#dead-letters", "has a #section"],
        [
          "https://bot:ghp_secret@github.com/org/ecr-sync/blob/main/docs/runbook.md",
          "carries a user name or password",
        ],
        ["https://example.org/run book.md", "holds a space, a quote"],
        ['https://example.org/"runbook"', "holds a space, a quote"],
        ["https://example.org/<runbook>", "holds a space, a quote"],
        ["https://example.org/`runbook`", "holds a space, a quote"],
        ["https://example.org/run\u200bbook", "holds a space, a quote"],
        [`https://example.org/${"r".repeat(400)}`, "is longer than 400 characters"],
      ]) {
        expectProblem(rawFor("css", { "ecr-sync:runbookUrl": bad }), "ecr-sync:runbookUrl", reason);
      }
      const runbook = (text: string | undefined) =>
        (
          parseStackConfig(rawFor("css", text === undefined ? {} : { "ecr-sync:runbookUrl": text })) as {
            runbook: string;
          }
        ).runbook;
      const address = "https://github.com/org/ecr-sync/blob/main/docs/runbook.md";
      expect([runbook(undefined), runbook(""), runbook(address)]).to.deep.equal([
        "docs/runbook.md",
        "docs/runbook.md",
        address,
      ]);
    });

    it("a reconcileParallelism that is not a whole number of copies from 1 to 16", () => {
      for (const bad of ["0", "17", "2.5", "x", "-4", "4 copies", "1e1"]) {
        expect(problemsOf(rawFor("css", { "ecr-sync:reconcileParallelism": bad }))).to.deep.equal([
          `ecr-sync:reconcileParallelism: ${JSON.stringify(bad)} is not a whole number of copies from 1 to 16 (e.g. 4)`,
        ]);
      }
      // Only the css stack's worker reconciles.
      expectProblem(
        rawFor("legacy", { "ecr-sync:reconcileParallelism": "8" }),
        'ecr-sync:reconcileParallelism is set to "8" on a target (legacy) stack',
      );
    });

    it("accepts a reconcileParallelism from 1 to 16, and 4 when it is not set", () => {
      const copies = (value: unknown) =>
        (
          parseStackConfig(rawFor("css", { "ecr-sync:reconcileParallelism": value })) as {
            reconcileParallelism: number;
          }
        ).reconcileParallelism;
      expect([copies("1"), copies("8"), copies(16), copies(" 2 "), copies(null), copies("")]).to.deep.equal([
        1, 8, 16, 2, 4, 4,
      ]);
    });

    it("copyReferrers: true unless set to false; anything else is refused, naming the value", () => {
      const flag = (value: unknown) =>
        (parseStackConfig(rawFor("css", { "ecr-sync:copyReferrers": value })) as { copyReferrers: boolean })
          .copyReferrers;
      expect([flag("false"), flag(false), flag("true"), flag(true), flag(null)]).to.deep.equal([
        false,
        false,
        true,
        true,
        true,
      ]);
      expect(problemsOf(rawFor("css", { "ecr-sync:copyReferrers": "no" }))).to.deep.equal([
        'ecr-sync:copyReferrers: "no" is not true or false (true: an image\'s signatures and SBOMs travel with it; false: images only)',
      ]);
    });

    it("a reconcileSchedule Scheduler would refuse or that does not recur", () => {
      const cases: Array<[string, string]> = [
        ["daily", "is not a schedule expression"],
        ["rate(1 days)", 'write "rate(1 day)"'],
        ["rate(2 hour)", 'write "rate(2 hours)"'],
        ["rate(0 minutes)", "at least 1"],
        ["rate(1 week)", "is not a schedule expression"],
        ["cron(0 6 * * *)", "has 5 cron fields"],
        ["cron(0 6 * * * *)", "? in exactly one of day-of-month and day-of-week"],
        ["cron(0 6 ? * ? *)", "? in exactly one of day-of-month and day-of-week"],
        ["cron(0 6 * * ? ;id)", "a character a cron field does not take"],
        ["at(2030-01-01T00:00:00)", "one-time schedule"],
        ["Off", "is not a schedule expression"],
      ];
      for (const [bad, why] of cases) {
        expectProblem(
          rawFor("css", { "ecr-sync:reconcileSchedule": bad }),
          "ecr-sync:reconcileSchedule",
          JSON.stringify(bad),
          why,
          '"off"',
        );
      }
    });

    it("a reconcileSchedule the no-reconcile alarm cannot wait for, with the reason", () => {
      const cases: Array<[string, string]> = [
        ["rate(10 days)", "runs every 240 hours, but the no-reconcile alarm fires after at most 168 hours"],
        ["rate(7 days)", "runs every 168 hours"],
        ["rate(167 hours)", "run it at least every 166 hours (rate(6 days) at most)"],
        ["rate(10020 minutes)", "runs every 167 hours"],
        ["cron(0 6 ? * MON *)", "does not run every day, but the no-reconcile alarm fires after 26 hours"],
        ["cron(15 2 ? * MON-FRI *)", "does not run every day"],
        ["cron(0 6 1 * ? *)", "does not run every day"],
        ["cron(0 6 * 1-6 ? *)", "does not run every day"],
        ["cron(0 6 * * ? 2027)", "does not run every day"],
      ];
      for (const [bad, why] of cases) {
        expectProblem(
          rawFor("css", { "ecr-sync:reconcileSchedule": bad }),
          `ecr-sync:reconcileSchedule: ${JSON.stringify(bad)} `,
          why,
          "would fire between two runs on time",
        );
      }
    });

    it("accepts exactly the rates the no-reconcile alarm waits for without hitting CloudWatch's 7 days", () => {
      for (let hours = 1; hours <= 200; hours++) {
        const schedule = `rate(${hours} hour${hours === 1 ? "" : "s"})`;
        const problems: string[] = [];
        const accepted = parseReconcileSchedule(schedule, problems) !== undefined;
        expect(accepted, schedule).to.equal(heartbeatHours(schedule) >= hours + 2);
      }
    });

    it("accepts an alertEmail, rate and cron schedules, and off", () => {
      const settings = (overrides: Record<string, unknown>) =>
        parseStackConfig(rawFor("css", overrides)) as { alertEmail?: string; reconcileSchedule?: string };
      expect(settings({ "ecr-sync:alertEmail": "kuali-oncall@example.edu" }).alertEmail).to.equal(
        "kuali-oncall@example.edu",
      );
      expect(settings({ "ecr-sync:alertEmail": "none" }).alertEmail).to.equal(undefined);
      for (const good of [
        "rate(1 day)",
        "rate(12 hours)",
        "rate(30 minutes)",
        "cron(0 6 * * ? *)",
        "cron(15 2 ? * * *)",
        "cron(0 */4 * * ? *)",
        "rate(6 days)",
        "rate(166 hours)",
      ]) {
        expect(settings({ "ecr-sync:reconcileSchedule": good }).reconcileSchedule, good).to.equal(good);
      }
      expect(settings({ "ecr-sync:reconcileSchedule": "off" }).reconcileSchedule).to.equal(undefined);
      expect(settings({ "ecr-sync:reconcileSchedule": null }).reconcileSchedule).to.equal("rate(1 day)");
    });

    it("reports every problem at once", () => {
      const problems = problemsOf(
        rawFor("css", {
          "ecr-sync:sourceAccountId": "1",
          "ecr-sync:repositories": {},
          "ecr-sync:logRetentionDays": "2",
        }),
      );
      expect(problems.join("\n"))
        .to.include("ecr-sync:sourceAccountId")
        .and.include("ecr-sync:repositories")
        .and.include("ecr-sync:logRetentionDays");
    });
  });

  describe("the css stack's outputs as the legacy stack reads them", () => {
    const settings = {
      sourceStack: "organization/ecr-sync/css",
      sourceAccountId: "770203350335",
      accountId: "730096353738",
    };
    const good = {
      workerRoleArn: "arn:aws:iam::770203350335:role/ecr-sync-worker",
      workerInstanceArn: "arn:aws:ec2:us-east-1:770203350335:instance/i-0123456789abcdef0",
      targetRoleName: "ecr-sync-target",
      targetAccountId: "730096353738",
      repositories: { "kuali-coeus": "coeus" },
    };

    it("accepts outputs of a css stack that syncs into this account", () => {
      expect(checkSourceStackOutputs(good, settings)).to.deep.equal(good);
    });

    it("refuses a worker role outside the configured source account", () => {
      expect(() =>
        checkSourceStackOutputs(
          { ...good, workerRoleArn: "arn:aws:iam::111122223333:role/ecr-sync-worker" },
          settings,
        ),
      ).to.throw(
        /output workerRoleArn of stack "organization\/ecr-sync\/css" is "arn:aws:iam::111122223333:role\/ecr-sync-worker", not a role in ecr-sync:sourceAccountId "770203350335"/,
      );
    });

    it("refuses a worker instance outside the configured source account", () => {
      expect(() =>
        checkSourceStackOutputs(
          { ...good, workerInstanceArn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0" },
          settings,
        ),
      ).to.throw(
        /output workerInstanceArn of stack "organization\/ecr-sync\/css" is "arn:aws:ec2:us-east-1:111122223333:instance\/i-0123456789abcdef0", an instance in account "111122223333", not in ecr-sync:sourceAccountId "770203350335"/,
      );
    });

    it("refuses a worker instance output that is missing, an instance id, or a wildcard", () => {
      for (const workerInstanceArn of [
        undefined,
        "i-0123456789abcdef0",
        "arn:aws:ec2:us-east-1:770203350335:instance/*",
      ]) {
        expect(
          () => checkSourceStackOutputs({ ...good, workerInstanceArn }, settings),
          String(workerInstanceArn),
        )
          .to.throw(
            /output workerInstanceArn of stack "organization\/ecr-sync\/css" is .*, not an EC2 instance ARN \(arn:aws:ec2:REGION:ACCOUNT:instance\/i-…\)/,
          )
          .with.property("message")
          .that.includes(
            workerInstanceArn === undefined ? "is undefined" : JSON.stringify(workerInstanceArn),
          );
      }
    });

    it("refuses a css stack that syncs into another account", () => {
      expect(() => checkSourceStackOutputs({ ...good, targetAccountId: "111122223333" }, settings)).to.throw(
        /output targetAccountId .* is "111122223333" but this stack deploys into "730096353738"/,
      );
    });

    it("refuses a missing or broken mapping", () => {
      expect(() => checkSourceStackOutputs({ ...good, repositories: undefined }, settings)).to.throw(
        /output repositories .* not an object/,
      );
      expect(() =>
        checkSourceStackOutputs({ ...good, repositories: { a1: "b1", c1: "b1" } }, settings),
      ).to.throw(/both mapped to "b1"/);
    });
  });
});

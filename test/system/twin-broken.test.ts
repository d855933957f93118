/**
 * The twin (local/twin/) on deliberately broken renderings, each transformed after rendering and
 * before the twin deploys it: it must fail with a message naming the broken link, and never report
 * an arrival.
 */
import { expect } from "chai";
import type { PolicyDocument } from "../../components/policies";
import { resourcesOfType } from "../../local/render";
import { runTwin } from "../../local/twin/run";
import { editCommand, editJson, failureOf, named } from "../support/twin";

describe("the twin on a broken rendering: it fails naming the broken link", function () {
  this.timeout(120000);

  it("fails naming the push rule when its pattern no longer matches the push", async () => {
    const failure = await failureOf(({ css }) => {
      const rule = named(css, "aws:cloudwatch/eventRule:EventRule", css.outputs.pushRuleName);
      editJson<Record<string, unknown>>(
        rule.inputs,
        "eventPattern",
        (p) => (p["detail-type"] = ["ECR Image Push"]),
      );
    });
    expect(failure.link).to.equal("push rule ecr-sync-push");
    expect(failure.message).to.include("did not match the event ECR emits for the push of kuali-coeus:twin-");
  });

  it("fails naming the worker, ecr:BatchGetImage and the source repository when the worker policy cannot pull", async () => {
    let instance = "";
    const failure = await failureOf(({ css }) => {
      instance = String(css.outputs.workerInstanceId);
      const worker = named(css, "aws:iam/role:Role", String(css.outputs.workerRoleArn).split("/").pop());
      for (const policy of resourcesOfType(css, "aws:iam/rolePolicy:RolePolicy").filter(
        (p) => p.inputs.role === worker.inputs.name,
      )) {
        editJson<PolicyDocument>(policy.inputs, "policy", (doc) => {
          for (const statement of doc.Statement) {
            if (Array.isArray(statement.Action))
              statement.Action = statement.Action.filter((a) => a !== "ecr:BatchGetImage");
          }
        });
      }
    });
    expect(failure.link).to.match(/^IAM \(worker/);
    expect(failure.message).to.include(
      `arn:aws:sts::770203350335:assumed-role/ecr-sync-worker/${instance} → ecr:BatchGetImage on arn:aws:ecr:us-east-1:770203350335:repository/kuali-coeus`,
    );
    expect(failure.message).to.include("in the css registry");
  });

  it("fails naming the target role's trust when it names another role", async () => {
    let instance = "";
    const failure = await failureOf(({ css, legacy }) => {
      instance = String(css.outputs.workerInstanceId);
      const role = named(legacy, "aws:iam/role:Role", legacy.outputs.targetRoleName);
      const other = String(legacy.outputs.trustedWorkerRoleArn).replace(/role\/.*/, "role/another-role");
      role.inputs.assumeRolePolicy = String(role.inputs.assumeRolePolicy).replaceAll(
        String(legacy.outputs.trustedWorkerRoleArn),
        other,
      );
    });
    expect(failure.link).to.match(/^IAM \(worker/);
    expect(failure.message).to.include(
      `ecr-sync-worker/${instance} → sts:AssumeRole on arn:aws:iam::730096353738:role/ecr-sync-target`,
    );
    expect(failure.message).to.include("rendered trust policy of role ecr-sync-target");
  });

  it("fails naming the sync document's tag parameter when its pattern refuses the tag", async () => {
    const failure = await failureOf(({ css }) => {
      const document = named(css, "aws:ssm/document:Document", css.outputs.syncDocumentName);
      editJson<{ parameters: Record<string, { allowedPattern: string }> }>(
        document.inputs,
        "content",
        (content) => (content.parameters.tag.allowedPattern = "^v[0-9]+$"),
      );
    });
    expect(failure.link).to.equal("document ecr-sync-copy-image");
    expect(failure.message).to.match(
      /parameter tag="twin-[^"]+" does not match the allowedPattern "\^v\[0-9\]\+\$"/,
    );
  });

  it("fails naming the sync document when the copier in S3 is not the one it names, runs none of it, and prints the on-call alert", async () => {
    const lines: string[] = [];
    const other = "0".repeat(64);
    const failure = await failureOf(({ css }) => {
      const document = named(css, "aws:ssm/document:Document", css.outputs.syncDocumentName);
      // The document names another hash for the same key: the deployed bundle no longer matches it.
      editCommand(document.inputs, (line) =>
        line.startsWith("ecr_sync_sha256=") ? `ecr_sync_sha256='${other}'` : line,
      );
    }, lines);
    expect(failure.link).to.equal("document ecr-sync-copy-image on the worker");
    expect(failure.message).to.include(`not the ${other} this document names`);
    expect(failure.message).to.include("the copier was not run");
    expect(failure.message).to.include("is not in legacy");
    const alert = lines.find((line) => line.includes("alert to the on-call engineer"));
    expect(alert, "the alert line").to.match(
      /rule ecr-sync-command-failed\): ecr-sync: the SSM command [0-9a-f-]{36} \(document ecr-sync-copy-image\) ended Failed at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. Runbook: docs\/runbook\.md#failed-command/,
    );
  });

  it("reports healed: false, naming the reconcile document, when the schedule's input is refused", async () => {
    const lines: string[] = [];
    const result = await runTwin({
      write: (line) => lines.push(line),
      transform: ({ css }) => {
        const document = named(css, "aws:ssm/document:Document", css.outputs.reconcileDocumentName);
        editJson<{ parameters: Record<string, { allowedPattern: string }> }>(
          document.inputs,
          "content",
          (content) => (content.parameters.dryRun.allowedPattern = "^true$"),
        );
      },
    });
    expect(result.target_digest).to.equal(result.source_digest);
    expect(result.healed).to.equal(false);
    expect(lines.join("\n")).to.include(
      'heal failed — document ecr-sync-reconcile: SSM refuses the command (InvalidParameters): parameter dryRun="false"',
    );
  });
});

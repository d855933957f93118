import { expect } from "chai";
import { PolicyDocument } from "../../components/policies";
import { Rendering, jsonInput, renderStack, resource } from "../../local/render";
import { failureOf } from "../support/config";

const CSS = "770203350335";
const LEGACY = "730096353738";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";

describe("legacy stack (TargetRole under mocks, fed by the css stack's outputs)", function () {
  this.timeout(120000);
  let css: Rendering;
  let legacy: Rendering;
  before(async () => {
    css = await renderStack("css");
    legacy = await renderStack("legacy", { sourceOutputs: css.outputs });
  });

  it("references the css stack named in config and creates one role with one inline policy", () => {
    expect(legacy.resources.map((r) => `${r.type} ${r.name}`).sort()).to.deep.equal(
      [
        "ecr-sync:index:TargetRole ecr-sync",
        `${STACK_REFERENCE} organization/ecr-sync/css`,
        `${ROLE} ecr-sync-role`,
        `${ROLE_POLICY} ecr-sync-push`,
      ].sort(),
    );
  });

  it("trusts the css account only for the worker role (aws:PrincipalArn) on the worker instance (ec2:SourceInstanceArn), both from the StackReference", () => {
    const trust = jsonInput(resource(legacy, ROLE, "ecr-sync-role"), "assumeRolePolicy") as PolicyDocument;
    const [instance] = css.resources.filter((r) => r.type === "aws:ec2/instance:Instance");
    expect(css.outputs.workerInstanceArn).to.equal(instance.state.arn);
    expect(trust.Statement).to.have.length(1);
    expect(trust.Statement[0]).to.deep.include({
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${CSS}:root` },
      Action: "sts:AssumeRole",
      Condition: {
        ArnEquals: {
          "aws:PrincipalArn": `arn:aws:iam::${CSS}:role/ecr-sync-worker`,
          "ec2:SourceInstanceArn": instance.state.arn,
        },
      },
    });
  });

  it("takes the condition's values from the referenced stack, not from a literal", async () => {
    // A replaced worker: the css stack's next `up` exports the new instance's ARN; legacy follows it.
    const replaced = `arn:aws:ec2:us-east-1:${CSS}:instance/i-0aaaaaaaaaaaaaaaa`;
    const moved = await renderStack("legacy", {
      sourceOutputs: {
        ...css.outputs,
        workerRoleArn: `arn:aws:iam::${CSS}:role/ecr-sync-blue-worker`,
        workerInstanceArn: replaced,
      },
    });
    const trust = jsonInput(resource(moved, ROLE, "ecr-sync-role"), "assumeRolePolicy") as PolicyDocument;
    expect(trust.Statement[0].Condition).to.deep.equal({
      ArnEquals: {
        "aws:PrincipalArn": `arn:aws:iam::${CSS}:role/ecr-sync-blue-worker`,
        "ec2:SourceInstanceArn": replaced,
      },
    });
    expect(moved.outputs.trustedWorkerRoleArn).to.equal(`arn:aws:iam::${CSS}:role/ecr-sync-blue-worker`);
    expect(moved.outputs.trustedWorkerInstanceArn).to.equal(replaced);
  });

  it("creates the role under the name whose ARN the css stack hands to the worker", () => {
    const role = resource(legacy, ROLE, "ecr-sync-role");
    expect(role.inputs.name).to.equal(css.outputs.targetRoleName);
    expect(role.state.arn).to.equal(css.outputs.targetRoleArn);
    expect(legacy.outputs.targetRoleArn).to.equal(css.outputs.targetRoleArn);
  });

  it("allows pushing only to the mapped target repositories in the legacy account", () => {
    const policy = jsonInput(resource(legacy, ROLE_POLICY, "ecr-sync-push"), "policy") as PolicyDocument;
    const named = policy.Statement.flatMap((s) =>
      ([] as string[]).concat((s as { Resource: string | string[] }).Resource),
    ).filter((r) => r !== "*");
    expect([...new Set(named)].sort()).to.deep.equal([
      `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus`,
      `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus-feature`,
    ]);
    const star = policy.Statement.filter((s) => (s as { Resource: unknown }).Resource === "*");
    expect(star.map((s) => s.Action)).to.deep.equal(["ecr:GetAuthorizationToken"]);
  });

  it("follows a mapping edit made in the css stack's config only", async () => {
    const cssEdited = await renderStack("css", {
      config: {
        "ecr-sync:repositories": {
          "kuali-coeus": "coeus",
          "kuali-coeus-feature": "coeus-feature",
          "kuali-research": "research",
        },
      },
    });
    const edited = await renderStack("legacy", { sourceOutputs: cssEdited.outputs });
    expect(edited.outputs.targetRepositoryArns).to.deep.equal([
      `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus`,
      `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus-feature`,
      `arn:aws:ecr:us-east-1:${LEGACY}:repository/research`,
    ]);
  });

  it("exports the role and what it trusts", () => {
    expect(legacy.outputs).to.deep.equal({
      participant: "target",
      sourceStack: "organization/ecr-sync/css",
      sourceAccountId: CSS,
      targetAccountId: LEGACY,
      region: "us-east-1",
      targetRoleArn: `arn:aws:iam::${LEGACY}:role/ecr-sync-target`,
      targetRoleName: "ecr-sync-target",
      trustedWorkerRoleArn: `arn:aws:iam::${CSS}:role/ecr-sync-worker`,
      trustedWorkerInstanceArn: css.outputs.workerInstanceArn,
      targetRepositoryArns: [
        `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus`,
        `arn:aws:ecr:us-east-1:${LEGACY}:repository/coeus-feature`,
      ],
    });
  });

  it("renders the css stack first by itself when no outputs are given", async () => {
    const alone = await renderStack("legacy");
    expect(alone.outputs).to.deep.equal(legacy.outputs);
  });

  it("refuses a referenced stack whose worker role is in another account", async () => {
    const message = await failureOf(
      renderStack("legacy", {
        sourceOutputs: { ...css.outputs, workerRoleArn: "arn:aws:iam::111122223333:role/ecr-sync-worker" },
      }),
    );
    expect(message)
      .to.include('output workerRoleArn of stack "organization/ecr-sync/css"')
      .and.include("arn:aws:iam::111122223333:role/ecr-sync-worker");
  });

  it("refuses a referenced stack whose worker instance is in another account", async () => {
    const elsewhere = "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0";
    const message = await failureOf(
      renderStack("legacy", { sourceOutputs: { ...css.outputs, workerInstanceArn: elsewhere } }),
    );
    expect(message)
      .to.include('output workerInstanceArn of stack "organization/ecr-sync/css"')
      .and.include(elsewhere)
      .and.include('not in ecr-sync:sourceAccountId "770203350335"');
  });

  it("refuses a referenced stack that exports no worker instance ARN (a css stack deployed before issue 10)", async () => {
    const { workerInstanceArn: _, ...older } = css.outputs;
    const message = await failureOf(renderStack("legacy", { sourceOutputs: older }));
    expect(message).to.include("workerInstanceArn");
  });

  it("refuses a referenced stack that syncs into another account", async () => {
    const message = await failureOf(
      renderStack("legacy", { sourceOutputs: { ...css.outputs, targetAccountId: "111122223333" } }),
    );
    expect(message).to.include(
      'output targetAccountId of stack "organization/ecr-sync/css" is "111122223333"',
    );
  });

  it("refuses a mapping in the legacy stack's own config", async () => {
    const message = await failureOf(
      renderStack("legacy", {
        sourceOutputs: css.outputs,
        config: { "ecr-sync:repositories": { "kuali-coeus": "coeus" } },
      }),
    );
    expect(message).to.include("ecr-sync:repositories is set on a target stack");
  });

  it("refuses to deploy the legacy config into the css account", async () => {
    const message = await failureOf(
      renderStack("legacy", { sourceOutputs: css.outputs, config: { "aws:allowedAccountIds": [CSS] } }),
    );
    expect(message)
      .to.include(`aws:allowedAccountIds is ["${CSS}"]`)
      .and.include(`ecr-sync:targetAccountId "${LEGACY}"`);
  });
});

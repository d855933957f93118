/**
 * Policy grammar: every document components/policies.ts renders for the real mappings and accounts
 * is accepted by a real moto_server's IAM — identity policies through CreatePolicy, trust policies
 * through CreateRole and UpdateAssumeRolePolicy — and deliberately broken ones are refused, so the
 * check is shown to be able to fail.
 *
 * The same check runs over every policy the synthesized stacks carry (local/render/), so the
 * documents as wired into the roles are covered too, not only the helpers' output.
 *
 * Why UpdateAssumeRolePolicy as well: moto 5.2 parses a trust policy's grammar there, while its
 * CreateRole stores the document unchecked (AWS checks it in both). Both calls are made; the
 * grammar verdict on a trust policy comes from the second.
 *
 * The calls go through the JS SDK in this process: one AWS CLI start per call (a Python process,
 * about 0.6 s each) made this file one of the slowest of the suite.
 */
import {
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { expect } from "chai";
import {
  deadLetterSendPolicy,
  lambdaPolicy,
  lambdaTrustPolicy,
  PolicyDocument,
  schedulerPolicy,
  schedulerTrustPolicy,
  targetRolePolicy,
  targetRoleTrustPolicy,
  workerPolicy,
  workerSsmAgentPolicy,
  workerTelemetryPolicy,
  workerTrustPolicy,
} from "../../components/policies";
import { repositoryArn, roleArn } from "../../components/arns";
import { jsonInput, renderStack, resourcesOfType } from "../../local/render";
import { MotoServer, startMoto } from "../../local/moto";

const CSS = "770203350335";
const LEGACY = "730096353738";
const REGION = "us-east-1";
const MAPPING: Record<string, string> = { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" };

const IDENTITY_POLICIES: Record<string, PolicyDocument> = {
  "ecr-sync-worker": workerPolicy({
    sourceRepositoryArns: Object.keys(MAPPING).map((name) => repositoryArn(CSS, REGION, name)),
    targetRoleArn: roleArn(LEGACY, "ecr-sync-target"),
    commandLogGroupArn: `arn:aws:logs:${REGION}:${CSS}:log-group:/ecr-sync/commands`,
    copierBucketName: "ecr-sync-copier-0a1b2c3",
  }),
  "ecr-sync-worker-ssm-agent": workerSsmAgentPolicy(),
  "ecr-sync-worker-telemetry": workerTelemetryPolicy({
    resultsLogGroupArn: `arn:aws:logs:${REGION}:${CSS}:log-group:/ecr-sync/results`,
  }),
  "ecr-sync-target": targetRolePolicy({
    targetRepositoryArns: Object.values(MAPPING).map((name) => repositoryArn(LEGACY, REGION, name)),
  }),
  "ecr-sync-trigger": lambdaPolicy({
    documentArn: `arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-copy`,
    instanceArn: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0123456789abcdef0`,
    logGroupArn: `arn:aws:logs:${REGION}:${CSS}:log-group:/aws/lambda/ecr-sync-trigger`,
  }),
  "ecr-sync-trigger-dead-letter": deadLetterSendPolicy({
    queueArn: `arn:aws:sqs:${REGION}:${CSS}:ecr-sync-dead-letters`,
  }),
  "ecr-sync-reconcile-scheduler": schedulerPolicy({
    documentArn: `arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-reconcile`,
    instanceArn: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0123456789abcdef0`,
    deadLetterQueueArn: `arn:aws:sqs:${REGION}:${CSS}:ecr-sync-dead-letters`,
  }),
};

const TRUST_POLICIES: Record<string, PolicyDocument> = {
  "ecr-sync-worker": workerTrustPolicy(),
  "ecr-sync-target": targetRoleTrustPolicy({
    sourceAccountId: CSS,
    workerRoleArn: roleArn(CSS, "ecr-sync-worker"),
    workerInstanceArn: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0123456789abcdef0`,
  }),
  "ecr-sync-trigger": lambdaTrustPolicy(),
  "ecr-sync-reconcile-scheduler": schedulerTrustPolicy({
    scheduleGroupArn: `arn:aws:scheduler:${REGION}:${CSS}:schedule-group/ecr-sync`,
  }),
};

/** A valid document with one statement's Effect misspelt. */
function misspeltEffect(policy: PolicyDocument): unknown {
  return {
    ...policy,
    Statement: policy.Statement.map((statement, index) =>
      index === 0 ? { ...statement, Effect: "Alow" } : statement,
    ),
  };
}

describe("policy grammar, checked by moto's IAM", function () {
  this.timeout(60000);
  let moto: MotoServer;
  let iam: IAMClient;

  /** CreatePolicy with the document as JSON text; resolves to the created policy's name. */
  async function createPolicy(name: string, document: unknown): Promise<string | undefined> {
    const created = await iam.send(
      new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) }),
    );
    return created.Policy?.PolicyName;
  }

  /** CreateRole with the document as its trust policy; resolves to the created role's name. */
  async function createRole(name: string, trust: unknown): Promise<string | undefined> {
    const created = await iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
    return created.Role?.RoleName;
  }

  const updateAssumeRolePolicy = (name: string, trust: unknown) =>
    iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust) }));

  /** Resolves to the AWS error (its name, e.g. MalformedPolicyDocumentException, and message) when the call fails, to undefined when it succeeds. */
  async function failureOf(call: Promise<unknown>): Promise<string | undefined> {
    try {
      await call;
      return undefined;
    } catch (error) {
      const { name, message } = error as Error;
      return `${name}: ${message}`;
    }
  }

  before(async () => {
    moto = await startMoto();
    iam = new IAMClient(moto.clientConfig());
  });

  after(async () => {
    iam?.destroy();
    await moto?.stop();
  });

  for (const [name, policy] of Object.entries(IDENTITY_POLICIES)) {
    it(`CreatePolicy accepts the ${name} identity policy`, async () => {
      expect(await createPolicy(name, policy)).to.equal(name);
    });
  }

  for (const [name, policy] of Object.entries(TRUST_POLICIES)) {
    it(`CreateRole and UpdateAssumeRolePolicy accept the ${name} trust policy`, async () => {
      expect(await createRole(name, policy)).to.equal(name);
      expect(await failureOf(updateAssumeRolePolicy(name, policy))).to.equal(undefined);
      const stored = await iam.send(new GetRoleCommand({ RoleName: name }));
      // The API returns the document URL-encoded.
      const storedDocument = stored.Role?.AssumeRolePolicyDocument ?? "";
      expect(JSON.parse(decodeURIComponent(storedDocument))).to.deep.equal(policy);
    });
  }

  it("CreatePolicy refuses an identity policy with a misspelt Effect", async () => {
    const failure = await failureOf(
      createPolicy("broken", misspeltEffect(IDENTITY_POLICIES["ecr-sync-worker"])),
    );
    expect(failure).to.match(/MalformedPolicyDocument/);
  });

  it("UpdateAssumeRolePolicy refuses a trust policy with a misspelt Effect", async () => {
    await createRole("broken-trust", TRUST_POLICIES["ecr-sync-target"]);
    const failure = await failureOf(
      updateAssumeRolePolicy("broken-trust", misspeltEffect(TRUST_POLICIES["ecr-sync-target"])),
    );
    expect(failure).to.match(/MalformedPolicyDocument/);
  });

  it("UpdateAssumeRolePolicy refuses an identity policy used as a trust policy (it carries Resource)", async () => {
    await createRole("wrong-kind", TRUST_POLICIES["ecr-sync-worker"]);
    const failure = await failureOf(
      updateAssumeRolePolicy("wrong-kind", IDENTITY_POLICIES["ecr-sync-worker"]),
    );
    expect(failure).to.match(/MalformedPolicyDocument/);
  });

  it("accepts every inline policy and trust policy of the synthesized css and legacy stacks", async function () {
    this.timeout(120000);
    const css = await renderStack("css");
    const legacy = await renderStack("legacy", { sourceOutputs: css.outputs });
    let checked = 0;
    for (const rendering of [css, legacy]) {
      for (const role of resourcesOfType(rendering, "aws:iam/role:Role")) {
        const name = `${rendering.stack}-${role.name}`.slice(0, 64);
        const trust = jsonInput(role, "assumeRolePolicy");
        await createRole(name, trust);
        expect(await failureOf(updateAssumeRolePolicy(name, trust)), name).to.equal(undefined);
        checked++;
      }
      for (const policy of resourcesOfType(rendering, "aws:iam/rolePolicy:RolePolicy")) {
        const name = `${rendering.stack}-${policy.name}`.slice(0, 128);
        expect(await failureOf(createPolicy(name, jsonInput(policy, "policy"))), name).to.equal(undefined);
        checked++;
      }
    }
    // css: worker, trigger and scheduler roles and their five inline policies; legacy: the target role and its policy.
    expect(checked).to.be.at.least(10);
  });
});

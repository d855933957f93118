/**
 * The least-privilege matrix again, over the policies as the synthesized stacks render them
 * (local/render/ runs the real program under Pulumi's mocks with the stacks' real config):
 * every inline policy attached to each role, the trust policies as the roles carry them, and the
 * ARNs the other resources resolved to. So the proof covers the wiring — which policy lands on
 * which role, with which ARNs — not only the helpers in components/policies.ts.
 *
 * Expectations are written from the project's fixed facts (accounts, region, mapping), not read
 * back from the rendering, so a wrong value in the stacks shows up as a failure here.
 */
import { expect } from "chai";
import { PolicyDocument } from "../../components/policies";
import { repositoryArn } from "../../components/arns";
import {
  jsonInput,
  RenderedResource,
  Rendering,
  renderStack,
  resource,
  resourcesOfType,
} from "../../local/render";
import { Decision, evaluate, IamRequest } from "../../local/iam";

const CSS = "770203350335";
const LEGACY = "730096353738";
const THIRD = "111122223333";
const REGION = "us-east-1";

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const MANAGED_ATTACHMENTS = [
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  "aws:iam/policyAttachment:PolicyAttachment",
];

interface RenderedRole {
  arn: string;
  name: string;
  trust: PolicyDocument;
  /** Every inline policy the stack attaches to the role. */
  policies: PolicyDocument[];
}

function roleWhere(
  rendering: Rendering,
  predicate: (role: RenderedResource) => boolean,
  what: string,
): RenderedRole {
  const roles = resourcesOfType(rendering, ROLE).filter(predicate);
  expect(roles, `stack ${rendering.stack}: exactly one ${what}`).to.have.length(1);
  const [role] = roles;
  const name = String(role.state.name ?? role.inputs.name);
  const policies = resourcesOfType(rendering, ROLE_POLICY)
    .filter((policy) => policy.inputs.role === name || policy.inputs.role === role.state.arn)
    .map((policy) => jsonInput(policy, "policy") as PolicyDocument);
  return {
    arn: String(role.state.arn),
    name,
    trust: jsonInput(role, "assumeRolePolicy") as PolicyDocument,
    policies,
  };
}

function trustsService(service: string) {
  return (role: RenderedResource) =>
    JSON.stringify(jsonInput(role, "assumeRolePolicy")).includes(`"Service":"${service}"`);
}

function sessionOf(role: RenderedRole, session: string): string {
  const [, , , , account] = role.arn.split(":");
  return `arn:aws:sts::${account}:assumed-role/${role.name}/${session}`;
}

const source = (name: string, account = CSS) => repositoryArn(account, REGION, name);
const target = (name: string) => repositoryArn(LEGACY, REGION, name);

/** What AWS attaches to a request signed with credentials EC2 delivered to that instance. */
const fromInstance = (arn: string) => ({ "ec2:SourceInstanceArn": arn });
/** The instance id at the end of an instance ARN: the session name EC2 gives an instance role's session. */
const instanceIdOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

/** An administrator-like caller: may assume any role as far as its own account is concerned. */
const MAY_ASSUME_ANY_ROLE: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }],
};

describe("least privilege of the synthesized stacks (css and legacy, as rendered)", function () {
  this.timeout(120000);
  let css: Rendering;
  let legacy: Rendering;
  let worker: RenderedRole;
  let trigger: RenderedRole;
  let targetRole: RenderedRole;
  let instanceArn: string;
  let documentArn: string;
  let commandLogGroupArn: string;

  before(async () => {
    css = await renderStack("css");
    legacy = await renderStack("legacy", { sourceOutputs: css.outputs });
    worker = roleWhere(css, trustsService("ec2.amazonaws.com"), "role trusted by EC2 (the worker)");
    trigger = roleWhere(
      css,
      trustsService("lambda.amazonaws.com"),
      "role trusted by Lambda (the push trigger)",
    );
    targetRole = roleWhere(legacy, () => true, "role (the target role)");
    const [instance] = resourcesOfType(css, "aws:ec2/instance:Instance");
    const [document] = resourcesOfType(css, "aws:ssm/document:Document");
    instanceArn = String(instance?.state.arn);
    documentArn = String(document?.state.arn);
    commandLogGroupArn = `arn:aws:logs:${REGION}:${CSS}:log-group:${String(css.outputs.commandLogGroupName)}`;
  });

  async function expectDecisions(
    cases: Array<IamRequest & { name: string; expected: Decision }>,
  ): Promise<void> {
    const wrong: string[] = [];
    for (const { name, expected, ...request } of cases) {
      const decision = await evaluate(request);
      if (decision !== expected) wrong.push(`${name}: ${decision}, expected ${expected}`);
    }
    expect(wrong).to.deep.equal([]);
  }

  it("attaches no managed policies, so the inline policies evaluated here are all a role holds", () => {
    for (const rendering of [css, legacy]) {
      for (const type of MANAGED_ATTACHMENTS)
        expect(resourcesOfType(rendering, type), `${rendering.stack}: ${type}`).to.deep.equal([]);
      for (const role of resourcesOfType(rendering, ROLE))
        expect(role.inputs.managedPolicyArns ?? [], role.name).to.deep.equal([]);
    }
    expect(worker.policies.length, "worker inline policies").to.be.greaterThan(0);
    expect(trigger.policies.length, "trigger inline policies").to.be.greaterThan(0);
    expect(targetRole.policies.length, "target inline policies").to.be.greaterThan(0);
  });

  it("css worker role: pulls and lists the mapped sources only, never pushes or deletes", async () => {
    const as = { principal: sessionOf(worker, "i-0123456789abcdef0"), identityPolicies: worker.policies };
    await expectDecisions([
      ...[
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
      ].flatMap((action) =>
        ["kuali-coeus", "kuali-coeus-feature"].map((repository) => ({
          ...as,
          name: `${action} ${repository}`,
          action,
          resource: source(repository),
          expected: "Allowed" as const,
        })),
      ),
      {
        ...as,
        name: "GetAuthorizationToken",
        action: "ecr:GetAuthorizationToken",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...as,
        name: "pull kuali-other",
        action: "ecr:BatchGetImage",
        resource: source("kuali-other"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "pull kuali-coeus of a third account",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus", THIRD),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "push to kuali-coeus",
        action: "ecr:PutImage",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "upload a layer to kuali-coeus",
        action: "ecr:InitiateLayerUpload",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "delete images of kuali-coeus",
        action: "ecr:BatchDeleteImage",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "write command output",
        action: "logs:PutLogEvents",
        resource: `${commandLogGroupArn}:log-stream:cmd/i-0123456789abcdef0/stdout`,
        expected: "Allowed",
      },
      {
        ...as,
        name: "write another log group",
        action: "logs:PutLogEvents",
        resource: `arn:aws:logs:${REGION}:${CSS}:log-group:/other:log-stream:x`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "create the command log group (it exists; the SSM agent asks before streaming)",
        action: "logs:CreateLogGroup",
        resource: commandLogGroupArn,
        expected: "Allowed",
      },
      {
        ...as,
        name: "create another log group",
        action: "logs:CreateLogGroup",
        resource: `arn:aws:logs:${REGION}:${CSS}:log-group:/other`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "register with Systems Manager",
        action: "ssm:UpdateInstanceInformation",
        resource: instanceArn,
        expected: "Allowed",
      },
      {
        ...as,
        name: "read an SSM parameter",
        action: "ssm:GetParameter",
        resource: `arn:aws:ssm:${REGION}:${CSS}:parameter/secret`,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("css worker role assumes the legacy target role as rendered, and no other role", async () => {
    const as = {
      principal: sessionOf(worker, instanceIdOf(instanceArn)),
      identityPolicies: worker.policies,
      action: "sts:AssumeRole",
      context: fromInstance(instanceArn),
    };
    const openTrust: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${CSS}:root` }, Action: "sts:AssumeRole" },
      ],
    };
    expect(targetRole.arn).to.equal(`arn:aws:iam::${LEGACY}:role/${targetRole.name}`);
    await expectDecisions([
      {
        ...as,
        name: "assume the target role",
        resource: targetRole.arn,
        resourcePolicy: targetRole.trust,
        expected: "Allowed",
      },
      {
        ...as,
        name: "assume another legacy role that trusts the css account",
        resource: `arn:aws:iam::${LEGACY}:role/legacy-admin`,
        resourcePolicy: openTrust,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("legacy target role: pushes to coeus and coeus-feature only; no delete, no create", async () => {
    const as = { principal: sessionOf(targetRole, "ecr-sync"), identityPolicies: targetRole.policies };
    await expectDecisions([
      ...[
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
      ].flatMap((action) =>
        ["coeus", "coeus-feature"].map((repository) => ({
          ...as,
          name: `${action} ${repository}`,
          action,
          resource: target(repository),
          expected: "Allowed" as const,
        })),
      ),
      {
        ...as,
        name: "GetAuthorizationToken",
        action: "ecr:GetAuthorizationToken",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...as,
        name: "push to coeus-other",
        action: "ecr:PutImage",
        resource: target("coeus-other"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "delete images of coeus",
        action: "ecr:BatchDeleteImage",
        resource: target("coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "create a repository",
        action: "ecr:CreateRepository",
        resource: target("coeus-new"),
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "delete coeus",
        action: "ecr:DeleteRepository",
        resource: target("coeus"),
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("legacy target role trust, as rendered from the StackReference: the worker role on the worker instance only", async () => {
    const assume = { action: "sts:AssumeRole", resource: targetRole.arn, resourcePolicy: targetRole.trust };
    const otherInstance = `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`;
    const asWorker = { identityPolicies: worker.policies };
    expect(instanceArn).to.match(new RegExp(`^arn:aws:ec2:${REGION}:${CSS}:instance/i-[0-9a-f]{17}$`));
    expect(legacy.outputs.trustedWorkerInstanceArn).to.equal(instanceArn);
    await expectDecisions([
      {
        ...assume,
        ...asWorker,
        name: "worker session on the worker instance",
        principal: sessionOf(worker, instanceIdOf(instanceArn)),
        context: fromInstance(instanceArn),
        expected: "Allowed",
      },
      {
        ...assume,
        ...asWorker,
        name: "worker role on another instance started with the worker's instance profile",
        principal: sessionOf(worker, instanceIdOf(otherInstance)),
        context: fromInstance(otherInstance),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        ...asWorker,
        name: "worker role with no instance context (a person or a Lambda assumed it)",
        principal: sessionOf(worker, "alice"),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "push-trigger role of the css account",
        principal: sessionOf(trigger, "fn"),
        identityPolicies: [...trigger.policies, MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "another css role, even with the worker instance's context",
        principal: `arn:aws:sts::${CSS}:assumed-role/css-admin/alice`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        context: fromInstance(instanceArn),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "a worker-named role in a third account",
        principal: `arn:aws:sts::${THIRD}:assumed-role/${worker.name}/x`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "css root user",
        principal: `arn:aws:iam::${CSS}:root`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("css push-trigger role: sends the rendered sync document to the rendered worker instance only", async () => {
    const as = {
      principal: sessionOf(trigger, "fn"),
      identityPolicies: trigger.policies,
      action: "ssm:SendCommand",
    };
    expect(documentArn).to.match(new RegExp(`^arn:aws:ssm:${REGION}:${CSS}:document/`));
    expect(instanceArn).to.match(new RegExp(`^arn:aws:ec2:${REGION}:${CSS}:instance/i-`));
    await expectDecisions([
      { ...as, name: "the sync document", resource: documentArn, expected: "Allowed" },
      { ...as, name: "the worker instance", resource: instanceArn, expected: "Allowed" },
      {
        ...as,
        name: "another document",
        resource: `arn:aws:ssm:${REGION}:${CSS}:document/other-document`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "AWS-RunShellScript (in the account's namespace; see policies.test.ts)",
        resource: `arn:aws:ssm:${REGION}:${CSS}:document/AWS-RunShellScript`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "another instance",
        resource: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "start a session on the worker",
        action: "ssm:StartSession",
        resource: instanceArn,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "pull from a source repository",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("service roles are trusted by their own service only", async () => {
    await expectDecisions([
      {
        name: "EC2 → worker",
        principal: "ec2.amazonaws.com",
        action: "sts:AssumeRole",
        resource: worker.arn,
        resourcePolicy: worker.trust,
        expected: "Allowed",
      },
      {
        name: "Lambda → worker",
        principal: "lambda.amazonaws.com",
        action: "sts:AssumeRole",
        resource: worker.arn,
        resourcePolicy: worker.trust,
        expected: "ImplicitlyDenied",
      },
      {
        name: "Lambda → trigger",
        principal: "lambda.amazonaws.com",
        action: "sts:AssumeRole",
        resource: trigger.arn,
        resourcePolicy: trigger.trust,
        expected: "Allowed",
      },
      {
        name: "EC2 → trigger",
        principal: "ec2.amazonaws.com",
        action: "sts:AssumeRole",
        resource: trigger.arn,
        resourcePolicy: trigger.trust,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("css reconcile scheduler role: sends the rendered reconcile document to the rendered worker only; Scheduler assumes it for its group only", async () => {
    const scheduler = roleWhere(
      css,
      trustsService("scheduler.amazonaws.com"),
      "role trusted by Scheduler (the reconcile schedule)",
    );
    const reconcileDocument = String(
      resource(css, "aws:ssm/document:Document", "ecr-sync-reconcile-document").state.arn,
    );
    const group = String(
      resource(css, "aws:scheduler/scheduleGroup:ScheduleGroup", "ecr-sync-reconcile-group").state.arn,
    );
    const queue = String(resource(css, "aws:sqs/queue:Queue", "ecr-sync-dead-letters").state.arn);
    expect(reconcileDocument).to.equal(`arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-reconcile`);
    expect(group).to.equal(`arn:aws:scheduler:${REGION}:${CSS}:schedule-group/ecr-sync`);
    const as = {
      principal: sessionOf(scheduler, "schedule"),
      identityPolicies: scheduler.policies,
      action: "ssm:SendCommand",
    };
    await expectDecisions([
      { ...as, name: "the reconcile document", resource: reconcileDocument, expected: "Allowed" },
      { ...as, name: "the worker instance", resource: instanceArn, expected: "Allowed" },
      { ...as, name: "the sync document", resource: documentArn, expected: "ImplicitlyDenied" },
      {
        ...as,
        name: "another instance",
        resource: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`,
        expected: "ImplicitlyDenied",
      },
      {
        ...as,
        name: "the dead-letter queue",
        action: "sqs:SendMessage",
        resource: queue,
        expected: "Allowed",
      },
      {
        ...as,
        name: "assume the target role",
        action: "sts:AssumeRole",
        resource: targetRole.arn,
        resourcePolicy: targetRole.trust,
        expected: "ImplicitlyDenied",
      },
      {
        name: "Scheduler for the ecr-sync group",
        principal: "scheduler.amazonaws.com",
        action: "sts:AssumeRole",
        resource: scheduler.arn,
        resourcePolicy: scheduler.trust,
        context: { "aws:SourceAccount": CSS, "aws:SourceArn": group },
        expected: "Allowed",
      },
      {
        name: "Scheduler for the default group",
        principal: "scheduler.amazonaws.com",
        action: "sts:AssumeRole",
        resource: scheduler.arn,
        resourcePolicy: scheduler.trust,
        context: {
          "aws:SourceAccount": CSS,
          "aws:SourceArn": `arn:aws:scheduler:${REGION}:${CSS}:schedule-group/default`,
        },
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  it("css dead-letter queue and alert topic, as rendered: only the stack's own rules, alarms and roles may write", async () => {
    const queuePolicy = jsonInput(
      resource(css, "aws:sqs/queuePolicy:QueuePolicy", "ecr-sync-dead-letters-policy"),
      "policy",
    ) as PolicyDocument;
    const topicPolicy = jsonInput(
      resource(css, "aws:sns/topicPolicy:TopicPolicy", "ecr-sync-alerts-policy"),
      "policy",
    ) as PolicyDocument;
    const queue = String(resource(css, "aws:sqs/queue:Queue", "ecr-sync-dead-letters").state.arn);
    const topic = String(resource(css, "aws:sns/topic:Topic", "ecr-sync-alerts").state.arn);
    const rule = (name: string) =>
      String(resource(css, "aws:cloudwatch/eventRule:EventRule", name).state.arn);
    const alarm = (name: string) =>
      String(resource(css, "aws:cloudwatch/metricAlarm:MetricAlarm", name).state.arn);
    const send = { action: "sqs:SendMessage", resource: queue, resourcePolicy: queuePolicy };
    const publish = { action: "sns:Publish", resource: topic, resourcePolicy: topicPolicy };
    await expectDecisions([
      {
        ...send,
        name: "EventBridge for the push rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": rule("ecr-sync-push-rule") },
        expected: "Allowed",
      },
      {
        ...send,
        name: "EventBridge for the failed-command rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": rule("ecr-sync-command-failed-rule") },
        expected: "Allowed",
      },
      {
        ...send,
        name: "EventBridge for another rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": `arn:aws:events:${REGION}:${CSS}:rule/other` },
        expected: "ImplicitlyDenied",
      },
      {
        ...send,
        name: "the push trigger's role",
        principal: sessionOf(trigger, "fn"),
        identityPolicies: trigger.policies,
        expected: "Allowed",
      },
      {
        ...send,
        name: "the worker role",
        principal: sessionOf(worker, "i-0123456789abcdef0"),
        identityPolicies: worker.policies,
        expected: "ImplicitlyDenied",
      },
      {
        ...publish,
        name: "EventBridge for the failed-command rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": rule("ecr-sync-command-failed-rule") },
        expected: "Allowed",
      },
      {
        ...publish,
        name: "EventBridge for the push rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": rule("ecr-sync-push-rule") },
        expected: "ImplicitlyDenied",
      },
      {
        ...publish,
        name: "CloudWatch for the dead-letter alarm",
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": alarm("ecr-sync-dead-letters-alarm") },
        expected: "Allowed",
      },
      {
        ...publish,
        name: "CloudWatch for the push-trigger alarm",
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": alarm("ecr-sync-function-errors-alarm") },
        expected: "Allowed",
      },
      {
        ...publish,
        name: "CloudWatch for another alarm",
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${CSS}:alarm:other` },
        expected: "ImplicitlyDenied",
      },
    ]);
  });
});

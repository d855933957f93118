/**
 * The deploy roles' policy (components/deploy-permissions.ts; `synth --deploy-policy` prints it):
 * every resource type and data source the rendered stacks use has an entry, and the policy,
 * evaluated the way IAM does (@cloud-copilot/iam-simulate, through local/iam.ts), allows every
 * listed action on the stack's own rendered resources, in its account and region, and denies the
 * same actions on another account's resources and on names of another prefix, an instance without
 * the stack's Name tag, and what no entry lists (iam:CreateUser, iam:PassRole of another role, the
 * service-linked role). A cross-account denial is paired with a control that allows the same
 * request under an allow-everything policy, so it shows the policy denies, not the account boundary.
 */
import { expect } from "chai";
import { CONFIG_DEFAULTS } from "../../components/config-keys";
import {
  ConditionName,
  DEPLOY_PERMISSIONS,
  ResourceKind,
  arnMatches,
  deployPolicy,
  grantActions,
} from "../../components/deploy-permissions";
import { PolicyDocument } from "../../components/policies";
import { evaluate } from "../../local/iam";
import { Rendering, readStackConfig, renderStack, resourcesOfType } from "../../local/render";
import { deployPolicyOf, deployScopeOf } from "../../scripts/synth-deploy-policy";

const CSS = "770203350335";
const LEGACY = "730096353738";
const OTHER_ACCOUNT = "111122223333";
const REGION = "us-east-1";
const ASSOCIATION = "aws:ssm/association:Association";
const EMAIL = { "ecr-sync:alertEmail": "kuali-oncall@example.edu" };

const T = {
  role: "aws:iam/role:Role",
  instanceProfile: "aws:iam/instanceProfile:InstanceProfile",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  queue: "aws:sqs/queue:Queue",
  topic: "aws:sns/topic:Topic",
  rule: "aws:cloudwatch/eventRule:EventRule",
  function: "aws:lambda/function:Function",
  document: "aws:ssm/document:Document",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  schedule: "aws:scheduler/schedule:Schedule",
  instance: "aws:ec2/instance:Instance",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  bucket: "aws:s3/bucket:Bucket",
  bucketObject: "aws:s3/bucketObjectv2:BucketObjectv2",
};

/**
 * A stack as the deploy role sees it: the types it uses, where it deploys, and its policy, built
 * when first asked for (a type without an entry fails the test that asks, not the whole suite).
 */
class Deployed {
  readonly account: string;
  readonly types: string[];
  private built: PolicyDocument | undefined;

  constructor(
    readonly label: string,
    readonly rendering: Rendering,
    private readonly config: Record<string, unknown> = {},
    /** Types another change is about to add, which the rendering does not have yet. */
    private readonly extra: string[] = [],
  ) {
    this.account = deployScopeOf(rendering, readStackConfig(rendering.stack, config)).account;
    const used = [...rendering.resources.map((r) => r.type), ...rendering.invokes, ...extra];
    this.types = [...new Set(used)].sort();
  }

  /** What synth --deploy-policy prints for the stack (plus the extra types). */
  get policy(): PolicyDocument {
    const config = readStackConfig(this.rendering.stack, this.config);
    this.built ??=
      this.extra.length === 0
        ? deployPolicyOf(this.rendering, config)
        : deployPolicy(deployScopeOf(this.rendering, config), this.types);
    return this.built;
  }
}

/** The deploy role's session, as GitHub's OIDC job gets it. */
const deployer = (account: string) => `arn:aws:sts::${account}:assumed-role/ecr-sync-deploy/github-actions`;

/**
 * The stack's own resources of each kind, from the rendering: their ARNs as the mocks report them.
 * A kind the stack renders nothing of (the root volume, an association, legacy's instance
 * profiles) is tried on one ARN the way AWS would name it in the stack's account.
 */
function ownArns(r: Rendering, account: string, kind: Exclude<ResourceKind, "*">): string[] {
  const arns = (type: string) => resourcesOfType(r, type).map((x) => String(x.state.arn));
  const ec2 = (path: string) => `arn:aws:ec2:${REGION}:${account}:${path}`;
  const worker = resourcesOfType(r, T.instance)[0];
  const group = resourcesOfType(r, T.securityGroup)[0];
  const rendered: Record<Exclude<ResourceKind, "*">, string[]> = {
    role: arns(T.role),
    instanceProfile: arns(T.instanceProfile),
    logGroup: arns(T.logGroup).flatMap((arn) => [arn, `${arn}:*`]),
    sqsQueue: arns(T.queue),
    // Subscriptions (TOPIC:ID) are authorised as the topic's; iam-simulate parses only the topic's ARN.
    snsTopic: arns(T.topic),
    eventRule: arns(T.rule),
    lambdaFunction: arns(T.function),
    ssmDocument: arns(T.document),
    alarm: arns(T.alarm),
    dashboard: resourcesOfType(r, T.dashboard).map((x) => String(x.state.dashboardArn)),
    scheduleGroup: arns(T.scheduleGroup),
    schedule: arns(T.schedule),
    instance: arns(T.instance),
    securityGroup: arns(T.securityGroup),
    subnet: worker === undefined ? [] : [ec2(`subnet/${String(worker.inputs.subnetId)}`)],
    vpc: group === undefined ? [] : [ec2(`vpc/${String(group.inputs.vpcId)}`)],
    networkInterface:
      worker === undefined
        ? []
        : [ec2(`network-interface/${String(worker.state.primaryNetworkInterfaceId)}`)],
    image: worker === undefined ? [] : [`arn:aws:ec2:${REGION}::image/${String(worker.inputs.ami)}`],
    volume: [],
    publicParameter: [`arn:aws:ssm:${REGION}::parameter${CONFIG_DEFAULTS.workerAmiParameter}`],
    ssmAgentUpdateDocument: [`arn:aws:ssm:${REGION}::document/AWS-UpdateSSMAgent`],
    association: [],
    s3Bucket: arns(T.bucket),
    s3Object: resourcesOfType(r, T.bucketObject).map(
      (x) => `arn:aws:s3:::${String(x.inputs.bucket)}/${String(x.inputs.key)}`,
    ),
  };
  if (rendered[kind].length > 0) return rendered[kind];
  const sample: Partial<Record<ResourceKind, string>> = {
    volume: ec2("volume/vol-0123456789abcdef0"),
    association: `arn:aws:ssm:${REGION}:${account}:association/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`,
    instanceProfile: `arn:aws:iam::${account}:instance-profile/ecr-sync-worker`,
    s3Object: `arn:aws:s3:::ecr-sync-copier-0a1b2c3/copier/${"0".repeat(64)}.cjs`,
  };
  return sample[kind] === undefined ? [] : [sample[kind]];
}

/**
 * AWS-owned resources (the public AMI parameter, the AWS-UpdateSSMAgent document) have ARNs with an
 * empty account field, which iam-simulate cannot parse: for these the test matches the policy's
 * unconditional statements itself, as IAM matches Resource patterns.
 */
const AWS_OWNED = /^arn:aws:[a-z0-9-]+:[a-z0-9-]+::(parameter|document)\//;
function allowedByPatterns(policy: PolicyDocument, action: string, arn: string): boolean {
  return policy.Statement.some(
    (s) =>
      s.Condition === undefined &&
      ([] as string[]).concat(s.Action).includes(action) &&
      ([] as string[]).concat(s.Resource ?? []).some((pattern) => arnMatches(pattern, arn)),
  );
}

/** The request context of a grant's condition: what AWS adds to such a request. */
function contextOf(
  when: ConditionName | undefined,
  nameTag: string,
  account: string,
): Record<string, string> {
  if (when === "inStackAccount") return { "aws:ResourceAccount": account };
  if (when === "nameTagged") return { "aws:ResourceTag/Name": nameTag };
  if (when === "launchedWithName") return { "aws:RequestTag/Name": nameTag };
  if (when === "taggedAtLaunch") return { "ec2:CreateAction": "RunInstances" };
  return {};
}

/** iam-simulate's answer, or the reason it refuses the request ("no.resource.types": the action takes no such resource). */
async function decide(
  policy: PolicyDocument,
  principal: string,
  action: string,
  resource: string,
  context: Record<string, string> = {},
  resourcePolicy?: PolicyDocument,
): Promise<string> {
  try {
    return await evaluate({
      identityPolicies: [policy],
      principal,
      action,
      resource,
      context,
      resourcePolicy,
    });
  } catch (error) {
    const refusal = /no\.resource\.types|must\.use\.wildcard|invalid\.action|multiple\.resource\.types/.exec(
      String(error),
    );
    if (refusal === null) throw error;
    return refusal[0];
  }
}

const EVERYTHING: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

/**
 * Whether `action` acts on `resource` at all: iam-simulate refuses a request whose resource is not
 * of a type the action takes (by the Service Authorization Reference). AWS-owned ARNs it cannot
 * parse are taken as they are.
 */
async function takes(account: string, action: string, resource: string): Promise<boolean> {
  if (AWS_OWNED.test(resource)) return true;
  return (await decide(EVERYTHING, deployer(account), action, resource)) === "Allowed";
}

/** One request a grant exists for: an action on one of the stack's own resources, with its condition. */
interface OwnRequest {
  readonly type: string;
  readonly action: string;
  readonly resource: string;
  readonly when: ConditionName | undefined;
}

/**
 * Every request the grants of the stack's types stand for, on its own rendered resources: each
 * action on each resource of its grant's kinds that the action takes (RunInstances takes all five
 * of its grant, a tag action of the association grant only the association and the document), and
 * the actions no such resource fits.
 */
const requestsOf = new Map<Deployed, Promise<{ requests: OwnRequest[]; untested: string[] }>>();
function ownRequests(d: Deployed): Promise<{ requests: OwnRequest[]; untested: string[] }> {
  let found = requestsOf.get(d);
  if (found === undefined) {
    found = (async () => {
      const requests: OwnRequest[] = [];
      const untested: string[] = [];
      for (const type of d.types) {
        for (const grant of DEPLOY_PERMISSIONS[type]) {
          const resources = grant.on.flatMap((kind) =>
            kind === "*" ? ["*"] : ownArns(d.rendering, d.account, kind),
          );
          for (const action of grantActions(grant)) {
            let fits = 0;
            for (const resource of resources) {
              if (!(await takes(d.account, action, resource))) continue;
              fits++;
              requests.push({ type, action, resource, when: grant.when });
            }
            if (fits === 0) untested.push(`${type}: ${action} on ${grant.on.join(", ")}`);
          }
        }
      }
      return { requests, untested };
    })();
    requestsOf.set(d, found);
  }
  return found;
}

/** The Name tag of the stack's worker ("" for a stack without one). */
function nameTagOf(d: Deployed): string {
  const worker = resourcesOfType(d.rendering, T.instance)[0];
  return worker === undefined ? "" : String((worker.inputs.tags as Record<string, string>).Name);
}

/** The decision on an own request, with the context its condition needs, for a worker tagged `nameTag`. */
async function decideOwn(
  d: Deployed,
  r: OwnRequest,
  context = contextOf(r.when, nameTagOf(d), d.account),
): Promise<string> {
  if (AWS_OWNED.test(r.resource))
    return allowedByPatterns(d.policy, r.action, r.resource) ? "Allowed" : "ImplicitlyDenied";
  return decide(d.policy, deployer(d.account), r.action, r.resource, context);
}

describe("deploy policy (components/deploy-permissions.ts, synth --deploy-policy)", function () {
  this.timeout(180000);
  let stacks: Deployed[];
  let css: Deployed;
  let legacy: Deployed;

  before(async () => {
    const [cssRendering, withEmail, legacyRendering] = await Promise.all([
      renderStack("css"),
      renderStack("css", { config: EMAIL }),
      renderStack("legacy"),
    ]);
    css = new Deployed("css", cssRendering);
    legacy = new Deployed("legacy", legacyRendering);
    stacks = [
      css,
      new Deployed("css with an alert e-mail", withEmail, EMAIL),
      // The State Manager association another change adds: its entry is ready before it renders.
      new Deployed("css with an SSM agent association", cssRendering, {}, [ASSOCIATION]),
      legacy,
    ];
  });

  describe("the table", () => {
    it("has an entry for every resource type and data source the rendered stacks use", () => {
      for (const { label, types } of stacks) {
        const missing = types.filter((type) => !Object.hasOwn(DEPLOY_PERMISSIONS, type));
        expect(missing, `${label}: types without deploy permissions`).to.deep.equal([]);
      }
      expect(css.rendering.invokes).to.include.members([
        "aws:ssm/getParameter:getParameter",
        "aws:ec2/getSubnet:getSubnet",
      ]);
      expect(legacy.types).to.include("pulumi:pulumi:StackReference");
    });

    it("refuses a type without an entry, naming it and the table", () => {
      const scope = { account: CSS, region: REGION, namePrefix: "ecr-sync" };
      expect(() => deployPolicy(scope, [T.role, "aws:rds/instance:Instance"])).to.throw(
        "no deploy permissions for aws:rds/instance:Instance: add what pulumi calls for it to DEPLOY_PERMISSIONS in components/deploy-permissions.ts",
      );
    });

    it('grants on "*" only actions that take no resource, and "*" alone', async () => {
      for (const [type, grants] of Object.entries(DEPLOY_PERMISSIONS)) {
        for (const grant of grants.filter((g) => g.on.includes("*"))) {
          expect(grant.on, type).to.deep.equal(["*"]);
          for (const action of grantActions(grant)) {
            const answer = await decide(
              EVERYTHING,
              deployer(CSS),
              action,
              `arn:aws:iam::${CSS}:role/ecr-sync-x`,
            );
            expect(answer, `${type}: ${action} takes a resource: scope it`).to.equal("must.use.wildcard");
          }
        }
      }
    });
  });

  describe("allows", () => {
    it("every action of every rendered type on the stack's own rendered resources", async () => {
      for (const d of stacks) {
        const { requests, untested } = await ownRequests(d);
        expect(untested, `${d.label}: actions that take none of their grant's resources`).to.deep.equal([]);
        expect(requests.length, d.label).to.be.above(d === legacy ? 10 : 150);
        const denied: string[] = [];
        for (const r of requests) {
          const answer = await decideOwn(d, r);
          if (answer !== "Allowed") denied.push(`${r.type}: ${r.action} ${r.resource}: ${answer}`);
        }
        expect(denied, `${d.label}: denied to the deploy role`).to.deep.equal([]);
      }
    });

    it("the public AMI parameter and the association's AWS-UpdateSSMAgent document, and no other", () => {
      const association = stacks[2].policy;
      const parameter = (name: string) => `arn:aws:ssm:${REGION}::parameter${name}`;
      const document = (name: string) => `arn:aws:ssm:${REGION}::document/${name}`;
      expect(
        allowedByPatterns(css.policy, "ssm:GetParameter", parameter(CONFIG_DEFAULTS.workerAmiParameter)),
      ).to.equal(true);
      expect(allowedByPatterns(css.policy, "ssm:GetParameter", parameter("/ecr-sync/secret"))).to.equal(
        false,
      );
      expect(
        allowedByPatterns(association, "ssm:CreateAssociation", document("AWS-UpdateSSMAgent")),
      ).to.equal(true);
      expect(
        allowedByPatterns(association, "ssm:CreateAssociation", document("AWS-RunShellScript")),
      ).to.equal(false);
      // The css stack renders the association itself (components/worker.ts).
      expect(allowedByPatterns(css.policy, "ssm:CreateAssociation", document("AWS-UpdateSSMAgent"))).to.equal(
        true,
      );
      expect(allowedByPatterns(css.policy, "ssm:CreateAssociation", document("AWS-RunShellScript"))).to.equal(
        false,
      );
    });

    it("and fits in a role's inline policies (10,240 characters, whitespace not counted)", () => {
      for (const { label, policy } of stacks) {
        expect(JSON.stringify(policy).replace(/\s/g, "").length, label).to.be.below(10240);
      }
    });
  });

  describe("denies", () => {
    it("every listed action on another account's resources (control: allowed under an allow-everything policy)", async () => {
      const trusting = (account: string): PolicyDocument => ({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${account}:role/ecr-sync-deploy` },
            Action: "*",
            Resource: "*",
          },
        ],
      });
      for (const d of [css, legacy]) {
        const inAccount = (await ownRequests(d)).requests.filter((r) =>
          r.resource.includes(`:${d.account}:`),
        );
        expect(inAccount.length, d.label).to.be.above(10);
        const allowed: string[] = [];
        for (const r of inAccount) {
          const resource = r.resource.replace(`:${d.account}:`, `:${OTHER_ACCOUNT}:`);
          const context = contextOf(r.when, nameTagOf(d), d.account);
          const answer = await decide(
            d.policy,
            deployer(d.account),
            r.action,
            resource,
            context,
            trusting(d.account),
          );
          if (answer !== "ImplicitlyDenied") allowed.push(`${r.action} ${resource}: ${answer}`);
        }
        expect(allowed, `${d.label}: not denied in ${OTHER_ACCOUNT}`).to.deep.equal([]);
      }
      const otherQueue = `arn:aws:sqs:${REGION}:${OTHER_ACCOUNT}:ecr-sync-dead-letters`;
      expect(
        await decide(EVERYTHING, deployer(CSS), "sqs:DeleteQueue", otherQueue, {}, trusting(CSS)),
      ).to.equal("Allowed");
      expect(
        await decide(css.policy, deployer(CSS), "sqs:DeleteQueue", otherQueue, {}, trusting(CSS)),
      ).to.equal("ImplicitlyDenied");
    });

    it("every S3 action on a bucket or object of another account, which S3 ARNs cannot tell apart (control: allowed in the stack's own account)", async () => {
      const s3 = (await ownRequests(css)).requests.filter((r) => r.resource.startsWith("arn:aws:s3:::"));
      expect(s3.length).to.be.above(30);
      const allowed: string[] = [];
      for (const r of s3) {
        expect(r.when, `${r.type}: ${r.action}`).to.equal("inStackAccount");
        const elsewhere = { "aws:ResourceAccount": OTHER_ACCOUNT };
        const answer = await decide(css.policy, deployer(CSS), r.action, r.resource, elsewhere);
        if (answer !== "ImplicitlyDenied") allowed.push(`${r.action} ${r.resource}: ${answer}`);
      }
      expect(allowed, "not denied on another account's bucket").to.deep.equal([]);
      const [first] = s3;
      expect(await decideOwn(css, first)).to.equal("Allowed");
    });

    it("every listed action on names of another prefix in the stack's own account", async () => {
      for (const d of [css, legacy]) {
        const named = (await ownRequests(d)).requests.filter((r) => r.resource.includes("ecr-sync"));
        expect(named.length, d.label).to.be.above(10);
        const allowed: string[] = [];
        for (const r of named) {
          const resource = r.resource.replaceAll("ecr-sync", "other-app");
          const answer = await decideOwn(d, { ...r, resource });
          if (answer !== "ImplicitlyDenied") allowed.push(`${r.action} ${resource}: ${answer}`);
        }
        expect(allowed, `${d.label}: not denied outside the stack's names`).to.deep.equal([]);
      }
    });

    it("launching, tagging, changing or terminating an instance without the stack's Name tag", async () => {
      // EC2's own actions; the association's SSM calls name the instance too, but only with the
      // AWS-UpdateSSMAgent document (the test above), which only updates an agent.
      const onInstances = (await ownRequests(css)).requests.filter(
        (r) => r.resource.includes(":instance/") && r.action.startsWith("ec2:"),
      );
      expect(onInstances.map((r) => r.action)).to.include.members([
        "ec2:RunInstances",
        "ec2:CreateTags",
        "ec2:ModifyInstanceAttribute",
        "ec2:TerminateInstances",
      ]);
      // Another team's instance, or one launched with another Name; a CreateTags outside a launch.
      const foreign = {
        "aws:ResourceTag/Name": "other-app-worker",
        "aws:RequestTag/Name": "other-app-worker",
      };
      const allowed: string[] = [];
      for (const r of onInstances) {
        if ((await decideOwn(css, r, foreign)) !== "ImplicitlyDenied")
          allowed.push(`${r.action} ${r.resource}`);
      }
      expect(allowed, "allowed on an instance tagged Name=other-app-worker").to.deep.equal([]);
    });

    it("what no entry lists: iam:CreateUser, iam:PassRole of another role, the service-linked role, managed policies", async () => {
      const serviceLinkedRole = `arn:aws:iam::${CSS}:role/aws-service-role/events.amazonaws.com/AWSServiceRoleForCloudWatchEvents`;
      const cases: [PolicyDocument, string, string][] = [
        [css.policy, "iam:CreateUser", `arn:aws:iam::${CSS}:user/ecr-sync-deployer`],
        [css.policy, "iam:PassRole", `arn:aws:iam::${CSS}:role/OrganizationAccountAccessRole`],
        [css.policy, "iam:PassRole", serviceLinkedRole],
        [css.policy, "iam:CreateServiceLinkedRole", serviceLinkedRole],
        [css.policy, "iam:AttachRolePolicy", `arn:aws:iam::${CSS}:role/ecr-sync-worker`],
        [css.policy, "ssm:SendCommand", `arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-copy-image`],
        [css.policy, "ecr:PutImage", `arn:aws:ecr:${REGION}:${CSS}:repository/kuali-coeus`],
        [legacy.policy, "iam:CreateUser", `arn:aws:iam::${LEGACY}:user/ecr-sync-deployer`],
        [legacy.policy, "iam:PassRole", `arn:aws:iam::${LEGACY}:role/ecr-sync-target`],
        [legacy.policy, "ecr:CreateRepository", `arn:aws:ecr:${REGION}:${LEGACY}:repository/coeus`],
      ];
      for (const [policy, action, resource] of cases) {
        const account = resource.split(":")[4];
        expect(await decide(policy, deployer(account), action, resource), `${action} ${resource}`).to.equal(
          "ImplicitlyDenied",
        );
      }
    });
  });

  it("is not printed for a stack with a resource named outside the prefix (a role), naming it", () => {
    const renamed: Rendering = {
      ...legacy.rendering,
      resources: legacy.rendering.resources.map((r) =>
        r.type === T.role
          ? { ...r, state: { ...r.state, arn: `arn:aws:iam::${LEGACY}:role/kuali-target` } }
          : r,
      ),
    };
    expect(() => deployPolicyOf(renamed, readStackConfig("legacy"))).to.throw(
      `stack legacy: the deploy policy would not cover ecr-sync-role (arn:aws:iam::${LEGACY}:role/kuali-target): its names must start with ecr-sync-`,
    );
  });
});

/**
 * IAM semantics of components/policies.ts: each document is evaluated with iam-simulate the way IAM
 * evaluates a request (identity policy, trust policy, same- and cross-account rules), for requests
 * that must be allowed and requests that must be denied. Denials that hinge on one condition are
 * paired with a control that flips only that condition, so the test shows the denial comes from
 * the policy under test and not from an unrelated gap.
 */
import { expect } from "chai";
import {
  alertTopicPolicy,
  copierBucketPolicy,
  deadLetterQueuePolicy,
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
import { copierObjectKey, repositoryArn, roleArn } from "../../components/arns";
import { Decision, evaluate, IamRequest } from "../../local/iam";

const CSS = "770203350335";
const LEGACY = "730096353738";
const THIRD = "111122223333";
const REGION = "us-east-1";

const WORKER_ROLE = roleArn(CSS, "ecr-sync-worker");
const WORKER_SESSION = `arn:aws:sts::${CSS}:assumed-role/ecr-sync-worker/i-0123456789abcdef0`;
const TARGET_ROLE = roleArn(LEGACY, "ecr-sync-target");
const TARGET_SESSION = `arn:aws:sts::${LEGACY}:assumed-role/ecr-sync-target/ecr-sync-copy`;
const LAMBDA_SESSION = `arn:aws:sts::${CSS}:assumed-role/ecr-sync-trigger/ecr-sync-trigger-fn`;

const COMMAND_LOG_GROUP = `arn:aws:logs:${REGION}:${CSS}:log-group:/ecr-sync/commands`;
const RESULTS_LOG_GROUP = `arn:aws:logs:${REGION}:${CSS}:log-group:/ecr-sync/results`;
const LAMBDA_LOG_GROUP = `arn:aws:logs:${REGION}:${CSS}:log-group:/aws/lambda/ecr-sync-trigger`;
const SYNC_DOCUMENT = `arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-copy`;
const WORKER_INSTANCE = `arn:aws:ec2:${REGION}:${CSS}:instance/i-0123456789abcdef0`;
/** The copier's bucket (components/copier-artifact.ts), as Pulumi autonames it. */
const COPIER_BUCKET = "ecr-sync-copier-0a1b2c3";

const source = (name: string, account = CSS, region = REGION) => repositoryArn(account, region, name);
const target = (name: string) => repositoryArn(LEGACY, REGION, name);

const WORKER_POLICIES = [
  workerPolicy({
    sourceRepositoryArns: [source("kuali-coeus"), source("kuali-coeus-feature")],
    targetRoleArn: TARGET_ROLE,
    commandLogGroupArn: COMMAND_LOG_GROUP,
    copierBucketName: COPIER_BUCKET,
  }),
  workerSsmAgentPolicy(),
  workerTelemetryPolicy({ resultsLogGroupArn: RESULTS_LOG_GROUP }),
];
const TARGET_POLICIES = [
  targetRolePolicy({ targetRepositoryArns: [target("coeus"), target("coeus-feature")] }),
];
const TARGET_TRUST = targetRoleTrustPolicy({
  sourceAccountId: CSS,
  workerRoleArn: WORKER_ROLE,
  workerInstanceArn: WORKER_INSTANCE,
});
/** Another instance of the css account, e.g. one someone started with the worker's instance profile. */
const OTHER_INSTANCE = `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`;
/**
 * What AWS attaches to a request signed with credentials EC2 delivered to an instance
 * (ec2:SourceInstanceArn, "included in the request context whenever the role session is created by
 * an Amazon EC2 instance"); the simulator does not add it, so each case states it.
 */
const fromInstance = (instanceArn: string) => ({ "ec2:SourceInstanceArn": instanceArn });
const LAMBDA_POLICIES = [
  lambdaPolicy({ documentArn: SYNC_DOCUMENT, instanceArn: WORKER_INSTANCE, logGroupArn: LAMBDA_LOG_GROUP }),
];

/** What an administrator-like caller holds: any role may be assumed, as far as its own account is concerned. */
const MAY_ASSUME_ANY_ROLE: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }],
};

interface Case extends IamRequest {
  name: string;
  expected: Decision;
}

function matrix(cases: Case[]): void {
  for (const { name, expected, ...request } of cases) {
    it(name, async () => {
      expect(await evaluate(request), `${request.principal} ${request.action} ${request.resource}`).to.equal(
        expected,
      );
    });
  }
}

describe("least privilege, evaluated as IAM does (components/policies.ts)", () => {
  describe("worker role: reads the mapped source repositories only", () => {
    const worker = { principal: WORKER_SESSION, identityPolicies: WORKER_POLICIES };
    matrix([
      ...["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"].map(
        (action) => ({
          ...worker,
          name: `pulls from kuali-coeus (${action})`,
          action,
          resource: source("kuali-coeus"),
          expected: "Allowed" as const,
        }),
      ),
      {
        ...worker,
        name: "pulls from kuali-coeus-feature",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus-feature"),
        expected: "Allowed",
      },
      ...["ecr:ListImages", "ecr:DescribeImages", "ecr:DescribeRepositories"].map((action) => ({
        ...worker,
        name: `lists tags and digests of kuali-coeus for reconcile (${action})`,
        action,
        resource: source("kuali-coeus"),
        expected: "Allowed" as const,
      })),
      {
        ...worker,
        name: "gets an ECR authorization token",
        action: "ecr:GetAuthorizationToken",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...worker,
        name: "does not pull from an unmapped repository in the css account",
        action: "ecr:BatchGetImage",
        resource: source("kuali-other"),
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not pull a repository whose name merely starts like a mapped one",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus-feature-x"),
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not pull kuali-coeus of another account",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus", THIRD),
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not pull kuali-coeus of another region",
        action: "ecr:BatchGetImage",
        resource: source("kuali-coeus", CSS, "us-west-2"),
        expected: "ImplicitlyDenied",
      },
      ...["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"].map(
        (action) => ({
          ...worker,
          name: `cannot push to a source repository (${action})`,
          action,
          resource: source("kuali-coeus"),
          expected: "ImplicitlyDenied" as const,
        }),
      ),
      {
        ...worker,
        name: "cannot delete source images",
        action: "ecr:BatchDeleteImage",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "cannot delete a source repository",
        action: "ecr:DeleteRepository",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "cannot change a source repository's policy",
        action: "ecr:SetRepositoryPolicy",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("worker role: reads the copier's bundles and nothing else of S3", () => {
    const worker = { principal: WORKER_SESSION, identityPolicies: WORKER_POLICIES };
    const bundle = `arn:aws:s3:::${COPIER_BUCKET}/${copierObjectKey("a".repeat(64))}`;
    const object = (key: string, bucket = COPIER_BUCKET) => `arn:aws:s3:::${bucket}/${key}`;
    // S3 ARNs name no account: the simulator is told the bucket is the css account's own.
    const inCss = { resourceAccount: CSS };
    matrix([
      {
        ...worker,
        ...inCss,
        name: "reads a bundle under copier/ (aws s3 cp: HeadObject and GetObject are both s3:GetObject)",
        action: "s3:GetObject",
        resource: bundle,
        expected: "Allowed",
      },
      ...[
        ["an object outside copier/", object("other/x.cjs")],
        ["a key that only starts like the prefix (copiers/)", object("copiers/x.cjs")],
        ["the bucket's root", object("x.cjs")],
        [
          "copier/ of a bucket whose name only starts like it",
          object("copier/x.cjs", `${COPIER_BUCKET}-evil`),
        ],
        ["copier/ of another bucket", object("copier/x.cjs", "someone-elses-bucket")],
      ].map(([what, resource]) => ({
        ...worker,
        ...inCss,
        name: `does not read ${what}`,
        action: "s3:GetObject",
        resource,
        expected: "ImplicitlyDenied" as const,
      })),
      ...["s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion", "s3:PutObjectAcl", "s3:GetObjectAcl"].map(
        (action) => ({
          ...worker,
          ...inCss,
          name: `cannot ${action} a bundle`,
          action,
          resource: bundle,
          expected: "ImplicitlyDenied" as const,
        }),
      ),
      ...["s3:ListBucket", "s3:ListBucketVersions", "s3:PutBucketPolicy", "s3:DeleteBucket"].map(
        (action) => ({
          ...worker,
          ...inCss,
          name: `cannot ${action} on the bucket`,
          action,
          resource: `arn:aws:s3:::${COPIER_BUCKET}`,
          expected: "ImplicitlyDenied" as const,
        }),
      ),
    ]);
  });

  describe("copier bucket policy: every request without TLS is refused, whoever makes it", () => {
    const bucket = `arn:aws:s3:::${COPIER_BUCKET}`;
    const bundle = `${bucket}/${copierObjectKey("b".repeat(64))}`;
    const MAY_DO_ANYTHING: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    };
    const caller = {
      principal: roleArn(CSS, "administrator"),
      identityPolicies: [MAY_DO_ANYTHING],
      resourcePolicy: copierBucketPolicy({ bucketName: COPIER_BUCKET }),
      resourceAccount: CSS,
    };
    const tls = (secure: "true" | "false") => ({ "aws:SecureTransport": secure });
    matrix([
      ...(
        [
          ["s3:GetObject", bundle],
          ["s3:PutObject", bundle],
          ["s3:ListBucket", bucket],
          ["s3:PutBucketPolicy", bucket],
        ] as const
      ).flatMap(([action, resource]) => [
        {
          ...caller,
          name: `refuses ${action} over plain HTTP, even to an administrator`,
          action,
          resource,
          context: tls("false"),
          expected: "ExplicitlyDenied" as const,
        },
        {
          ...caller,
          name: `leaves ${action} over TLS to the caller's own policies (control)`,
          action,
          resource,
          context: tls("true"),
          expected: "Allowed" as const,
        },
      ]),
      {
        principal: WORKER_SESSION,
        identityPolicies: WORKER_POLICIES,
        resourcePolicy: copierBucketPolicy({ bucketName: COPIER_BUCKET }),
        resourceAccount: CSS,
        name: "refuses the worker's own read over plain HTTP",
        action: "s3:GetObject",
        resource: bundle,
        context: tls("false"),
        expected: "ExplicitlyDenied",
      },
      {
        principal: WORKER_SESSION,
        identityPolicies: WORKER_POLICIES,
        resourcePolicy: copierBucketPolicy({ bucketName: COPIER_BUCKET }),
        resourceAccount: CSS,
        name: "lets the worker read a bundle over TLS (control)",
        action: "s3:GetObject",
        resource: bundle,
        context: tls("true"),
        expected: "Allowed",
      },
      {
        principal: `arn:aws:iam::${THIRD}:root`,
        identityPolicies: [MAY_DO_ANYTHING],
        resourcePolicy: copierBucketPolicy({ bucketName: COPIER_BUCKET }),
        resourceAccount: CSS,
        name: "grants another account nothing, even over TLS",
        action: "s3:GetObject",
        resource: bundle,
        context: tls("true"),
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("worker role: assumes the target role and no other", () => {
    const worker = {
      principal: WORKER_SESSION,
      identityPolicies: WORKER_POLICIES,
      action: "sts:AssumeRole",
      context: fromInstance(WORKER_INSTANCE),
    };
    /** A role in the legacy account that trusts the whole css account: only the worker's own policy can stop it. */
    const openTrust: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${CSS}:root` }, Action: "sts:AssumeRole" },
      ],
    };
    matrix([
      {
        ...worker,
        name: "assumes the target role (its policy and the role's trust agree)",
        resource: TARGET_ROLE,
        resourcePolicy: TARGET_TRUST,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "control: the same open-trust role is assumable when named as the target",
        resource: TARGET_ROLE,
        resourcePolicy: openTrust,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "does not assume another legacy role, even one that trusts the css account",
        resource: roleArn(LEGACY, "legacy-admin"),
        resourcePolicy: openTrust,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not assume another role in its own account",
        resource: roleArn(CSS, "css-admin"),
        resourcePolicy: {
          ...openTrust,
          Statement: [{ ...openTrust.Statement[0], Principal: { AWS: `arn:aws:iam::${CSS}:root` } }],
        },
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("worker role: command output and the SSM agent", () => {
    const worker = { principal: WORKER_SESSION, identityPolicies: WORKER_POLICIES };
    const stream = `${COMMAND_LOG_GROUP}:log-stream:0a1b2c3d-command/i-0123456789abcdef0/aws-runShellScript/stdout`;
    matrix([
      {
        ...worker,
        name: "creates a stream in the command-output log group",
        action: "logs:CreateLogStream",
        resource: stream,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "writes command output to that stream",
        action: "logs:PutLogEvents",
        resource: stream,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "finds its streams in the command-output log group",
        action: "logs:DescribeLogStreams",
        resource: COMMAND_LOG_GROUP,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "checks that the command-output log group exists",
        action: "logs:DescribeLogGroups",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...worker,
        name: "does not write to another log group",
        action: "logs:PutLogEvents",
        resource: `${LAMBDA_LOG_GROUP}:log-stream:x`,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not read log events back",
        action: "logs:GetLogEvents",
        resource: stream,
        expected: "ImplicitlyDenied",
      },
      // The SSM agent's CreateLogGroup before streaming: on the existing command group only.
      ...[COMMAND_LOG_GROUP, `${COMMAND_LOG_GROUP}:*`].map((resource) => ({
        ...worker,
        name: `may create the command-output log group, which already exists (${resource.endsWith(":*") ? "ARN with :*" : "bare ARN"})`,
        action: "logs:CreateLogGroup",
        resource,
        expected: "Allowed" as const,
      })),
      ...[
        "/other",
        "/aws/lambda/ecr-sync-trigger",
        "/ecr-sync/commands-2",
        "/ecr-sync/commands/nested",
        "/ecr-sync",
      ].map((name) => ({
        ...worker,
        name: `does not create any other log group (${name})`,
        action: "logs:CreateLogGroup",
        resource: `arn:aws:logs:${REGION}:${CSS}:log-group:${name}`,
        expected: "ImplicitlyDenied" as const,
      })),
      {
        ...worker,
        name: "does not create the command-output log group's namesake in another account",
        action: "logs:CreateLogGroup",
        resource: `arn:aws:logs:${REGION}:${THIRD}:log-group:/ecr-sync/commands`,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "reports how its association ran",
        action: "ssm:UpdateInstanceAssociationStatus",
        resource: WORKER_INSTANCE,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "does not read ecr-sync's own documents (Run Command delivers them)",
        action: "ssm:GetDocument",
        resource: SYNC_DOCUMENT,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "downloads agent updates from AWS's agent bucket",
        action: "s3:GetObject",
        resource: `arn:aws:s3:::amazon-ssm-${REGION}/latest/debian_arm64/amazon-ssm-agent.deb`,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "reads no other bucket",
        action: "s3:GetObject",
        resource: "arn:aws:s3:::some-other-bucket/key",
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "creates no associations itself",
        action: "ssm:CreateAssociation",
        resource: WORKER_INSTANCE,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "registers with Systems Manager",
        action: "ssm:UpdateInstanceInformation",
        resource: WORKER_INSTANCE,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "receives Run Command messages",
        action: "ec2messages:GetMessages",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...worker,
        name: "opens the Session Manager control channel",
        action: "ssmmessages:OpenControlChannel",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...worker,
        name: "does not read SSM parameters (dropped from AmazonSSMManagedInstanceCore)",
        action: "ssm:GetParameter",
        resource: `arn:aws:ssm:${REGION}:${CSS}:parameter/secret`,
        expected: "ImplicitlyDenied",
      },
      {
        ...worker,
        name: "does not send commands itself",
        action: "ssm:SendCommand",
        resource: SYNC_DOCUMENT,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("worker role: the copier's telemetry, in the ecr-sync namespace and the results log group only", () => {
    const worker = { principal: WORKER_SESSION, identityPolicies: WORKER_POLICIES };
    const namespace = (ns: string) => ({ context: { "cloudwatch:namespace": ns } });
    const stream = `${RESULTS_LOG_GROUP}:log-stream:i-0123456789abcdef0/2026-12-07T03-00-00.000Z/4242`;
    matrix([
      {
        ...worker,
        ...namespace("ecr-sync"),
        name: "publishes figures in the ecr-sync namespace",
        action: "cloudwatch:PutMetricData",
        resource: "*",
        expected: "Allowed",
      },
      // The same call, the namespace the only difference: the denial is the condition's.
      ...["AWS/EC2", "ecr-sync-other", "Ecr-Sync", "ecr-sync/x", ""].map((ns) => ({
        ...worker,
        ...namespace(ns),
        name: `does not publish figures in namespace ${JSON.stringify(ns)}`,
        action: "cloudwatch:PutMetricData",
        resource: "*",
        expected: "ImplicitlyDenied" as const,
      })),
      {
        ...worker,
        name: "does not publish figures when the request names no namespace",
        action: "cloudwatch:PutMetricData",
        resource: "*",
        expected: "ImplicitlyDenied",
      },
      ...["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:SetAlarmState"].map(
        (action) => ({
          ...worker,
          ...namespace("ecr-sync"),
          name: `does not touch the alarms (${action})`,
          action,
          resource: `arn:aws:cloudwatch:${REGION}:${CSS}:alarm:ecr-sync-no-reconcile`,
          expected: "ImplicitlyDenied" as const,
        }),
      ),
      {
        ...worker,
        name: "creates its run's stream in the results log group",
        action: "logs:CreateLogStream",
        resource: stream,
        expected: "Allowed",
      },
      {
        ...worker,
        name: "writes its result lines to that stream",
        action: "logs:PutLogEvents",
        resource: stream,
        expected: "Allowed",
      },
      ...["/ecr-sync/results-2", "/ecr-sync/resultsx", "/ecr-sync/results/nested", "/other"].map((name) => ({
        ...worker,
        name: `does not write to log group ${name}`,
        action: "logs:PutLogEvents",
        resource: `arn:aws:logs:${REGION}:${CSS}:log-group:${name}:log-stream:x`,
        expected: "ImplicitlyDenied" as const,
      })),
      ...[
        ["creates the results log group", "logs:CreateLogGroup", RESULTS_LOG_GROUP],
        ["deletes a stream of it", "logs:DeleteLogStream", stream],
        ["reads its events back", "logs:GetLogEvents", stream],
        ["changes its retention", "logs:PutRetentionPolicy", RESULTS_LOG_GROUP],
      ].map(([what, action, resource]) => ({
        ...worker,
        name: `does not: ${what} (${action})`,
        action,
        resource,
        expected: "ImplicitlyDenied" as const,
      })),
    ]);
  });

  describe("target role: pushes to the mapped target repositories only", () => {
    const targetRole = { principal: TARGET_SESSION, identityPolicies: TARGET_POLICIES };
    const push = [
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchCheckLayerAvailability",
    ];
    matrix([
      ...["coeus", "coeus-feature"].flatMap((repository) =>
        push.map((action) => ({
          ...targetRole,
          name: `pushes to ${repository} (${action})`,
          action,
          resource: target(repository),
          expected: "Allowed" as const,
        })),
      ),
      ...[
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
      ].map((action) => ({
        ...targetRole,
        name: `reads coeus back to compare and verify (${action})`,
        action,
        resource: target("coeus"),
        expected: "Allowed" as const,
      })),
      {
        ...targetRole,
        name: "gets an ECR authorization token",
        action: "ecr:GetAuthorizationToken",
        resource: "*",
        expected: "Allowed",
      },
      {
        ...targetRole,
        name: "does not push to an unmapped legacy repository",
        action: "ecr:PutImage",
        resource: target("coeus-other"),
        expected: "ImplicitlyDenied",
      },
      {
        ...targetRole,
        name: "does not push to the css source repository",
        action: "ecr:PutImage",
        resource: source("kuali-coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...targetRole,
        name: "cannot delete images",
        action: "ecr:BatchDeleteImage",
        resource: target("coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...targetRole,
        name: "cannot create repositories",
        action: "ecr:CreateRepository",
        resource: target("coeus-new"),
        expected: "ImplicitlyDenied",
      },
      {
        ...targetRole,
        name: "cannot delete repositories",
        action: "ecr:DeleteRepository",
        resource: target("coeus"),
        expected: "ImplicitlyDenied",
      },
      {
        ...targetRole,
        name: "cannot change tag mutability",
        action: "ecr:PutImageTagMutability",
        resource: target("coeus"),
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("target role trust: only the css worker role, with the worker instance's credentials", () => {
    const assume = { action: "sts:AssumeRole", resource: TARGET_ROLE, resourcePolicy: TARGET_TRUST };
    const withoutCondition: PolicyDocument = {
      ...TARGET_TRUST,
      Statement: TARGET_TRUST.Statement.map(({ Condition: _, ...rest }) => rest),
    };
    /** The trust as it was before issue 10: the worker role, from wherever its credentials came. */
    const withoutInstanceCondition: PolicyDocument = {
      ...TARGET_TRUST,
      Statement: TARGET_TRUST.Statement.map((statement) => ({
        ...statement,
        Condition: { ArnEquals: { "aws:PrincipalArn": WORKER_ROLE } },
      })),
    };
    const worker = { principal: WORKER_SESSION, identityPolicies: WORKER_POLICIES };
    matrix([
      {
        ...assume,
        ...worker,
        name: "the worker role's session on the worker instance can assume it",
        context: fromInstance(WORKER_INSTANCE),
        expected: "Allowed",
      },
      {
        ...assume,
        name: "the worker role itself, with the worker instance's credentials, can assume it",
        principal: WORKER_ROLE,
        identityPolicies: WORKER_POLICIES,
        context: fromInstance(WORKER_INSTANCE),
        expected: "Allowed",
      },
      {
        ...assume,
        ...worker,
        name: "the worker role on another instance started with the worker's instance profile cannot",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-worker/i-0fedcba9876543210`,
        context: fromInstance(OTHER_INSTANCE),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        ...worker,
        name: "control: that instance could with the trust before issue 10 (aws:PrincipalArn only)",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-worker/i-0fedcba9876543210`,
        resourcePolicy: withoutInstanceCondition,
        context: fromInstance(OTHER_INSTANCE),
        expected: "Allowed",
      },
      {
        ...assume,
        ...worker,
        name: "the worker role with no instance context (assumed by a person or a Lambda) cannot",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-worker/alice`,
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        ...worker,
        name: "control: that session could with the trust before issue 10",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-worker/alice`,
        resourcePolicy: withoutInstanceCondition,
        expected: "Allowed",
      },
      {
        ...assume,
        ...worker,
        name: "the worker role from an instance of the same id in a third account cannot",
        context: fromInstance(`arn:aws:ec2:${REGION}:${THIRD}:instance/i-0123456789abcdef0`),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        ...worker,
        name: "the worker role from an instance of the same id in another region cannot",
        context: fromInstance(`arn:aws:ec2:us-west-2:${CSS}:instance/i-0123456789abcdef0`),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "another role in the css account cannot, even with sts:AssumeRole on * and the worker instance's context",
        principal: `arn:aws:sts::${CSS}:assumed-role/css-admin/alice`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        context: fromInstance(WORKER_INSTANCE),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "control: that role could if the trust had no condition",
        principal: `arn:aws:sts::${CSS}:assumed-role/css-admin/alice`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        context: fromInstance(WORKER_INSTANCE),
        resourcePolicy: withoutCondition,
        expected: "Allowed",
      },
      {
        ...assume,
        name: "another role in the css account, with no instance context, cannot",
        principal: `arn:aws:sts::${CSS}:assumed-role/css-admin/alice`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "a role of the same name in a third account cannot",
        principal: `arn:aws:sts::${THIRD}:assumed-role/ecr-sync-worker/i-0123456789abcdef0`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        context: fromInstance(`arn:aws:ec2:${REGION}:${THIRD}:instance/i-0123456789abcdef0`),
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "the css account root user cannot (the condition names the worker role)",
        principal: `arn:aws:iam::${CSS}:root`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "control: the css root user could if the trust had no condition",
        principal: `arn:aws:iam::${CSS}:root`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        resourcePolicy: withoutCondition,
        expected: "Allowed",
      },
      {
        ...assume,
        name: "a role in the legacy account itself cannot",
        principal: `arn:aws:sts::${LEGACY}:assumed-role/legacy-admin/bob`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("service roles: trusted by their own service only", () => {
    const assumeWorker = {
      action: "sts:AssumeRole",
      resource: WORKER_ROLE,
      resourcePolicy: workerTrustPolicy(),
    };
    const lambdaRole = roleArn(CSS, "ecr-sync-trigger");
    const assumeLambda = {
      action: "sts:AssumeRole",
      resource: lambdaRole,
      resourcePolicy: lambdaTrustPolicy(),
    };
    matrix([
      {
        ...assumeWorker,
        name: "EC2 assumes the worker role",
        principal: "ec2.amazonaws.com",
        expected: "Allowed",
      },
      {
        ...assumeWorker,
        name: "Lambda does not assume the worker role",
        principal: "lambda.amazonaws.com",
        expected: "ImplicitlyDenied",
      },
      {
        ...assumeWorker,
        name: "another css role does not assume the worker role",
        principal: `arn:aws:sts::${CSS}:assumed-role/css-admin/alice`,
        identityPolicies: [MAY_ASSUME_ANY_ROLE],
        expected: "ImplicitlyDenied",
      },
      {
        ...assumeLambda,
        name: "Lambda assumes the trigger role",
        principal: "lambda.amazonaws.com",
        expected: "Allowed",
      },
      {
        ...assumeLambda,
        name: "EC2 does not assume the trigger role",
        principal: "ec2.amazonaws.com",
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("push trigger (Lambda): sends the sync document to the worker only", () => {
    const trigger = {
      principal: LAMBDA_SESSION,
      identityPolicies: LAMBDA_POLICIES,
      action: "ssm:SendCommand",
    };
    matrix([
      {
        ...trigger,
        name: "sends the sync document (authorised against the document)",
        resource: SYNC_DOCUMENT,
        expected: "Allowed",
      },
      {
        ...trigger,
        name: "to the worker (authorised against the instance)",
        resource: WORKER_INSTANCE,
        expected: "Allowed",
      },
      {
        ...trigger,
        name: "not another document of the account",
        resource: `arn:aws:ssm:${REGION}:${CSS}:document/other-document`,
        expected: "ImplicitlyDenied",
      },
      // AWS-owned documents have an empty account field (arn:aws:ssm:REGION::document/AWS-RunShellScript),
      // which iam-simulate cannot parse; the name is evaluated in the account's namespace here, and the
      // next describe-block shows that no SendCommand resource can match an account-less ARN.
      {
        ...trigger,
        name: "not AWS-RunShellScript",
        resource: `arn:aws:ssm:${REGION}:${CSS}:document/AWS-RunShellScript`,
        expected: "ImplicitlyDenied",
      },
      {
        ...trigger,
        name: "not to another instance",
        resource: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`,
        expected: "ImplicitlyDenied",
      },
      {
        ...trigger,
        name: "cannot start a Session Manager session on the worker",
        action: "ssm:StartSession",
        resource: WORKER_INSTANCE,
        expected: "ImplicitlyDenied",
      },
      {
        principal: LAMBDA_SESSION,
        identityPolicies: LAMBDA_POLICIES,
        name: "writes its own logs",
        action: "logs:PutLogEvents",
        resource: `${LAMBDA_LOG_GROUP}:log-stream:2026/01/01/[$LATEST]abc`,
        expected: "Allowed",
      },
      {
        principal: LAMBDA_SESSION,
        identityPolicies: LAMBDA_POLICIES,
        name: "does not write to the command-output log group",
        action: "logs:PutLogEvents",
        resource: `${COMMAND_LOG_GROUP}:log-stream:x`,
        expected: "ImplicitlyDenied",
      },
    ]);
  });
});

describe("policy documents: shape rules (components/policies.ts)", () => {
  const allDocuments = (): Record<string, PolicyDocument> => ({
    worker: WORKER_POLICIES[0],
    workerSsmAgent: WORKER_POLICIES[1],
    workerTelemetry: WORKER_POLICIES[2],
    target: TARGET_POLICIES[0],
    lambda: LAMBDA_POLICIES[0],
  });

  it('grants no wildcard action and puts on Resource "*" only actions that take no nameable resource', () => {
    const takesNoResource = new Set([
      "ecr:GetAuthorizationToken",
      "logs:DescribeLogGroups",
      "ssm:UpdateInstanceInformation",
      "ec2messages:AcknowledgeMessage",
      "ec2messages:DeleteMessage",
      "ec2messages:FailMessage",
      "ec2messages:GetEndpoint",
      "ec2messages:GetMessages",
      "ec2messages:SendReply",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
      // These name an instance, but only the caller's own (Systems Manager takes it from the
      // credentials), whose id the role cannot know before the instance exists.
      "ssm:ListInstanceAssociations",
      "ssm:DescribeAssociation",
      "ssm:UpdateInstanceAssociationStatus",
      "ssm:UpdateAssociationStatus",
      // CloudWatch authorises it against "*" only; the cloudwatch:namespace condition narrows it.
      "cloudwatch:PutMetricData",
    ]);
    const onStar: string[] = [];
    for (const [name, policy] of Object.entries(allDocuments())) {
      for (const statement of policy.Statement) {
        const actions = ([] as string[]).concat(statement.Action);
        for (const action of actions) expect(action, `${name}/${statement.Sid}`).not.to.include("*");
        if (([] as string[]).concat(statement.Resource ?? []).includes("*")) onStar.push(...actions);
      }
    }
    for (const action of onStar)
      expect(takesNoResource.has(action), `${action} on Resource "*"`).to.equal(true);
    expect(new Set(onStar)).to.deep.equal(takesNoResource);
  });

  it("lets the SSM agent read only the AWS-owned document its association runs (iam-simulate cannot match AWS-owned document ARNs)", () => {
    const reads = WORKER_POLICIES[1].Statement.filter((statement) =>
      ([] as string[]).concat(statement.Action).some((action) => /^ssm:(Get|Describe)Document$/.test(action)),
    );
    expect(reads).to.have.length(1);
    expect(reads[0].Resource).to.equal("arn:aws:ssm:*::document/AWS-UpdateSSMAgent");
  });

  it("names SendCommand's document and instance exactly, so no AWS-owned document (empty account field) can match", () => {
    const sendCommand = LAMBDA_POLICIES[0].Statement.find(
      (statement) => statement.Action === "ssm:SendCommand",
    );
    expect(sendCommand?.Resource).to.deep.equal([WORKER_INSTANCE, SYNC_DOCUMENT]);
    for (const resource of ([] as string[]).concat(sendCommand?.Resource ?? [])) {
      expect(resource).not.to.match(/[*?]/);
      expect(resource.split(":")[4]).to.equal(CSS);
    }
  });

  it("renders the same document whatever the order of the repositories", () => {
    const forward = workerPolicy({
      sourceRepositoryArns: [source("kuali-coeus"), source("kuali-coeus-feature")],
      targetRoleArn: TARGET_ROLE,
      commandLogGroupArn: COMMAND_LOG_GROUP,
      copierBucketName: COPIER_BUCKET,
    });
    const backward = workerPolicy({
      sourceRepositoryArns: [source("kuali-coeus-feature"), source("kuali-coeus")],
      targetRoleArn: TARGET_ROLE,
      commandLogGroupArn: COMMAND_LOG_GROUP,
      copierBucketName: COPIER_BUCKET,
    });
    expect(JSON.stringify(backward)).to.equal(JSON.stringify(forward));
    const targets = targetRolePolicy({ targetRepositoryArns: [target("coeus-feature"), target("coeus")] });
    expect(targets.Statement[1].Resource).to.deep.equal([target("coeus"), target("coeus-feature")]);
  });

  it("gives every statement a unique, stable Sid", () => {
    for (const policy of [
      ...Object.values(allDocuments()),
      TARGET_TRUST,
      workerTrustPolicy(),
      lambdaTrustPolicy(),
    ]) {
      const sids = policy.Statement.map((statement) => statement.Sid);
      for (const sid of sids) expect(sid).to.match(/^[A-Za-z0-9]+$/);
      expect(new Set(sids).size).to.equal(sids.length);
    }
    expect(TARGET_TRUST.Statement.map((s) => s.Sid)).to.deep.equal(["AssumeFromSourceWorkerInstanceOnly"]);
  });

  it('accepts a log group ARN with the trailing ":*" some tools add, and renders the same policy', () => {
    const plain = lambdaPolicy({
      documentArn: SYNC_DOCUMENT,
      instanceArn: WORKER_INSTANCE,
      logGroupArn: LAMBDA_LOG_GROUP,
    });
    const starred = lambdaPolicy({
      documentArn: SYNC_DOCUMENT,
      instanceArn: WORKER_INSTANCE,
      logGroupArn: `${LAMBDA_LOG_GROUP}:*`,
    });
    expect(starred).to.deep.equal(plain);
  });
});

describe("policy functions: input checks name the argument and the value", () => {
  const validWorker = {
    sourceRepositoryArns: [source("kuali-coeus")],
    targetRoleArn: TARGET_ROLE,
    commandLogGroupArn: COMMAND_LOG_GROUP,
    copierBucketName: COPIER_BUCKET,
  };
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      "an empty source repository list",
      () => workerPolicy({ ...validWorker, sourceRepositoryArns: [] }),
      /^sourceRepositoryArns: expected a non-empty list/,
    ],
    [
      "a repository name instead of an ARN",
      () => workerPolicy({ ...validWorker, sourceRepositoryArns: ["kuali-coeus"] }),
      /^sourceRepositoryArns\[0\]: "kuali-coeus" is not an ECR repository ARN/,
    ],
    [
      "a repository ARN whose name ECR would reject",
      () =>
        workerPolicy({
          ...validWorker,
          sourceRepositoryArns: [`arn:aws:ecr:${REGION}:${CSS}:repository/Kuali_Coeus`],
        }),
      /^sourceRepositoryArns\[0\]: ".*Kuali_Coeus" is not an ECR repository ARN/,
    ],
    [
      "a wildcard repository ARN",
      () =>
        workerPolicy({ ...validWorker, sourceRepositoryArns: [`arn:aws:ecr:${REGION}:${CSS}:repository/*`] }),
      /^sourceRepositoryArns\[0\]: .* is not an ECR repository ARN/,
    ],
    [
      "a repository listed twice",
      () => targetRolePolicy({ targetRepositoryArns: [target("coeus"), target("coeus")] }),
      /^targetRepositoryArns\[1\]: ".*coeus" is listed twice/,
    ],
    [
      "a malformed target role ARN",
      () => workerPolicy({ ...validWorker, targetRoleArn: "arn:aws:iam::73009635373:role/x" }),
      /^targetRoleArn: "arn:aws:iam::73009635373:role\/x" is not an IAM role ARN/,
    ],
    ...[
      "ecr-sync-copier-*",
      "ecr-sync-copier/copier",
      "Ecr-Sync-Copier",
      "e",
      "192.168.0.1",
      "a..b",
      "x\ny",
    ].map((bucket): [string, () => unknown, RegExp] => [
      `a copier bucket name S3 would refuse or that widens the grant (${JSON.stringify(bucket)})`,
      () => workerPolicy({ ...validWorker, copierBucketName: bucket }),
      /^copierBucketName: ".*" is not an S3 bucket name/s,
    ]),
    [
      "a wildcard bucket for the bucket policy",
      () => copierBucketPolicy({ bucketName: "*" }),
      /^bucketName: "\*" is not an S3 bucket name/,
    ],
    [
      "a log group name instead of an ARN",
      () => workerPolicy({ ...validWorker, commandLogGroupArn: "/ecr-sync/commands" }),
      /^commandLogGroupArn: "\/ecr-sync\/commands" is not a CloudWatch Logs log group ARN/,
    ],
    [
      "a malformed source account id",
      () =>
        targetRoleTrustPolicy({
          sourceAccountId: "77020335033",
          workerRoleArn: WORKER_ROLE,
          workerInstanceArn: WORKER_INSTANCE,
        }),
      /^sourceAccountId: "77020335033" is not an AWS account id/,
    ],
    [
      "a worker role outside the source account",
      () =>
        targetRoleTrustPolicy({
          sourceAccountId: CSS,
          workerRoleArn: roleArn(THIRD, "ecr-sync-worker"),
          workerInstanceArn: WORKER_INSTANCE,
        }),
      /^workerRoleArn: .* is in account 111122223333, not in sourceAccountId 770203350335/,
    ],
    [
      "a worker instance id instead of its ARN",
      () =>
        targetRoleTrustPolicy({
          sourceAccountId: CSS,
          workerRoleArn: WORKER_ROLE,
          workerInstanceArn: "i-0123456789abcdef0",
        }),
      /^workerInstanceArn: "i-0123456789abcdef0" is not an EC2 instance ARN \(arn:aws:ec2:REGION:ACCOUNT:instance\/i-…\)/,
    ],
    [
      "a wildcard worker instance",
      () =>
        targetRoleTrustPolicy({
          sourceAccountId: CSS,
          workerRoleArn: WORKER_ROLE,
          workerInstanceArn: `arn:aws:ec2:${REGION}:${CSS}:instance/*`,
        }),
      /^workerInstanceArn: ".*instance\/\*" is not an EC2 instance ARN/,
    ],
    [
      "a worker instance outside the source account",
      () =>
        targetRoleTrustPolicy({
          sourceAccountId: CSS,
          workerRoleArn: WORKER_ROLE,
          workerInstanceArn: `arn:aws:ec2:${REGION}:${THIRD}:instance/i-0123456789abcdef0`,
        }),
      /^workerInstanceArn: .* is in account 111122223333, not in sourceAccountId 770203350335/,
    ],
    [
      "an AWS-owned document",
      () =>
        lambdaPolicy({
          documentArn: `arn:aws:ssm:${REGION}::document/AWS-RunShellScript`,
          instanceArn: WORKER_INSTANCE,
          logGroupArn: LAMBDA_LOG_GROUP,
        }),
      /^documentArn: ".*AWS-RunShellScript" is not an SSM document ARN of this account/,
    ],
    [
      "a wildcard instance",
      () =>
        lambdaPolicy({
          documentArn: SYNC_DOCUMENT,
          instanceArn: `arn:aws:ec2:${REGION}:${CSS}:instance/*`,
          logGroupArn: LAMBDA_LOG_GROUP,
        }),
      /^instanceArn: ".*instance\/\*" is not an EC2 instance ARN/,
    ],
  ];
  for (const [what, call, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(call).to.throw(Error, message);
    });
  }
});

describe("failures reach a person, gaps heal: the policies of issue 5, evaluated as IAM does", () => {
  const RECONCILE_DOCUMENT = `arn:aws:ssm:${REGION}:${CSS}:document/ecr-sync-reconcile`;
  const QUEUE = `arn:aws:sqs:${REGION}:${CSS}:ecr-sync-dead-letters`;
  const TOPIC = `arn:aws:sns:${REGION}:${CSS}:ecr-sync-alerts`;
  const PUSH_RULE = `arn:aws:events:${REGION}:${CSS}:rule/ecr-sync-push`;
  const FAILED_RULE = `arn:aws:events:${REGION}:${CSS}:rule/ecr-sync-command-failed`;
  const OTHER_RULE = `arn:aws:events:${REGION}:${CSS}:rule/someone-elses-rule`;
  const ALARMS = [
    `arn:aws:cloudwatch:${REGION}:${CSS}:alarm:ecr-sync-dead-letters`,
    `arn:aws:cloudwatch:${REGION}:${CSS}:alarm:ecr-sync-push-trigger-errors`,
  ];
  const GROUP = `arn:aws:scheduler:${REGION}:${CSS}:schedule-group/ecr-sync`;
  const SCHEDULER_ROLE = roleArn(CSS, "ecr-sync-reconcile-scheduler");
  const SCHEDULER_SESSION = `arn:aws:sts::${CSS}:assumed-role/ecr-sync-reconcile-scheduler/schedule`;
  const FUNCTION_ROLE = roleArn(CSS, "ecr-sync-trigger");
  const SCHEDULER_POLICIES = [
    schedulerPolicy({
      documentArn: RECONCILE_DOCUMENT,
      instanceArn: WORKER_INSTANCE,
      deadLetterQueueArn: QUEUE,
    }),
  ];
  const SCHEDULER_TRUST = schedulerTrustPolicy({ scheduleGroupArn: GROUP });
  const QUEUE_POLICY = deadLetterQueuePolicy({
    queueArn: QUEUE,
    ruleArns: [PUSH_RULE, FAILED_RULE],
    senderRoleArns: [FUNCTION_ROLE, SCHEDULER_ROLE],
  });
  const TOPIC_POLICY = alertTopicPolicy({ topicArn: TOPIC, ruleArns: [FAILED_RULE], alarmArns: ALARMS });
  /** A role of another account that may send to any queue and publish to any topic, as far as its own account is concerned. */
  const MAY_SEND_ANYWHERE: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["sqs:SendMessage", "sns:Publish"], Resource: "*" }],
  };

  describe("reconcile scheduler role: sends the reconcile document to the worker only", () => {
    const scheduler = {
      principal: SCHEDULER_SESSION,
      identityPolicies: SCHEDULER_POLICIES,
      action: "ssm:SendCommand",
    };
    matrix([
      {
        ...scheduler,
        name: "sends the reconcile document",
        resource: RECONCILE_DOCUMENT,
        expected: "Allowed",
      },
      { ...scheduler, name: "to the worker instance", resource: WORKER_INSTANCE, expected: "Allowed" },
      {
        ...scheduler,
        name: "does not send the sync document (copy of arbitrary tags)",
        resource: SYNC_DOCUMENT,
        expected: "ImplicitlyDenied",
      },
      {
        ...scheduler,
        name: "does not send AWS-RunShellScript (in the account's namespace)",
        resource: `arn:aws:ssm:${REGION}:${CSS}:document/AWS-RunShellScript`,
        expected: "ImplicitlyDenied",
      },
      {
        ...scheduler,
        name: "does not send to another instance",
        resource: `arn:aws:ec2:${REGION}:${CSS}:instance/i-0fedcba9876543210`,
        expected: "ImplicitlyDenied",
      },
      {
        ...scheduler,
        name: "does not start a session on the worker",
        action: "ssm:StartSession",
        resource: WORKER_INSTANCE,
        expected: "ImplicitlyDenied",
      },
      {
        ...scheduler,
        name: "puts a failed invocation into the dead-letter queue",
        action: "sqs:SendMessage",
        resource: QUEUE,
        expected: "Allowed",
      },
      {
        ...scheduler,
        name: "does not read the dead-letter queue",
        action: "sqs:ReceiveMessage",
        resource: QUEUE,
        expected: "ImplicitlyDenied",
      },
      {
        ...scheduler,
        name: "does not send to another queue",
        action: "sqs:SendMessage",
        resource: `arn:aws:sqs:${REGION}:${CSS}:other`,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("reconcile scheduler role trust: Scheduler, for the ecr-sync schedule group of this account only", () => {
    const assume = {
      principal: "scheduler.amazonaws.com",
      action: "sts:AssumeRole",
      resource: SCHEDULER_ROLE,
      resourcePolicy: SCHEDULER_TRUST,
    };
    matrix([
      {
        ...assume,
        name: "Scheduler for a schedule of the ecr-sync group",
        context: { "aws:SourceAccount": CSS, "aws:SourceArn": GROUP },
        expected: "Allowed",
      },
      {
        ...assume,
        name: "not Scheduler for a schedule of the default group",
        context: {
          "aws:SourceAccount": CSS,
          "aws:SourceArn": `arn:aws:scheduler:${REGION}:${CSS}:schedule-group/default`,
        },
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "not Scheduler on behalf of another account",
        context: {
          "aws:SourceAccount": THIRD,
          "aws:SourceArn": `arn:aws:scheduler:${REGION}:${THIRD}:schedule-group/ecr-sync`,
        },
        expected: "ImplicitlyDenied",
      },
      {
        ...assume,
        name: "not EventBridge (the older events.amazonaws.com)",
        principal: "events.amazonaws.com",
        context: { "aws:SourceAccount": CSS, "aws:SourceArn": GROUP },
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("dead-letter queue policy: the two rules and the two roles, SendMessage only", () => {
    const fromEvents = {
      principal: "events.amazonaws.com",
      action: "sqs:SendMessage",
      resource: QUEUE,
      resourcePolicy: QUEUE_POLICY,
    };
    matrix([
      {
        ...fromEvents,
        name: "EventBridge for the push rule",
        context: { "aws:SourceArn": PUSH_RULE },
        expected: "Allowed",
      },
      {
        ...fromEvents,
        name: "EventBridge for the failed-command rule",
        context: { "aws:SourceArn": FAILED_RULE },
        expected: "Allowed",
      },
      {
        ...fromEvents,
        name: "not EventBridge for another rule",
        context: { "aws:SourceArn": OTHER_RULE },
        expected: "ImplicitlyDenied",
      },
      { ...fromEvents, name: "not EventBridge without a source rule", expected: "ImplicitlyDenied" },
      {
        ...fromEvents,
        name: "not SNS",
        principal: "sns.amazonaws.com",
        context: { "aws:SourceArn": PUSH_RULE },
        expected: "ImplicitlyDenied",
      },
      {
        name: "the push trigger's role (Lambda's on-failure destination)",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-trigger/fn`,
        identityPolicies: [deadLetterSendPolicy({ queueArn: QUEUE })],
        action: "sqs:SendMessage",
        resource: QUEUE,
        resourcePolicy: QUEUE_POLICY,
        expected: "Allowed",
      },
      {
        name: "the push trigger's role may not read the queue",
        principal: `arn:aws:sts::${CSS}:assumed-role/ecr-sync-trigger/fn`,
        identityPolicies: [deadLetterSendPolicy({ queueArn: QUEUE })],
        action: "sqs:ReceiveMessage",
        resource: QUEUE,
        resourcePolicy: QUEUE_POLICY,
        expected: "ImplicitlyDenied",
      },
      {
        name: "not a role of another account, whatever its own policy says",
        principal: `arn:aws:sts::${THIRD}:assumed-role/ecr-sync-trigger/fn`,
        identityPolicies: [MAY_SEND_ANYWHERE],
        action: "sqs:SendMessage",
        resource: QUEUE,
        resourcePolicy: QUEUE_POLICY,
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("alert topic policy: the failed-command rule and the two alarms only", () => {
    const publish = { action: "sns:Publish", resource: TOPIC, resourcePolicy: TOPIC_POLICY };
    matrix([
      {
        ...publish,
        name: "EventBridge for the failed-command rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": FAILED_RULE },
        expected: "Allowed",
      },
      {
        ...publish,
        name: "not EventBridge for the push rule",
        principal: "events.amazonaws.com",
        context: { "aws:SourceArn": PUSH_RULE },
        expected: "ImplicitlyDenied",
      },
      ...ALARMS.map((alarm) => ({
        ...publish,
        name: `CloudWatch for ${alarm.split(":").pop()}`,
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": alarm },
        expected: "Allowed" as const,
      })),
      {
        ...publish,
        name: "not CloudWatch for another alarm",
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${CSS}:alarm:other` },
        expected: "ImplicitlyDenied",
      },
      {
        ...publish,
        name: "not CloudWatch for an alarm named the same in another account",
        principal: "cloudwatch.amazonaws.com",
        context: { "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${THIRD}:alarm:ecr-sync-dead-letters` },
        expected: "ImplicitlyDenied",
      },
      {
        ...publish,
        name: "not a role of another account",
        principal: `arn:aws:sts::${THIRD}:assumed-role/x/y`,
        identityPolicies: [MAY_SEND_ANYWHERE],
        expected: "ImplicitlyDenied",
      },
    ]);
  });

  describe("input checks name the argument and the value", () => {
    const cases: Array<[string, () => unknown, RegExp]> = [
      [
        "a schedule ARN instead of its group's",
        () =>
          schedulerTrustPolicy({
            scheduleGroupArn: `arn:aws:scheduler:${REGION}:${CSS}:schedule/ecr-sync/ecr-sync-reconcile`,
          }),
        /^scheduleGroupArn: ".*schedule\/ecr-sync\/ecr-sync-reconcile" is not an EventBridge Scheduler schedule group ARN/,
      ],
      [
        "a queue URL instead of its ARN",
        () =>
          schedulerPolicy({
            documentArn: RECONCILE_DOCUMENT,
            instanceArn: WORKER_INSTANCE,
            deadLetterQueueArn: `https://sqs.${REGION}.amazonaws.com/${CSS}/ecr-sync-dead-letters`,
          }),
        /^deadLetterQueueArn: "https:.*" is not an SQS queue ARN/,
      ],
      [
        "an AWS-owned document for the schedule",
        () =>
          schedulerPolicy({
            documentArn: `arn:aws:ssm:${REGION}::document/AWS-RunShellScript`,
            instanceArn: WORKER_INSTANCE,
            deadLetterQueueArn: QUEUE,
          }),
        /^documentArn: .* is not an SSM document ARN of this account/,
      ],
      [
        "a wildcard rule",
        () =>
          deadLetterQueuePolicy({
            queueArn: QUEUE,
            ruleArns: [`arn:aws:events:${REGION}:${CSS}:rule/*`],
            senderRoleArns: [FUNCTION_ROLE],
          }),
        /^ruleArns\[0\]: .* is not an EventBridge rule ARN/,
      ],
      [
        "no sender role",
        () => deadLetterQueuePolicy({ queueArn: QUEUE, ruleArns: [PUSH_RULE], senderRoleArns: [] }),
        /^senderRoleArns: expected a non-empty list of IAM role ARNs/,
      ],
      [
        "a wildcard alarm",
        () =>
          alertTopicPolicy({
            topicArn: TOPIC,
            ruleArns: [FAILED_RULE],
            alarmArns: [`arn:aws:cloudwatch:${REGION}:${CSS}:alarm:*`],
          }),
        /^alarmArns\[0\]: .* is not a CloudWatch alarm ARN/,
      ],
      [
        "a topic name instead of its ARN",
        () => alertTopicPolicy({ topicArn: "ecr-sync-alerts", ruleArns: [FAILED_RULE], alarmArns: ALARMS }),
        /^topicArn: "ecr-sync-alerts" is not an SNS topic ARN/,
      ],
    ];
    for (const [what, call, message] of cases) {
      it(`rejects ${what}`, () => {
        expect(call).to.throw(Error, message);
      });
    }

    it("renders the same documents whatever the order of rules, roles and alarms", () => {
      expect(
        deadLetterQueuePolicy({
          queueArn: QUEUE,
          ruleArns: [FAILED_RULE, PUSH_RULE],
          senderRoleArns: [SCHEDULER_ROLE, FUNCTION_ROLE],
        }),
      ).to.deep.equal(QUEUE_POLICY);
      expect(
        alertTopicPolicy({ topicArn: TOPIC, ruleArns: [FAILED_RULE], alarmArns: [...ALARMS].reverse() }),
      ).to.deep.equal(TOPIC_POLICY);
    });
  });
});

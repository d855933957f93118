import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { bundleCopier } from "../../ec2-scripts/bundle";
import { bundleHandler } from "../../lambda/bundle";
import {
  CommandDocument,
  MAX_DOCUMENT_BYTES,
  OPTIONAL_TIMESTAMP_PATTERN,
  fetchCopier,
} from "../../components/document-content";
import { IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN, REPOSITORY_NAME_PATTERN } from "../../common/naming";
import { pushEventPattern } from "../../components/patterns";
import { workerUserData } from "../../components/user-data";
import { PolicyDocument } from "../../components/policies";
import {
  PROJECT_ROOT,
  Rendering,
  jsonInput,
  renderStack,
  resource,
  resourcesOfType,
} from "../../local/render";

const T = {
  component: "ecr-sync:index:SourceSync",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  instanceProfile: "aws:iam/instanceProfile:InstanceProfile",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  instance: "aws:ec2/instance:Instance",
  document: "aws:ssm/document:Document",
  function: "aws:lambda/function:Function",
  permission: "aws:lambda/permission:Permission",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  schedule: "aws:scheduler/schedule:Schedule",
  association: "aws:ssm/association:Association",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  bucketObject: "aws:s3/bucketObjectv2:BucketObjectv2",
};

const CSS = "770203350335";
const LEGACY = "730096353738";
const MAPPING = { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" };

function statements(policy: unknown): PolicyDocument["Statement"] {
  return (policy as PolicyDocument).Statement;
}

function resourcesOf(statement: PolicyDocument["Statement"][number]): string[] {
  const r = (statement as { Resource?: string | string[] }).Resource;
  return r === undefined ? [] : ([] as string[]).concat(r);
}

describe("css stack (SourceSync under mocks)", function () {
  this.timeout(120000);
  let css: Rendering;
  let copier: { code: string; sha256: string };
  before(async () => {
    [css, copier] = await Promise.all([renderStack("css"), bundleCopier()]);
  });

  it("creates exactly the sync machinery, every resource named after the component", () => {
    const types = css.resources.map((r) => `${r.type} ${r.name}`).sort();
    expect(types).to.deep.equal(
      [
        `${T.component} ecr-sync`,
        `${T.logGroup} ecr-sync-command-logs`,
        `${T.logGroup} ecr-sync-function-logs`,
        `${T.logGroup} ecr-sync-results-logs`,
        `${T.role} ecr-sync-worker-role`,
        `${T.role} ecr-sync-function-role`,
        `${T.rolePolicy} ecr-sync-worker-sync`,
        `${T.rolePolicy} ecr-sync-worker-ssm-agent`,
        `${T.rolePolicy} ecr-sync-worker-telemetry`,
        `${T.rolePolicy} ecr-sync-function-send-command`,
        `${T.instanceProfile} ecr-sync-worker-profile`,
        `${T.securityGroup} ecr-sync-worker-sg`,
        `${T.instance} ecr-sync-worker-debian13`,
        // The worker's SSM agent kept current (components/worker.ts).
        `${T.association} ecr-sync-worker-agent-update`,
        // Where the worker gets the copier (components/copier-artifact.ts).
        `${T.bucket} ecr-sync-copier`,
        `${T.publicAccessBlock} ecr-sync-copier-public-access`,
        `${T.ownership} ecr-sync-copier-ownership`,
        `${T.encryption} ecr-sync-copier-encryption`,
        `${T.versioning} ecr-sync-copier-versioning`,
        `${T.lifecycle} ecr-sync-copier-lifecycle`,
        `${T.bucketPolicy} ecr-sync-copier-policy`,
        `${T.bucketObject} ecr-sync-copier-bundle`,
        `${T.document} ecr-sync-sync-document`,
        `${T.function} ecr-sync-function`,
        `${T.permission} ecr-sync-push-permission`,
        `${T.rule} ecr-sync-push-rule`,
        `${T.target} ecr-sync-push-target`,
        // Failures reach a person (test/unit/stack-alerts.test.ts).
        `${T.rolePolicy} ecr-sync-function-dead-letter`,
        `${T.invokeConfig} ecr-sync-function-async`,
        `${T.queue} ecr-sync-dead-letters`,
        `${T.queuePolicy} ecr-sync-dead-letters-policy`,
        `${T.topic} ecr-sync-alerts`,
        `${T.topicPolicy} ecr-sync-alerts-policy`,
        `${T.rule} ecr-sync-command-failed-rule`,
        `${T.target} ecr-sync-command-failed-target`,
        `${T.alarm} ecr-sync-dead-letters-alarm`,
        `${T.alarm} ecr-sync-function-errors-alarm`,
        `${T.alarm} ecr-sync-invalid-events-alarm`,
        `${T.alarm} ecr-sync-latency-alarm`,
        `${T.alarm} ecr-sync-no-reconcile-alarm`,
        `${T.alarm} ecr-sync-worker-system-check-alarm`,
        `${T.alarm} ecr-sync-worker-instance-check-alarm`,
        // Seeing it work (test/unit/dashboard.test.ts).
        // The push trigger's filters only: the copier publishes its own figures.
        ...["invalidDecisions", "unsupportedTags"].map(
          (metric) => `${T.metricFilter} ecr-sync-metric-${metric}`,
        ),
        `${T.dashboard} ecr-sync-dashboard`,
        // Gaps heal.
        `${T.document} ecr-sync-reconcile-document`,
        `${T.scheduleGroup} ecr-sync-reconcile-group`,
        `${T.role} ecr-sync-scheduler-role`,
        `${T.rolePolicy} ecr-sync-scheduler-send-command`,
        `${T.schedule} ecr-sync-reconcile-schedule`,
      ].sort(),
    );
  });

  it("triggers on successful tagged pushes to the mapped source repositories only", () => {
    const rule = resource(css, T.rule, "ecr-sync-push-rule");
    expect(rule.inputs.name).to.equal("ecr-sync-push");
    expect(jsonInput(rule, "eventPattern")).to.deep.equal(pushEventPattern(Object.keys(MAPPING).sort()));
    expect(
      (jsonInput(rule, "eventPattern") as { detail: Record<string, unknown> }).detail["repository-name"],
    ).to.deep.equal(["kuali-coeus", "kuali-coeus-feature"]);
  });

  it("targets the push trigger and lets only that rule invoke it", () => {
    const rule = resource(css, T.rule, "ecr-sync-push-rule");
    const fn = resource(css, T.function, "ecr-sync-function");
    const target = resource(css, T.target, "ecr-sync-push-target");
    expect(target.inputs).to.include({ rule: "ecr-sync-push", arn: fn.state.arn });
    expect(target.inputs.deadLetterConfig).to.deep.equal({
      arn: `arn:aws:sqs:us-east-1:${CSS}:ecr-sync-dead-letters`,
    });
    const permission = resource(css, T.permission, "ecr-sync-push-permission");
    expect(permission.inputs).to.include({
      function: "ecr-sync-push-trigger",
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      sourceArn: `arn:aws:events:us-east-1:${CSS}:rule/ecr-sync-push`,
    });
    expect(rule.state.arn).to.equal(permission.inputs.sourceArn);
  });

  it("runs the push trigger on Node.js 24 with the environment the handler reads", () => {
    const fn = resource(css, T.function, "ecr-sync-function");
    const worker = resource(css, T.instance, "ecr-sync-worker-debian13");
    expect(fn.inputs).to.include({
      name: "ecr-sync-push-trigger",
      runtime: "nodejs24.x",
      handler: "index.handler",
    });
    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(variables).to.deep.equal({
      SYNC_INSTANCE_ID: worker.id,
      SYNC_DOCUMENT_NAME: "ecr-sync-copy-image",
      REPOSITORY_MAP: JSON.stringify(MAPPING),
      SYNC_LOG_GROUP_NAME: "/ecr-sync/commands",
    });
    expect(worker.id).to.match(/^i-[0-9a-f]{17}$/);
    expect(fn.inputs.role).to.equal(`arn:aws:iam::${CSS}:role/ecr-sync-push-trigger`);
  });

  it("deploys the handler bundled from lambda/index.ts at deploy time", async () => {
    const fn = resource(css, T.function, "ecr-sync-function");
    const source = await bundleHandler();
    expect(fn.inputs.code).to.deep.equal({
      archive: "AssetArchive",
      assets: {
        "index.js": {
          asset: "StringAsset",
          sha256: createHash("sha256").update(source).digest("hex"),
          bytes: Buffer.byteLength(source),
        },
      },
    });
  });

  it("creates the log groups with the configured retention, the function's under /aws/lambda/<name>", () => {
    const functionLogs = resource(css, T.logGroup, "ecr-sync-function-logs");
    const commandLogs = resource(css, T.logGroup, "ecr-sync-command-logs");
    const resultsLogs = resource(css, T.logGroup, "ecr-sync-results-logs");
    expect(resultsLogs.inputs).to.deep.equal({ name: "/ecr-sync/results", retentionInDays: 90 });
    expect(functionLogs.inputs).to.deep.equal({
      name: "/aws/lambda/ecr-sync-push-trigger",
      retentionInDays: 90,
    });
    expect(commandLogs.inputs).to.deep.equal({ name: "/ecr-sync/commands", retentionInDays: 90 });
    const fn = resource(css, T.function, "ecr-sync-function");
    expect(fn.inputs.loggingConfig).to.deep.include({ logGroup: "/aws/lambda/ecr-sync-push-trigger" });
  });

  it("lets the push trigger send only the sync document to only the worker", () => {
    const policy = jsonInput(resource(css, T.rolePolicy, "ecr-sync-function-send-command"), "policy");
    const send = statements(policy).filter((s) =>
      ([] as string[]).concat(s.Action as string | string[]).includes("ssm:SendCommand"),
    );
    expect(send).to.have.length(1);
    expect(resourcesOf(send[0]).sort()).to.deep.equal(
      [
        resource(css, T.document, "ecr-sync-sync-document").state.arn,
        resource(css, T.instance, "ecr-sync-worker-debian13").state.arn,
      ].sort(),
    );
    expect(resourcesOf(send[0])).to.include(`arn:aws:ssm:us-east-1:${CSS}:document/ecr-sync-copy-image`);
  });

  it("lets the worker publish its figures in the ecr-sync namespace only, and write streams of the results log group only", () => {
    const policy = statements(jsonInput(resource(css, T.rolePolicy, "ecr-sync-worker-telemetry"), "policy"));
    const results = resource(css, T.logGroup, "ecr-sync-results-logs").state.arn as string;
    expect(policy).to.deep.equal([
      {
        Sid: "PublishCopierMetrics",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": "ecr-sync" } },
      },
      {
        Sid: "WriteResultLines",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${results}:log-stream:*`,
      },
    ]);
    expect(results).to.equal(`arn:aws:logs:us-east-1:${CSS}:log-group:/ecr-sync/results`);
  });

  it("gives the worker pull on the mapped css repositories and assume on the legacy target role only", () => {
    const policy = statements(jsonInput(resource(css, T.rolePolicy, "ecr-sync-worker-sync"), "policy"));
    const all = policy.flatMap(resourcesOf);
    expect(all).to.include.members([
      `arn:aws:ecr:us-east-1:${CSS}:repository/kuali-coeus`,
      `arn:aws:ecr:us-east-1:${CSS}:repository/kuali-coeus-feature`,
      `arn:aws:iam::${LEGACY}:role/ecr-sync-target`,
    ]);
    const ecrRepositories = all.filter((r) => r.startsWith("arn:aws:ecr:"));
    expect(
      ecrRepositories.every((r) => r.startsWith(`arn:aws:ecr:us-east-1:${CSS}:repository/kuali-coeus`)),
    ).to.equal(true);
    const assume = policy.filter((s) =>
      ([] as string[]).concat(s.Action as string | string[]).includes("sts:AssumeRole"),
    );
    expect(assume.flatMap(resourcesOf)).to.deep.equal([`arn:aws:iam::${LEGACY}:role/ecr-sync-target`]);
    const logs = all.filter((r) => r.startsWith("arn:aws:logs:"));
    expect(logs).to.not.be.empty;
    for (const arn of logs)
      expect(arn).to.match(new RegExp(`^arn:aws:logs:us-east-1:${CSS}:log-group:/ecr-sync/commands(:|$)`));
    const role = resource(css, T.role, "ecr-sync-worker-role");
    expect(role.inputs.name).to.equal("ecr-sync-worker");
    expect(statements(jsonInput(role, "assumeRolePolicy"))[0].Principal).to.deep.equal({
      Service: "ec2.amazonaws.com",
    });
  });

  it("keeps the copier in a private, versioned, encrypted, TLS-only bucket of its own, which the worker may only read under copier/", () => {
    const bucket = resource(css, T.bucket, "ecr-sync-copier");
    const name = String(bucket.state.bucket);
    // Autonamed: a global name nobody can take first; the stack's prefix, for the deploy policy.
    expect(bucket.inputs.bucket).to.equal(undefined);
    expect(name).to.match(/^ecr-sync-copier-[0-9a-f]{7}$/);
    expect(bucket.inputs.forceDestroy).to.equal(true);
    const settings = (type: string, resourceName: string) => {
      const r = resource(css, type, resourceName);
      expect(r.inputs.bucket, resourceName).to.equal(name);
      return r.inputs;
    };
    expect(settings(T.publicAccessBlock, "ecr-sync-copier-public-access")).to.include({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(settings(T.ownership, "ecr-sync-copier-ownership").rule).to.deep.equal({
      objectOwnership: "BucketOwnerEnforced",
    });
    expect(settings(T.encryption, "ecr-sync-copier-encryption").rules).to.deep.equal([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);
    expect(settings(T.versioning, "ecr-sync-copier-versioning").versioningConfiguration).to.deep.equal({
      status: "Enabled",
    });
    const [rule] = settings(T.lifecycle, "ecr-sync-copier-lifecycle").rules as Array<Record<string, unknown>>;
    expect(rule).to.deep.include({ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 30 } });
    expect(rule).not.to.have.property("expiration");
    const bucketPolicy = statements(
      jsonInput(resource(css, T.bucketPolicy, "ecr-sync-copier-policy"), "policy"),
    );
    expect(bucketPolicy).to.deep.equal([
      {
        Sid: "DenyRequestsWithoutTls",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
    const worker = statements(jsonInput(resource(css, T.rolePolicy, "ecr-sync-worker-sync"), "policy"));
    const s3 = worker.filter((st) => ([] as string[]).concat(st.Action).some((a) => a.startsWith("s3:")));
    expect(s3).to.deep.equal([
      {
        Sid: "ReadCopierBundles",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${name}/copier/*`,
      },
    ]);
  });

  it("hardens the worker: IMDSv2 only, hop limit 1, encrypted gp3 root, no key pair, no inbound rule, HTTPS out only", () => {
    const worker = resource(css, T.instance, "ecr-sync-worker-debian13");
    expect(worker.inputs.metadataOptions).to.deep.include({
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
      httpEndpoint: "enabled",
    });
    expect(worker.inputs.rootBlockDevice).to.deep.include({ encrypted: true, volumeType: "gp3" });
    expect(worker.inputs).not.to.have.property("keyName");
    expect(worker.inputs).not.to.have.property("associatePublicIpAddress");
    expect(worker.inputs.iamInstanceProfile).to.equal(
      resource(css, T.instanceProfile, "ecr-sync-worker-profile").state.name,
    );
    const sg = resource(css, T.securityGroup, "ecr-sync-worker-sg");
    expect(worker.inputs.vpcSecurityGroupIds).to.deep.equal([sg.id]);
    expect(sg.inputs.ingress).to.deep.equal([]);
    expect(sg.inputs.egress).to.deep.equal([
      { description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
    ]);
  });

  it("starts the worker from the Debian 12 AMI parameter, in a default subnet of a zone that offers the type", () => {
    const worker = resource(css, T.instance, "ecr-sync-worker-debian13");
    expect(worker.inputs.instanceType).to.equal("t4g.small");
    expect(worker.inputs.ami).to.match(/^ami-[0-9a-f]{17}$/);
    expect(css.outputs.workerAmiId).to.equal(worker.inputs.ami);
    expect(worker.inputs.subnetId)
      .to.equal(css.outputs.workerSubnetId)
      .and.match(/^subnet-[0-9a-f]{17}$/);
    // The mocks model us-east-1e, which offers no t4g: the worker must not land there.
    expect(worker.state.availabilityZone).to.not.equal("us-east-1e");
  });

  it("bootstraps skopeo, jq, AWS CLI v2 and the SSM agent with a user data script ShellCheck accepts", () => {
    const userData = resource(css, T.instance, "ecr-sync-worker-debian13").inputs.userData as string;
    expect(userData).to.match(/^#!\/bin\/bash\n/);
    expect(userData).to.equal(workerUserData("us-east-1"));
    expect(userData).to.match(/apt_get install -y [^\n]*\bskopeo\b[^\n]*\bjq\b[^\n]*\bawscli\b/);
    expect(userData).to.include(
      "https://s3.${REGION}.amazonaws.com/amazon-ssm-${REGION}/latest/debian_${arch}/amazon-ssm-agent.deb",
    );
    expect(userData).to.include("readonly REGION='us-east-1'");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-userdata-"));
    try {
      const file = path.join(dir, "user-data.sh");
      fs.writeFileSync(file, userData);
      execFileSync("shellcheck", [file], { encoding: "utf8" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the copier uploaded by this deploy from the sync document, with strict parameters and the baked environment", () => {
    const doc = resource(css, T.document, "ecr-sync-sync-document");
    expect(doc.inputs).to.include({
      name: "ecr-sync-copy-image",
      documentType: "Command",
      documentFormat: "JSON",
    });
    const content = jsonInput(doc, "content") as CommandDocument;
    const parameters = content.parameters;
    expect(parameters.sourceRepository.allowedPattern).to.equal(REPOSITORY_NAME_PATTERN);
    expect(parameters.targetRepository.allowedPattern).to.equal(REPOSITORY_NAME_PATTERN);
    expect(parameters.tag.allowedPattern).to.equal(IMAGE_TAG_PATTERN);
    expect(parameters.digest.allowedPattern).to.equal(IMAGE_DIGEST_PATTERN);
    const commands = content.mainSteps[0].inputs.runCommand;
    const bucket = String(resource(css, T.bucket, "ecr-sync-copier").state.bucket);
    // The document fetches exactly the uploaded bundle and checks it against its hash.
    const fetch = fetchCopier({ bucket, sha256: copier.sha256, region: "us-east-1" });
    expect(commands.slice(1, 1 + fetch.length)).to.deep.equal(fetch);
    expect(commands).to.include.members([
      `export ECR_SYNC_SOURCE_REGISTRY='${CSS}.dkr.ecr.us-east-1.amazonaws.com'`,
      `export ECR_SYNC_TARGET_REGISTRY='${LEGACY}.dkr.ecr.us-east-1.amazonaws.com'`,
      `export ECR_SYNC_TARGET_ROLE_ARN='arn:aws:iam::${LEGACY}:role/ecr-sync-target'`,
      `export ECR_SYNC_REGION='us-east-1'`,
      `export ECR_SYNC_REPOSITORY_MAP='${JSON.stringify(MAPPING)}'`,
      // The copier writes each result line to the stack's results log group (common/telemetry.ts).
      `export ECR_SYNC_RESULTS_LOG_GROUP='${String(resource(css, T.logGroup, "ecr-sync-results-logs").inputs.name)}'`,
    ]);
    // The push time follows as "$@" only when the trigger sent one (pushedAt, default "").
    expect(parameters.pushedAt).to.include({ allowedPattern: OPTIONAL_TIMESTAMP_PATTERN, default: "" });
    expect(commands.at(-1)).to.equal(
      `exec node "$ecr_sync_copier" 'copy' '--source-repository' '{{sourceRepository}}' '--target-repository' '{{targetRepository}}' '--tag' '{{tag}}' '--digest' '{{digest}}' "$@"`,
    );
  });

  it("uploads the copier bundled from ec2-scripts/copier at deploy, keyed by its sha256, into the copier bucket", () => {
    const object = resource(css, T.bucketObject, "ecr-sync-copier-bundle");
    const bucket = resource(css, T.bucket, "ecr-sync-copier");
    expect(object.inputs).to.deep.include({
      bucket: bucket.state.bucket,
      key: `copier/${copier.sha256}.cjs`,
      contentType: "application/javascript",
      checksumAlgorithm: "SHA256",
    });
    // The asset's hash and size: the rendering (and a preview's diff) never holds the code itself.
    expect(object.inputs.source).to.deep.equal({
      asset: "StringAsset",
      sha256: copier.sha256,
      bytes: Buffer.byteLength(copier.code),
    });
    expect(object.inputs).not.to.have.property("content");
    expect(css.outputs.copierSha256).to.equal(copier.sha256);
    for (const name of ["ecr-sync-sync-document", "ecr-sync-reconcile-document"]) {
      const text = (
        jsonInput(resource(css, T.document, name), "content") as CommandDocument
      ).mainSteps[0].inputs.runCommand.join("\n");
      expect(text, name).to.include(
        `ecr_sync_source='s3://${String(bucket.state.bucket)}/copier/${copier.sha256}.cjs'`,
      );
    }
  });

  it("exports the reconcile's parallelism, 4 by default, in the reconcile document only", () => {
    const exported = (name: string) =>
      (
        jsonInput(resource(css, T.document, name), "content") as CommandDocument
      ).mainSteps[0].inputs.runCommand.filter((l) => l.startsWith("export ECR_SYNC_RECONCILE_PARALLELISM="));
    expect(exported("ecr-sync-reconcile-document")).to.deep.equal([
      "export ECR_SYNC_RECONCILE_PARALLELISM='4'",
    ]);
    expect(exported("ecr-sync-sync-document")).to.deep.equal([]);
  });

  it("renders each SSM document within SSM's 64 KiB, counting the content exactly as it is sent", () => {
    for (const name of ["ecr-sync-sync-document", "ecr-sync-reconcile-document"]) {
      const content = resource(css, T.document, name).inputs.content as string;
      expect(Buffer.byteLength(content), name).to.be.at.most(MAX_DOCUMENT_BYTES);
    }
  });

  it("exports what the legacy stack and operators need, consistent with the resources", () => {
    expect(css.outputs).to.deep.equal({
      participant: "source",
      sourceAccountId: CSS,
      targetAccountId: LEGACY,
      region: "us-east-1",
      repositories: MAPPING,
      targetRoleName: "ecr-sync-target",
      targetRoleArn: `arn:aws:iam::${LEGACY}:role/ecr-sync-target`,
      workerRoleArn: `arn:aws:iam::${CSS}:role/ecr-sync-worker`,
      workerInstanceId: resource(css, T.instance, "ecr-sync-worker-debian13").id,
      workerInstanceArn: `arn:aws:ec2:us-east-1:${CSS}:instance/${resource(css, T.instance, "ecr-sync-worker-debian13").id}`,
      workerAmiId: resource(css, T.instance, "ecr-sync-worker-debian13").inputs.ami,
      workerSubnetId: resource(css, T.instance, "ecr-sync-worker-debian13").inputs.subnetId,
      copierBucketName: resource(css, T.bucket, "ecr-sync-copier").state.bucket,
      copierSha256: copier.sha256,
      syncDocumentName: "ecr-sync-copy-image",
      commandLogGroupName: "/ecr-sync/commands",
      resultsLogGroupName: "/ecr-sync/results",
      functionName: "ecr-sync-push-trigger",
      functionLogGroupName: "/aws/lambda/ecr-sync-push-trigger",
      pushRuleName: "ecr-sync-push",
      reconcileDocumentName: "ecr-sync-reconcile",
      reconcileScheduleName: "ecr-sync-reconcile",
      commandFailedRuleName: "ecr-sync-command-failed",
      alertTopicArn: `arn:aws:sns:us-east-1:${CSS}:ecr-sync-alerts`,
      dashboardUrl:
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ecr-sync",
      deadLetterQueueUrl: `https://sqs.us-east-1.amazonaws.com/${CSS}/ecr-sync-dead-letters`,
      backfillCommand:
        "aws ssm send-command --region us-east-1 --document-name ecr-sync-reconcile" +
        ` --instance-ids ${resource(css, T.instance, "ecr-sync-worker-debian13").id} --parameters dryRun=false --timeout-seconds 600` +
        " --cloud-watch-output-config CloudWatchOutputEnabled=true,CloudWatchLogGroupName=/ecr-sync/commands" +
        " --comment 'ecr-sync backfill' --query Command.CommandId --output text",
    });
  });

  it("puts every ARN in the css account and region (S3's, which name neither, in the region)", () => {
    const arns = css.resources.map((r) => r.state.arn).filter((a): a is string => typeof a === "string");
    expect(arns.length).to.be.greaterThan(8);
    for (const arn of arns.filter((a) => !a.startsWith("arn:aws:s3:::")))
      expect(arn, arn).to.match(new RegExp(`^arn:aws:[a-z0-9-]+:(us-east-1)?:${CSS}:`));
    const buckets = resourcesOfType(css, T.bucket);
    expect(buckets.map((b) => b.state.region)).to.deep.equal(["us-east-1"]);
  });

  it("follows a mapping change and the configured subnet, instance type, retention and reconcile parallelism", async () => {
    const changed = await renderStack("css", {
      config: {
        "ecr-sync:repositories": { "kuali-coeus": "coeus", "kuali-research": "research" },
        "ecr-sync:workerSubnetId": "subnet-0123456789abcdef0",
        "ecr-sync:workerInstanceType": "t3.small",
        "ecr-sync:workerAmiParameter": "/aws/service/debian/release/13/latest/amd64",
        "ecr-sync:logRetentionDays": 365,
        "ecr-sync:reconcileParallelism": 12,
      },
    });
    const commandsOf = (name: string) =>
      (jsonInput(resource(changed, T.document, name), "content") as CommandDocument).mainSteps[0].inputs
        .runCommand;
    expect(commandsOf("ecr-sync-reconcile-document")).to.include(
      "export ECR_SYNC_RECONCILE_PARALLELISM='12'",
    );
    expect(
      commandsOf("ecr-sync-sync-document").filter((l) => l.includes("RECONCILE_PARALLELISM")),
    ).to.deep.equal([]);
    const rule = resource(changed, T.rule, "ecr-sync-push-rule");
    expect(
      (jsonInput(rule, "eventPattern") as { detail: Record<string, unknown> }).detail["repository-name"],
    ).to.deep.equal(["kuali-coeus", "kuali-research"]);
    const worker = resource(changed, T.instance, "ecr-sync-worker-debian13");
    expect(worker.inputs).to.include({ subnetId: "subnet-0123456789abcdef0", instanceType: "t3.small" });
    expect(worker.inputs.ami).to.not.equal(resource(css, T.instance, "ecr-sync-worker-debian13").inputs.ami);
    for (const lg of resourcesOfType(changed, T.logGroup)) expect(lg.inputs.retentionInDays).to.equal(365);
    expect(changed.outputs.repositories).to.deep.equal({
      "kuali-coeus": "coeus",
      "kuali-research": "research",
    });
  });

  it("stops the program with the config error, naming key and value", async () => {
    let error: unknown;
    try {
      await renderStack("css", {
        config: { "ecr-sync:repositories": { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus" } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.include(
      '"kuali-coeus" and "kuali-coeus-feature" are both mapped to "coeus"',
    );
  });
});

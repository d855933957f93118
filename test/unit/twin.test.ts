/**
 * The twin's own translations, on their own (test/system/twin*.test.ts run them together):
 * registry requests to ECR actions, recorded `aws` calls to principals and resources, document
 * parameters as SSM accepts them, registry notifications to ECR events, the plan read from the
 * real renderings, and the agent's model of its command workers and SSM's delivery timeout.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { renderStack, Rendering, resourcesOfType } from "../../local/render";
import { SSM_AGENT_COMMAND_WORKERS } from "../../components/user-data";
import { acceptedParameters, RefusedCommand } from "../../local/twin/agent";
import { agentLimitsFromUserData, CommandWorkers } from "../../local/twin/agent-model";
import { ecrImageAction } from "../../local/twin/events";
import { callOf } from "../../local/twin/aws-relay";
import { awsCallHops, denials, registryAction, registryHops, sessionArn } from "../../local/twin/iam";
import { planFrom, TwinPlan } from "../../local/twin/plan";

const FIXTURES = path.resolve(__dirname, "..", "fixtures", "ecr-events");

describe("the twin's translations", function () {
  // Two renderings: about 12 s each on a 2-core machine, more when it is shared.
  this.timeout(90000);
  let plan: TwinPlan;
  let renderings: { css: Rendering; legacy: Rendering };

  before(async () => {
    const css = await renderStack("css");
    renderings = { css, legacy: await renderStack("legacy", { sourceOutputs: css.outputs }) };
    plan = planFrom(renderings.css, renderings.legacy);
  });

  it("reads the plan from the renderings: accounts, roles, rule, documents, schedule input", () => {
    expect(plan.sourceAccount).to.equal("770203350335");
    expect(plan.targetAccount).to.equal("730096353738");
    expect(plan.roles.map((r) => r.arn)).to.include.members([plan.workerRoleArn, plan.targetRoleArn]);
    expect(plan.documents.map((d) => d.name)).to.include(plan.pushTrigger.environment.SYNC_DOCUMENT_NAME);
    expect(plan.schedule.input).to.include({ DocumentName: "ecr-sync-reconcile" });
    expect(plan.schedule.groupArn).to.equal(
      "arn:aws:scheduler:us-east-1:770203350335:schedule-group/ecr-sync",
    );
  });

  it("maps registry requests to the ECR actions IAM authorises them as", () => {
    expect(registryAction("HEAD", "manifests/v1")).to.equal("ecr:BatchGetImage");
    expect(registryAction("GET", "manifests/sha256:ab")).to.equal("ecr:BatchGetImage");
    expect(registryAction("PUT", "manifests/v1")).to.equal("ecr:PutImage");
    expect(registryAction("GET", "blobs/sha256:ab")).to.equal("ecr:GetDownloadUrlForLayer");
    expect(registryAction("HEAD", "blobs/sha256:ab")).to.equal("ecr:BatchCheckLayerAvailability");
    expect(registryAction("POST", "blobs/uploads/")).to.equal("ecr:InitiateLayerUpload");
    expect(registryAction("PATCH", "blobs/uploads/1234")).to.equal("ecr:UploadLayerPart");
    expect(registryAction("PUT", "blobs/uploads/1234")).to.equal("ecr:CompleteLayerUpload");
    expect(registryAction("GET", "tags/list")).to.equal("ecr:ListImages");
    expect(registryAction("GET", "referrers/sha256:ab")).to.equal("ecr:BatchGetImage");
    expect(registryAction("PUT", "referrers/sha256:ab")).to.equal(undefined);
  });

  it("skips the 401 challenge and names the repository ARN in the registry's account", () => {
    const caller = { principal: sessionArn(plan.workerRoleArn, "i-1"), roleArn: plan.workerRoleArn };
    const hops = registryHops(
      [
        { method: "GET", path: "/v2/", query: "", status: 401, bytes: 0 },
        { method: "HEAD", path: "/v2/team/app/manifests/v1", query: "", status: 401, bytes: 0 },
        { method: "HEAD", path: "/v2/team/app/manifests/v1", query: "", status: 200, bytes: 0 },
      ],
      caller,
      { name: "css", account: "770203350335", region: "us-east-1" },
    );
    expect(hops.map((h) => `${h.action} ${h.resource}`)).to.deep.equal([
      "ecr:BatchGetImage arn:aws:ecr:us-east-1:770203350335:repository/team/app",
    ]);
    expect(() =>
      registryHops([{ method: "GET", path: "/v2/_catalog", query: "", status: 200, bytes: 0 }], caller, {
        name: "css",
        account: "770203350335",
        region: "us-east-1",
      }),
    ).to.throw("cannot tell which ECR action GET /v2/_catalog");
  });

  it("attributes each recorded aws call to the worker or to the role it assumed", () => {
    const { hops, assumed } = awsCallHops(plan, "WORKERKEY", [
      "WORKERKEY ecr get-login-password --region us-east-1",
      `WORKERKEY sts assume-role --role-arn ${plan.targetRoleArn} --role-session-name ecr-sync-42 --query Credentials --output text`,
      "TARGETKEY ecr get-login-password --region us-east-1",
      "TARGETKEY ecr describe-repositories --region us-east-1 --repository-names coeus --output json",
    ]);
    const worker = sessionArn(plan.workerRoleArn, plan.workerInstanceId);
    expect(assumed).to.deep.equal({
      roleArn: plan.targetRoleArn,
      principal: "arn:aws:sts::730096353738:assumed-role/ecr-sync-target/ecr-sync-42",
    });
    expect(hops.map((h) => `${h.principal} ${h.action} ${h.resource}`)).to.deep.equal([
      `${worker} ecr:GetAuthorizationToken *`,
      `${worker} sts:AssumeRole ${plan.targetRoleArn}`,
      `${assumed?.principal} ecr:GetAuthorizationToken *`,
      `${assumed?.principal} ecr:DescribeRepositories arn:aws:ecr:us-east-1:730096353738:repository/coeus`,
    ]);
    expect(hops[1].context).to.deep.equal({ "ec2:SourceInstanceArn": plan.workerInstanceArn });
    expect(() => awsCallHops(plan, "WORKERKEY", ["OTHERKEY ecr get-login-password"])).to.throw(
      "credentials it did not get",
    );
  });

  it("reads the copier's bucket and the uploaded bundle's key and hash from the rendering", () => {
    expect(plan.copier.bucket).to.equal(renderings.css.outputs.copierBucketName);
    expect(plan.copier.key).to.equal(`copier/${String(renderings.css.outputs.copierSha256)}.cjs`);
    expect(plan.copier.sha256).to.equal(renderings.css.outputs.copierSha256);
    expect(plan.copier.bytes).to.be.above(100 * 1024);
  });

  it("turns the SDK's requests through the relay into the calls the IAM check reads, with the names of their resources", () => {
    const auth = (key: string, service: string) => ({
      authorization: `AWS4-HMAC-SHA256 Credential=${key}/20261207/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    });
    const json = (target: string, body: unknown) => Buffer.from(JSON.stringify(body));
    expect(
      callOf(
        { method: "POST", url: "/", headers: auth("WORKERKEY", "sts") },
        Buffer.from(
          `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent(plan.targetRoleArn)}&RoleSessionName=ecr-sync-7`,
        ),
      ),
    ).to.equal(`WORKERKEY sts assume-role --role-arn ${plan.targetRoleArn} --role-session-name ecr-sync-7`);
    expect(
      callOf(
        {
          method: "POST",
          url: "/",
          headers: {
            ...auth("TARGETKEY", "ecr"),
            "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
          },
        },
        json("", { repositoryNames: ["coeus"] }),
      ),
    ).to.equal("TARGETKEY ecr describe-repositories --repository-names coeus");
    expect(
      callOf(
        {
          method: "POST",
          url: "/",
          headers: {
            ...auth("WORKERKEY", "monitoring"),
            "x-amz-target": "GraniteServiceVersion20100801.PutMetricData",
          },
        },
        json("", { Namespace: "ecr-sync", MetricData: [] }),
      ),
    ).to.equal("WORKERKEY cloudwatch put-metric-data --namespace ecr-sync");
    expect(
      callOf(
        {
          method: "POST",
          url: "/",
          headers: { ...auth("WORKERKEY", "logs"), "x-amz-target": "Logs_20140328.PutLogEvents" },
        },
        json("", { logGroupName: "/ecr-sync/results", logStreamName: "i-1/run", logEvents: [] }),
      ),
    ).to.equal("WORKERKEY logs put-log-events --log-group-name /ecr-sync/results --log-stream-name i-1/run");
    expect(
      callOf(
        { method: "HEAD", url: "/ecr-sync-copier-0a1b2c3/copier/ab.cjs", headers: auth("WORKERKEY", "s3") },
        Buffer.alloc(0),
      ),
    ).to.equal("WORKERKEY s3api get-object --bucket ecr-sync-copier-0a1b2c3 --key copier/ab.cjs");
    expect(
      callOf({ method: "GET", url: "/", headers: {} }, Buffer.alloc(0)),
      "unsigned: no AWS call",
    ).to.equal(undefined);
  });

  it("evaluates the copier's download, metrics and result lines against the rendered worker policies", async () => {
    const { bucket, key } = plan.copier;
    const calls = [
      `WORKERKEY s3 cp --region us-east-1 --only-show-errors s3://${bucket}/${key} /var/lib/ecr-sync/copier/.download.x`,
      `WORKERKEY s3api get-object --bucket ${bucket} --key ${key}`,
      "WORKERKEY cloudwatch put-metric-data --namespace ecr-sync",
      "WORKERKEY logs put-log-events --log-group-name /ecr-sync/results --log-stream-name i-1/run",
    ];
    const { hops } = awsCallHops(plan, "WORKERKEY", calls);
    expect(hops.map((h) => `${h.action} ${h.resource}`)).to.deep.equal([
      `s3:GetObject arn:aws:s3:::${bucket}/${key}`,
      `s3:GetObject arn:aws:s3:::${bucket}/${key}`,
      "cloudwatch:PutMetricData *",
      "logs:PutLogEvents arn:aws:logs:us-east-1:770203350335:log-group:/ecr-sync/results:log-stream:i-1/run",
    ]);
    expect(hops[2].context).to.include({ "cloudwatch:namespace": "ecr-sync" });
    expect((await denials(plan, hops)).denied).to.deep.equal([]);
    // Denied (each fails without the grant it tests): another prefix, another bucket, another namespace.
    const refused = awsCallHops(plan, "WORKERKEY", [
      `WORKERKEY s3 cp s3://${bucket}/other/x.cjs /tmp/x`,
      `WORKERKEY s3api get-object --bucket someone-elses-bucket --key ${key}`,
      "WORKERKEY cloudwatch put-metric-data --namespace AWS/EC2",
    ]).hops;
    const { denied } = await denials(plan, refused);
    expect(denied).to.have.length(3);
    expect(denied[0]).to.match(
      /IAM denies .* s3:GetObject on arn:aws:s3:::ecr-sync-copier-[0-9a-f]+\/other\/x\.cjs/,
    );
  });

  it("accepts parameters as SSM does: defaults filled, patterns checked, undeclared ones refused", () => {
    const document = {
      parameters: {
        tag: { allowedPattern: "^v[0-9]+$" },
        dryRun: { allowedPattern: "^(true|false)$", default: "false" },
      },
      mainSteps: [],
    };
    expect(acceptedParameters("doc", document, { tag: ["v1"] })).to.deep.equal({
      tag: "v1",
      dryRun: "false",
    });
    expect(() => acceptedParameters("doc", document, { tag: ["latest"] }))
      .to.throw(RefusedCommand)
      .with.property("message")
      .that.includes('parameter tag="latest" does not match the allowedPattern "^v[0-9]+$" of document doc');
    expect(() => acceptedParameters("doc", document, { tag: ["v1"], extra: ["x"] })).to.throw(
      "declares no parameter extra",
    );
    expect(() => acceptedParameters("doc", document, {})).to.throw("needs parameter tag");
  });

  it("turns a manifest push into the ECR Image Action event, image-tag only when tagged", () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, "push.json"), "utf8"));
    const base = {
      repository: "kuali-coeus",
      digest: fixture.detail["image-digest"],
      mediaType: "application/vnd.oci.image.index.v1+json",
      timestamp: "2025-03-04T15:21:09.123456Z",
    };
    const tagged = ecrImageAction({ ...base, tag: "2503.0004" });
    expect(tagged).to.include({ Source: fixture.source, DetailType: fixture["detail-type"] });
    expect(JSON.parse(tagged.Detail)).to.deep.equal({
      ...fixture.detail,
      "manifest-media-type": "application/vnd.oci.image.index.v1+json",
    });
    expect(tagged.Time).to.equal(Date.parse(fixture.time) / 1000);
    expect(JSON.parse(ecrImageAction(base).Detail)).to.not.have.property("image-tag");
  });

  it("reads the agent's command workers from the rendered user data, the buffer from the agent's default", () => {
    expect(agentLimitsFromUserData(plan.workerUserData)).to.deep.equal({
      workers: SSM_AGENT_COMMAND_WORKERS,
      buffer: 5,
    });
    // From the rendering, not a constant: a rendering with another limit gives another model.
    const css = structuredClone(renderings.css);
    const instance = resourcesOfType(css, "aws:ec2/instance:Instance")[0];
    instance.inputs.userData = String(instance.inputs.userData).replace(
      /^readonly COMMAND_WORKERS_LIMIT=\d+$/m,
      "readonly COMMAND_WORKERS_LIMIT=2",
    );
    const edited = planFrom(css, renderings.legacy);
    expect(agentLimitsFromUserData(edited.workerUserData)).to.deep.equal({ workers: 2, buffer: 5 });
    // As the agent reads its configuration: none set is the template's 5, less than 1 its default.
    expect(agentLimitsFromUserData("#!/bin/bash\n")).to.deep.equal({ workers: 5, buffer: 5 });
    expect(agentLimitsFromUserData("readonly COMMAND_WORKERS_LIMIT=0\n").workers).to.equal(5);
    expect(() => agentLimitsFromUserData("readonly COMMAND_WORKERS_LIMIT=${N}\n")).to.throw(
      "COMMAND_WORKERS_LIMIT=${N}, not a whole number",
    );
    expect(() => agentLimitsFromUserData(".Mds.CommandWorkerBufferLimit = 9")).to.throw(
      "the twin's agent does not read",
    );
  });

  it("runs at most the workers limit, buffers the next ones, and leaves the rest with SSM until they time out", () => {
    const agent = new CommandWorkers({ workers: 2, buffer: 1 });
    const deliverBy = 10_000;
    const offered = ["a", "b", "c", "d", "e"].flatMap((id) => agent.offer(id, deliverBy, 0));
    expect(offered.map((t) => `${t.commandId} ${t.to}`)).to.deep.equal([
      "a running",
      "b running",
      "c buffered",
    ]);
    expect(agent.runningNow()).to.deep.equal(["a", "b"]);
    expect(agent.nextDeadline()).to.equal(deliverBy);
    // A worker frees: the buffered command starts and SSM's oldest waiting one is accepted.
    expect(agent.ended("a", 1000).map((t) => `${t.commandId} ${t.to}`)).to.deep.equal([
      "c running",
      "d buffered",
    ]);
    // Its delivery timeout passes: what is still with SSM ends TimedOut, at its deadline; the buffered one stays.
    expect(agent.tick(deliverBy)).to.deep.equal([{ commandId: "e", to: "timed out", at: deliverBy }]);
    expect(agent.nextDeadline()).to.equal(undefined);
    // Accepted commands run whatever their age (the agent checks none).
    expect(agent.ended("b", 20_000).map((t) => `${t.commandId} ${t.to}`)).to.deep.equal(["d running"]);
    expect(agent.stats()).to.deep.equal({
      peakRunning: 2,
      waitedInBuffer: 2,
      waitedInService: 2,
      timedOut: 1,
    });
    // A command offered again (SSM redelivers) is the same command.
    expect(agent.offer("c", deliverBy, 20_000)).to.deep.equal([]);
    expect(() => agent.ended("e", 20_000)).to.throw("e was not running");
    expect(() => new CommandWorkers({ workers: 0, buffer: 5 })).to.throw("workers is 0");
  });
});

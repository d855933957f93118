import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateDocumentCommand, ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { expect } from "chai";
import { HANDLER_FILE_NAME } from "../../common/push-trigger";
import { bundleHandler } from "../../lambda/bundle";
import { IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN, REPOSITORY_NAME_PATTERN } from "../../common/naming";
import { SYNC_PARAMETERS } from "../../common/ssm-command";
import { MetricKey } from "../../common/telemetry";
import { filterSpecs } from "../../components/metrics";
import { MotoServer, startMoto } from "../../local/moto";
import { metricValue } from "../support/filter-pattern";

const FIXTURES = path.resolve(__dirname, "..", "fixtures", "ecr-events");
const DOCUMENT_NAME = "ecr-sync-copy";
const LOG_GROUP_NAME = "/ecr-sync/commands";

/** A Command document with the contract's four parameters, so that the name SendCommand uses resolves. */
function syncDocumentContent(): string {
  const parameter = (description: string, allowedPattern: string) => ({
    type: "String",
    description,
    allowedPattern,
  });
  return JSON.stringify({
    schemaVersion: "2.2",
    description: "ecr-sync: copy one image (test copy of the contract)",
    parameters: {
      [SYNC_PARAMETERS.sourceRepository]: parameter("source repository", REPOSITORY_NAME_PATTERN),
      [SYNC_PARAMETERS.targetRepository]: parameter("target repository", REPOSITORY_NAME_PATTERN),
      [SYNC_PARAMETERS.tag]: parameter("tag", IMAGE_TAG_PATTERN),
      [SYNC_PARAMETERS.digest]: parameter("digest", IMAGE_DIGEST_PATTERN),
    },
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: "copy",
        inputs: {
          runCommand: [
            "ecr-sync copy --source-repository '{{sourceRepository}}' --target-repository '{{targetRepository}}' --tag '{{tag}}' --digest '{{digest}}'",
          ],
        },
      },
    ],
  });
}

/** `node -e` program: loads the bundle as Lambda does and calls its handler with the event on stdin. */
const RUNNER = `
const { handler } = require("./${HANDLER_FILE_NAME}");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk)).on("end", async () => {
  const result = await handler(JSON.parse(input));
  process.stdout.write("RESULT " + JSON.stringify(result) + "\\n");
});
`;

describe("push trigger against moto_server (the deployed bundle)", function () {
  this.timeout(90000);
  let moto: MotoServer;
  let dir: string;
  let ssm: SSMClient;
  let instanceId: string;

  before(async () => {
    moto = await startMoto();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-lambda-"));
    fs.writeFileSync(path.join(dir, HANDLER_FILE_NAME), await bundleHandler());
    fs.writeFileSync(path.join(dir, "run.js"), RUNNER);

    // An instance for the command to target, as EC2 answers (XML, query protocol).
    const ec2 = moto.api();
    const images = await ec2.query("ec2", "DescribeImages", { "Owner.1": "amazon" });
    const imageId = /<imageId>([^<]+)<\/imageId>/.exec(images)?.[1];
    if (imageId === undefined) throw new Error(`moto's EC2 listed no amazon image: ${images.slice(0, 300)}`);
    const reservation = await ec2.query("ec2", "RunInstances", {
      ImageId: imageId,
      InstanceType: "t3.micro",
      MinCount: "1",
      MaxCount: "1",
    });
    const launched = /<instanceId>([^<]+)<\/instanceId>/.exec(reservation)?.[1];
    if (launched === undefined)
      throw new Error(`moto's EC2 launched no instance: ${reservation.slice(0, 300)}`);
    instanceId = launched;

    ssm = new SSMClient(moto.clientConfig());
    await ssm.send(
      new CreateDocumentCommand({
        Name: DOCUMENT_NAME,
        DocumentType: "Command",
        DocumentFormat: "JSON",
        Content: syncDocumentContent(),
      }),
    );
  });

  after(async () => {
    ssm?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await moto?.stop();
  });

  /** Runs the bundled handler in its own process, configured as the stack configures it, with moto as AWS. */
  function invoke(
    eventFile: string,
    change: (event: Record<string, unknown>) => void = () => {},
  ): { result: unknown; logs: Record<string, unknown>[]; logLines: string[] } {
    const event = JSON.parse(fs.readFileSync(path.join(FIXTURES, eventFile), "utf8")) as Record<
      string,
      unknown
    >;
    change(event);
    const child = spawnSync(process.execPath, ["run.js"], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_NO_WARNINGS: "1",
        ...moto.env(),
        SYNC_INSTANCE_ID: instanceId,
        SYNC_DOCUMENT_NAME: DOCUMENT_NAME,
        REPOSITORY_MAP: JSON.stringify({ "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" }),
        SYNC_LOG_GROUP_NAME: LOG_GROUP_NAME,
      },
      input: JSON.stringify(event),
      encoding: "utf8",
      timeout: 60000,
    });
    expect(child.stderr, "the handler's stderr").to.equal("");
    expect(child.status, "the handler's exit status").to.equal(0);
    const lines = child.stdout.trim().split("\n");
    const resultLine = lines.find((line) => line.startsWith("RESULT "));
    const logLines = lines.filter((line) => !line.startsWith("RESULT "));
    return {
      result: JSON.parse((resultLine ?? "RESULT null").slice("RESULT ".length)),
      logs: logLines.map((line) => JSON.parse(line)),
      logLines,
    };
  }

  it("a push to kuali-coeus arrives at SSM as one command with exactly the intended parameters", async () => {
    const { result, logs } = invoke("push.json");

    expect(result).to.have.property("status", "sent");
    const commandId = (result as { commandId: string }).commandId;
    expect(commandId).to.match(/^[0-9a-f-]{36}$/);
    expect(logs).to.have.length(1);
    expect(logs[0]).to.include({
      decision: "sent",
      commandId,
      repository: "kuali-coeus",
      targetRepository: "coeus",
    });

    const { Commands } = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(Commands).to.have.length(1);
    const command = Commands![0];
    expect(command.DocumentName).to.equal(DOCUMENT_NAME);
    expect(command.InstanceIds).to.deep.equal([instanceId]);
    expect(command.Parameters).to.deep.equal({
      sourceRepository: ["kuali-coeus"],
      targetRepository: ["coeus"],
      tag: ["2503.0004"],
      digest: ["sha256:3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"],
      pushedAt: ["2025-03-04T15:21:09Z"],
    });
    expect(command.Comment).to.equal("ecr-sync kuali-coeus:2503.0004 -> coeus");
    expect(command.TimeoutSeconds).to.equal(600);
  });

  it("a push whose event has no valid time still arrives at SSM, without pushedAt", async () => {
    for (const change of [
      (event: Record<string, unknown>) => delete event.time,
      (event: Record<string, unknown>) => (event.time = "2025-03-04 15:21:09"),
    ]) {
      const { result } = invoke("push.json", change);
      expect(result).to.have.property("status", "sent");
      const commandId = (result as { commandId: string }).commandId;
      const { Commands } = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(Commands).to.have.length(1);
      expect(Object.keys(Commands![0].Parameters ?? {}).sort()).to.deep.equal([
        "digest",
        "sourceRepository",
        "tag",
        "targetRepository",
      ]);
    }
  });

  it("a push with a 200-character tag reaches SSM as no command; its line counts as UnsupportedTags, not InvalidEvents", async () => {
    const before = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const tag = `2503.0004-${"a".repeat(190)}`;

    const { result, logs, logLines } = invoke("push.json", (event) => {
      (event.detail as Record<string, unknown>)["image-tag"] = tag;
    });

    expect(result).to.have.property("status", "unsupported");
    expect(logs).to.have.length(1);
    expect(logs[0]).to.include({ decision: "unsupported", repository: "kuali-coeus", tag });
    const after = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(after).to.have.length(before.length);
    // The line exactly as the bundle printed it, through the metric filters' patterns.
    const counted = (metric: MetricKey) => {
      const spec = filterSpecs().find((s) => s.metric === metric)!;
      return metricValue(spec.pattern, spec.value, logLines[0]);
    };
    expect(counted("unsupportedTags")).to.equal(1);
    expect(counted("invalidDecisions")).to.equal(undefined);
  });

  it("a deletion and an untagged push reach SSM as no command at all", async () => {
    const before = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];

    const deletion = invoke("delete.json");
    const untagged = invoke("push-untagged.json");

    expect(deletion.result).to.have.property("status", "skipped");
    expect(untagged.result).to.have.property("status", "skipped");
    const after = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(after.map((command) => command.CommandId)).to.deep.equal(
      before.map((command) => command.CommandId),
    );
  });
});

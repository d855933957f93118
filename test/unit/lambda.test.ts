import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidInstanceId, SendCommandCommand, SSMClient, SSMServiceException } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { readConfig } from "../../lambda/config";
import { commandComment, COMMENT_MAX_LENGTH } from "../../lambda/decide";

type LambdaModule = typeof import("../../lambda/index");
type SyncResult = Awaited<ReturnType<LambdaModule["handler"]>>;

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "ecr-events");

function fixture(name: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8"));
}

/** push.json with `detail` changed (a key set to undefined is removed). */
function pushWith(detail: Record<string, unknown>): Record<string, any> {
  const event = fixture("push.json");
  event.detail = JSON.parse(JSON.stringify({ ...event.detail, ...detail }));
  return event;
}

const VALID_ENV = {
  SYNC_INSTANCE_ID: "i-0a1b2c3d4e5f60718",
  SYNC_DOCUMENT_NAME: "ecr-sync-copy",
  REPOSITORY_MAP: JSON.stringify({ "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" }),
  SYNC_LOG_GROUP_NAME: "/ecr-sync/commands",
};
type ConfigVariable = keyof typeof VALID_ENV;

const ssmMock = mockClient(SSMClient);

describe("push trigger (lambda/index.ts)", () => {
  let lambda: LambdaModule;
  const savedEnv: Partial<Record<ConfigVariable, string>> = {};

  before(async () => {
    for (const name of Object.keys(VALID_ENV) as ConfigVariable[]) {
      savedEnv[name] = process.env[name];
      process.env[name] = VALID_ENV[name];
    }
    const imported = (await import("../../lambda/index.js")) as LambdaModule & { default?: LambdaModule };
    lambda = typeof imported.handler === "function" ? imported : (imported.default as LambdaModule);
  });

  after(() => {
    for (const name of Object.keys(VALID_ENV) as ConfigVariable[]) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
    ssmMock.restore();
  });

  beforeEach(() => ssmMock.reset());

  /** Runs the handler and collects what it logged. */
  async function run(
    event: unknown,
  ): Promise<{ result?: SyncResult; error?: unknown; logs: Record<string, unknown>[] }> {
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split("\n")
          .filter((line) => line !== ""),
      );
      return true;
    }) as typeof process.stdout.write;
    try {
      const result = await lambda.handler(event as never);
      return { result, logs: lines.map((line) => JSON.parse(line)) };
    } catch (error) {
      return { error, logs: lines.map((line) => JSON.parse(line)) };
    } finally {
      process.stdout.write = write;
    }
  }

  describe("a push to a mapped repository", () => {
    it("sends exactly one SendCommand with the document, the instance, typed parameters, CloudWatch output and a timeout", async () => {
      ssmMock
        .on(SendCommandCommand)
        .resolves({ Command: { CommandId: "0b6f4c5e-1111-4a2b-9c3d-2e4f6a8b0c1d" } });

      const { result, error } = await run(fixture("push.json"));

      expect(error).to.equal(undefined);
      expect(result).to.deep.equal({ status: "sent", commandId: "0b6f4c5e-1111-4a2b-9c3d-2e4f6a8b0c1d" });
      const calls = ssmMock.commandCalls(SendCommandCommand);
      expect(calls).to.have.length(1);
      expect(calls[0].args[0].input).to.deep.equal({
        InstanceIds: ["i-0a1b2c3d4e5f60718"],
        DocumentName: "ecr-sync-copy",
        Comment: "ecr-sync kuali-coeus:2503.0004 -> coeus",
        TimeoutSeconds: 600,
        Parameters: {
          sourceRepository: ["kuali-coeus"],
          targetRepository: ["coeus"],
          tag: ["2503.0004"],
          digest: ["sha256:3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"],
          pushedAt: ["2025-03-04T15:21:09Z"],
        },
        CloudWatchOutputConfig: {
          CloudWatchOutputEnabled: true,
          CloudWatchLogGroupName: "/ecr-sync/commands",
        },
      });
    });

    it("maps each source repository to its own target (kuali-coeus-feature → coeus-feature)", async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "c-feature" } });

      const { result } = await run(fixture("push-feature.json"));

      expect(result).to.deep.equal({ status: "sent", commandId: "c-feature" });
      const input = ssmMock.commandCalls(SendCommandCommand)[0].args[0].input;
      expect(input.Parameters).to.deep.equal({
        sourceRepository: ["kuali-coeus-feature"],
        targetRepository: ["coeus-feature"],
        tag: ["feature-budget_rates.2"],
        digest: ["sha256:9b8e7d6c5b4a39281706f5e4d3c2b1a0918273645f6e7d8c9b0a1f2e3d4c5b6a"],
        pushedAt: ["2025-03-04T16:02:47Z"],
      });
      expect(input.Comment).to.equal("ecr-sync kuali-coeus-feature:feature-budget_rates.2 -> coeus-feature");
    });

    it("logs one JSON line with the decision, repository, tag, digest, target, event id and command id", async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "c-logged" } });

      const { logs } = await run(fixture("push.json"));

      expect(logs).to.deep.equal([
        {
          decision: "sent",
          reason: "a push to kuali-coeus, mapped to coeus",
          repository: "kuali-coeus",
          tag: "2503.0004",
          digest: "sha256:3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f",
          eventId: "5d6a4a3e-8c1f-4b0e-9d2a-7f3c1e9b2a41",
          targetRepository: "coeus",
          commandId: "c-logged",
          pushedAt: "2025-03-04T15:21:09Z",
        },
      ]);
    });

    it("passes the event's time, with its fraction, as pushedAt", async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "c-time" } });
      const event = { ...fixture("push.json"), time: "2026-06-01T12:00:03.250Z" };

      await run(event);

      const input = ssmMock.commandCalls(SendCommandCommand)[0].args[0].input;
      expect(input.Parameters?.pushedAt).to.deep.equal(["2026-06-01T12:00:03.250Z"]);
    });

    for (const [what, time] of [
      ["no time", undefined],
      ["an empty time", ""],
      ["a time with an offset", "2026-06-01T12:00:03+02:00"],
      ["a date without a time", "2026-06-01"],
      ["an impossible date", "2026-02-30T12:00:03Z"],
      ["a time that is a number", 1780315203],
      ["a time with a quote", "2026-06-01T12:00:03Z'; id; '"],
    ] as const) {
      it(`still sends the command, without pushedAt, for an event with ${what}`, async () => {
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "c-untimed" } });
        const event = fixture("push.json");
        if (time === undefined) delete event.time;
        else event.time = time;

        const { result, logs } = await run(event);

        expect(result).to.deep.equal({ status: "sent", commandId: "c-untimed" });
        const calls = ssmMock.commandCalls(SendCommandCommand);
        expect(calls).to.have.length(1);
        expect(Object.keys(calls[0].args[0].input.Parameters ?? {}).sort()).to.deep.equal([
          "digest",
          "sourceRepository",
          "tag",
          "targetRepository",
        ]);
        expect(logs[0]).to.not.have.property("pushedAt");
      });
    }

    it("sends one command per delivery, so a duplicated event is sent twice (the worker reports the second copy unchanged)", async () => {
      ssmMock
        .on(SendCommandCommand)
        .resolvesOnce({ Command: { CommandId: "first" } })
        .resolves({ Command: { CommandId: "second" } });

      const first = await run(fixture("push.json"));
      const second = await run(fixture("push.json"));

      expect([first.result, second.result]).to.deep.equal([
        { status: "sent", commandId: "first" },
        { status: "sent", commandId: "second" },
      ]);
      const [a, b] = ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input);
      expect(a).to.deep.equal(b);
    });
  });

  describe("skips, without calling SSM", () => {
    const cases: [string, () => Record<string, any>, RegExp][] = [
      ["a DELETE action", () => fixture("delete.json"), /a DELETE: deletions are not mirrored/],
      ["a FAILURE result", () => fixture("push-failure.json"), /result is "FAILURE"/],
      [
        "a repository that is not in the map",
        () => fixture("push-unmapped.json"),
        /"kuali-research-pdf" is not in REPOSITORY_MAP/,
      ],
      [
        "a push without a tag (a multi-arch platform manifest)",
        () => fixture("push-untagged.json"),
        /untagged/,
      ],
      ["a push whose tag is empty", () => pushWith({ "image-tag": "" }), /untagged/],
      ["a push whose tag is null", () => pushWith({ "image-tag": null }), /untagged/],
      [
        "an action type other than PUSH or DELETE",
        () => pushWith({ "action-type": "REPLICATE" }),
        /"REPLICATE" is not a PUSH/,
      ],
    ];
    for (const [what, event, reason] of cases) {
      it(`skips ${what}`, async () => {
        const { result, error, logs } = await run(event());

        expect(error).to.equal(undefined);
        expect(result?.status).to.equal("skipped");
        expect(result).to.have.property("reason").that.matches(reason);
        expect(ssmMock.commandCalls(SendCommandCommand)).to.have.length(0);
        expect(logs).to.have.length(1);
        expect(logs[0]).to.include({ decision: "skipped", reason: (result as { reason: string }).reason });
        expect(logs[0]).to.have.all.keys("decision", "reason", "repository", "tag", "digest", "eventId");
      });
    }
  });

  describe("rejects as invalid, without calling SSM and without throwing (no retry)", () => {
    const pushEvent = () => fixture("push.json");
    const cases: [string, () => unknown, RegExp][] = [
      ["null instead of an event", () => null, /not a JSON object/],
      ["a string instead of an event", () => "kuali-coeus:latest", /not a JSON object/],
      ["an event without detail", () => ({ ...pushEvent(), detail: undefined }), /no detail object/],
      [
        "an event of another detail-type",
        () => ({ ...pushEvent(), "detail-type": "ECR Image Scan" }),
        /detail-type is "ECR Image Scan"/,
      ],
      ["an event from another source", () => ({ ...pushEvent(), source: "my.app" }), /source is "my\.app"/],
      ["a result that is not a string", () => pushWith({ result: 1 }), /detail\.result/],
      ["a missing action-type", () => pushWith({ "action-type": undefined }), /detail\.action-type/],
      [
        "a repository name ECR would refuse (upper case)",
        () => pushWith({ "repository-name": "Kuali_Coeus" }),
        /repository-name "Kuali_Coeus"/,
      ],
      [
        "a repository name carrying a shell command",
        () => pushWith({ "repository-name": "kuali-coeus;reboot" }),
        /not a valid ECR repository name/,
      ],
      [
        "a missing repository name",
        () => pushWith({ "repository-name": undefined }),
        /repository-name undefined/,
      ],
      [
        "a tag carrying a shell command",
        () => pushWith({ "image-tag": "2503.0004; rm -rf /" }),
        /image-tag "2503\.0004; rm -rf \/"/,
      ],
      [
        "a tag with command substitution",
        () => pushWith({ "image-tag": "$(reboot)" }),
        /not a valid image tag/,
      ],
      [
        "a tag that starts with '-' (would read as a flag)",
        () => pushWith({ "image-tag": "-rf" }),
        /not a valid image tag/,
      ],
      [
        "a tag longer than the 300 characters ECR accepts",
        () => pushWith({ "image-tag": "a".repeat(301) }),
        /not a valid image tag/,
      ],
      [
        "a tag of 200 characters with one no tag may have",
        () => pushWith({ "image-tag": `${"a".repeat(199)}$` }),
        /not a valid image tag/,
      ],
      [
        "a tag of 200 characters that starts with '-'",
        () => pushWith({ "image-tag": `-${"a".repeat(199)}` }),
        /not a valid image tag/,
      ],
      [
        "a tag of 200 characters with a malformed digest",
        () => pushWith({ "image-tag": "a".repeat(200), "image-digest": "sha256:abc" }),
        /not a sha256 digest/,
      ],
      ["a tag that is not a string", () => pushWith({ "image-tag": 2503 }), /not a valid image tag/],
      [
        "the truncated 60-digit digest of AWS's documentation sample",
        () =>
          pushWith({ "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234" }),
        /not a sha256 digest/,
      ],
      [
        "a digest in upper case",
        () => pushWith({ "image-digest": `sha256:${"AB".repeat(32)}` }),
        /not a sha256 digest/,
      ],
      [
        "a sha512 digest",
        () => pushWith({ "image-digest": `sha512:${"ab".repeat(64)}` }),
        /not a sha256 digest/,
      ],
      ["a missing digest", () => pushWith({ "image-digest": undefined }), /image-digest undefined/],
    ];
    for (const [what, event, reason] of cases) {
      it(`rejects ${what}`, async () => {
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "must-not-be-used" } });

        const { result, error, logs } = await run(event());

        expect(error).to.equal(undefined);
        expect(result?.status).to.equal("invalid");
        expect(result).to.have.property("reason").that.matches(reason);
        expect(ssmMock.commandCalls(SendCommandCommand)).to.have.length(0);
        expect(logs).to.have.length(1);
        expect(logs[0]).to.include({ decision: "invalid" });
      });
    }

    it("keeps a hostile value's log line bounded", async () => {
      const { result, logs } = await run(pushWith({ "image-tag": "x".repeat(100_000) }));

      expect(result?.status).to.equal("invalid");
      expect(JSON.stringify(logs[0]).length).to.be.below(1000);
    });
  });

  describe("reports a tag ECR accepts but no image reference can carry (129–300 characters) as unsupported", () => {
    const digest = () => fixture("push.json").detail["image-digest"] as string;
    const cases: [string, string][] = [
      ["a tag of 129 characters", "a".repeat(129)],
      ["a tag of 300 characters (ECR's most)", "a".repeat(300)],
      ["a tag of 200 letters, digits, _ . and -", `_Release-2503.0004${"x.Y-9_".repeat(30)}${"z".repeat(2)}`],
    ];
    for (const [what, tag] of cases) {
      it(`reports ${what} as unsupported: one decision line, no SSM call, no throw, not invalid`, async () => {
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "must-not-be-used" } });

        const { result, error, logs } = await run(pushWith({ "image-tag": tag }));

        expect(error).to.equal(undefined);
        const reason =
          `the tag has ${tag.length} characters, longer than an image reference can carry ` +
          "(128; ECR accepts up to 300), so the image is not copied (push it under a shorter tag as well)";
        expect(result).to.deep.equal({ status: "unsupported", reason });
        expect(ssmMock.commandCalls(SendCommandCommand)).to.have.length(0);
        expect(logs).to.deep.equal([
          {
            decision: "unsupported",
            reason,
            repository: "kuali-coeus",
            tag,
            digest: digest(),
            eventId: "5d6a4a3e-8c1f-4b0e-9d2a-7f3c1e9b2a41",
          },
        ]);
      });
    }

    it("draws the line at 128 characters: a 128-character tag is sent, one more is unsupported", async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "c-128" } });

      const at = await run(pushWith({ "image-tag": "a".repeat(128) }));
      const over = await run(pushWith({ "image-tag": "a".repeat(129) }));

      expect(at.result).to.deep.equal({ status: "sent", commandId: "c-128" });
      expect(over.result?.status).to.equal("unsupported");
      expect(ssmMock.commandCalls(SendCommandCommand)).to.have.length(1);
    });
  });

  describe("throws SSM errors so that Lambda retries and the failure destination sees them", () => {
    const errors: [string, () => Error][] = [
      [
        "throttling",
        () =>
          new SSMServiceException({
            name: "ThrottlingException",
            $fault: "client",
            $metadata: {},
            message: "Rate exceeded",
          }),
      ],
      [
        "an unknown instance",
        () =>
          new InvalidInstanceId({
            $metadata: {},
            message: "Instances [[i-0a1b2c3d4e5f60718]] not in a valid state",
          }),
      ],
      [
        "access denied",
        () =>
          new SSMServiceException({
            name: "AccessDeniedException",
            $fault: "client",
            $metadata: {},
            message: "not authorized to perform: ssm:SendCommand",
          }),
      ],
    ];
    for (const [what, makeError] of errors) {
      it(`throws on ${what} and logs it as failed`, async () => {
        const thrown = makeError();
        ssmMock.on(SendCommandCommand).rejects(thrown);

        const { result, error, logs } = await run(fixture("push.json"));

        expect(result).to.equal(undefined);
        expect(error).to.equal(thrown);
        expect(ssmMock.commandCalls(SendCommandCommand)).to.have.length(1);
        expect(logs).to.have.length(1);
        expect(logs[0]).to.include({
          decision: "failed",
          repository: "kuali-coeus",
          tag: "2503.0004",
          targetRepository: "coeus",
        });
        expect(logs[0].reason).to.equal(`SendCommand failed: ${thrown.name}: ${thrown.message}`);
      });
    }

    it("throws when SSM answers without a command id", async () => {
      ssmMock.on(SendCommandCommand).resolves({});

      const { error } = await run(fixture("push.json"));

      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/without a CommandId/);
    });
  });
});

describe("command comment", () => {
  it("fits SendCommand's 100-character limit however long the names are", () => {
    const comment = commandComment({
      sourceRepository: `team/${"a".repeat(200)}`,
      targetRepository: "coeus",
      tag: "t".repeat(128),
      digest: `sha256:${"0".repeat(64)}`,
    });

    expect(comment).to.have.length(COMMENT_MAX_LENGTH);
    expect(comment).to.match(/^ecr-sync team\/a+\.\.\.$/);
  });
});

describe("configuration (readConfig)", () => {
  function withEnv(
    changes: Partial<Record<ConfigVariable, string | undefined>>,
  ): Record<string, string | undefined> {
    return { ...VALID_ENV, ...changes };
  }

  it("reads all four variables into a typed configuration", () => {
    const config = readConfig(VALID_ENV);

    expect(config.instanceId).to.equal("i-0a1b2c3d4e5f60718");
    expect(config.documentName).to.equal("ecr-sync-copy");
    expect(config.logGroupName).to.equal("/ecr-sync/commands");
    expect([...config.repositoryMap]).to.deep.equal([
      ["kuali-coeus", "coeus"],
      ["kuali-coeus-feature", "coeus-feature"],
    ]);
  });

  it("accepts an 8-digit instance id and a document ARN", () => {
    const config = readConfig(
      withEnv({
        SYNC_INSTANCE_ID: "i-1a2b3c4d",
        SYNC_DOCUMENT_NAME: "arn:aws:ssm:us-east-1:770203350335:document/ecr-sync-copy",
      }),
    );

    expect(config.instanceId).to.equal("i-1a2b3c4d");
    expect(config.documentName).to.equal("arn:aws:ssm:us-east-1:770203350335:document/ecr-sync-copy");
  });

  for (const name of Object.keys(VALID_ENV) as ConfigVariable[]) {
    it(`names ${name} when it is missing`, () => {
      expect(() => readConfig(withEnv({ [name]: undefined }))).to.throw(`${name} is not set`);
    });
    it(`names ${name} when it is blank`, () => {
      expect(() => readConfig(withEnv({ [name]: "  " }))).to.throw(`${name} is not set`);
    });
  }

  const malformed: [ConfigVariable, string, RegExp][] = [
    ["SYNC_INSTANCE_ID", "i-123", /SYNC_INSTANCE_ID="i-123" is not an EC2 instance id/],
    [
      "SYNC_INSTANCE_ID",
      "0a1b2c3d4e5f60718",
      /SYNC_INSTANCE_ID="0a1b2c3d4e5f60718" is not an EC2 instance id/,
    ],
    [
      "SYNC_INSTANCE_ID",
      "i-0A1B2C3D4E5F60718",
      /SYNC_INSTANCE_ID="i-0A1B2C3D4E5F60718" is not an EC2 instance id/,
    ],
    ["SYNC_DOCUMENT_NAME", "ecr sync", /SYNC_DOCUMENT_NAME="ecr sync" is not an SSM document name/],
    ["SYNC_DOCUMENT_NAME", "ab", /SYNC_DOCUMENT_NAME="ab" is not an SSM document name/],
    [
      "SYNC_LOG_GROUP_NAME",
      "/ecr sync/commands",
      /SYNC_LOG_GROUP_NAME="\/ecr sync\/commands" is not a CloudWatch log group name/,
    ],
    ["REPOSITORY_MAP", "kuali-coeus=coeus", /REPOSITORY_MAP is not valid JSON \("kuali-coeus=coeus"\)/],
    [
      "REPOSITORY_MAP",
      '["kuali-coeus","coeus"]',
      /REPOSITORY_MAP must be a JSON object.*got \["kuali-coeus","coeus"\]/,
    ],
    ["REPOSITORY_MAP", "null", /REPOSITORY_MAP must be a JSON object/],
    ["REPOSITORY_MAP", "{}", /REPOSITORY_MAP is an empty object/],
    [
      "REPOSITORY_MAP",
      '{"Kuali_Coeus":"coeus"}',
      /REPOSITORY_MAP\["Kuali_Coeus"\]: the key is not a valid ECR repository name/,
    ],
    [
      "REPOSITORY_MAP",
      '{"kuali-coeus":"coeus;reboot"}',
      /REPOSITORY_MAP\["kuali-coeus"\]: the target "coeus;reboot" is not a valid ECR repository name/,
    ],
    [
      "REPOSITORY_MAP",
      '{"kuali-coeus":42}',
      /REPOSITORY_MAP\["kuali-coeus"\]: the target 42 is not a valid ECR repository name/,
    ],
  ];
  for (const [name, value, message] of malformed) {
    it(`names ${name} when it is ${JSON.stringify(value)}`, () => {
      expect(() => readConfig(withEnv({ [name]: value }))).to.throw(message);
    });
  }

  it("lists every problem in one error, so one deployment fixes them all", () => {
    expect(() => readConfig({ SYNC_INSTANCE_ID: "bad", REPOSITORY_MAP: "{}" })).to.throw(
      /SYNC_INSTANCE_ID="bad".*SYNC_DOCUMENT_NAME is not set.*SYNC_LOG_GROUP_NAME is not set.*REPOSITORY_MAP is an empty object/,
    );
  });
});

describe("module load (lambda/index.ts)", function () {
  this.timeout(30000);

  /** Loads the module in a fresh Node process with exactly `env` as its configuration. */
  function loadWith(env: Partial<Record<ConfigVariable, string>>) {
    const childEnv: Record<string, string | undefined> = { ...process.env, NODE_NO_WARNINGS: "1" };
    for (const name of Object.keys(VALID_ENV)) delete childEnv[name];
    Object.assign(childEnv, env);
    return spawnSync(process.execPath, ["--import", "tsx", "-e", 'require("./lambda/index.ts")'], {
      cwd: REPO_ROOT,
      env: childEnv,
      encoding: "utf8",
    });
  }

  it("loads with a valid environment", () => {
    const child = loadWith(VALID_ENV);

    expect(child.stderr).to.equal("");
    expect(child.status).to.equal(0);
  });

  it("fails at load, naming the variable, when SYNC_INSTANCE_ID is missing", () => {
    const { SYNC_INSTANCE_ID: _omitted, ...rest } = VALID_ENV;
    const child = loadWith(rest);

    expect(child.status).to.not.equal(0);
    expect(child.stderr).to.include("SYNC_INSTANCE_ID is not set");
  });

  it("fails at load, naming the variable, when REPOSITORY_MAP is malformed", () => {
    const child = loadWith({ ...VALID_ENV, REPOSITORY_MAP: '{"kuali-coeus":' });

    expect(child.status).to.not.equal(0);
    expect(child.stderr).to.include("REPOSITORY_MAP is not valid JSON");
  });
});

/**
 * The figures `npm start` prints (local/twin/figures.ts), read back from a real moto_server after the
 * copier's telemetry published a copy and a reconcile and the model of the agent shipped their output.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { expect } from "chai";
import { Telemetry } from "../../ec2-scripts/copier/telemetry";
import { MOTO_CREDENTIALS, MotoServer, startMoto } from "../../local/moto";
import { CommandOutputShipper, ManualUploadClock } from "../../local/twin/agent-output";
import { figureLines, readFigures, resultsGroupOf } from "../../local/twin/figures";
import type { TwinPlan } from "../../local/twin/plan";

const plan = {
  region: "us-east-1",
  logGroups: ["/ecr-sync/commands", "/ecr-sync/results", "/aws/lambda/ecr-sync-push-trigger"],
  schedule: { input: { CloudWatchOutputConfig: { CloudWatchLogGroupName: "/ecr-sync/commands" } } },
} as unknown as TwinPlan;
const admin = {
  accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
  secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
};

describe("the twin's figures, read back from moto", function () {
  this.timeout(60000);
  let moto: MotoServer;
  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await moto?.stop();
  });

  it("finds the results log group among the rendered ones", () => {
    expect(resultsGroupOf(plan)).to.equal("/ecr-sync/results");
    expect(() => resultsGroupOf({ logGroups: ["/ecr-sync/commands"] })).to.throw(/no results log group/);
  });

  it("reads what the copier published and what the agent shipped", async () => {
    const since = new Date();
    const logs = new CloudWatchLogsClient(moto.clientConfig());
    for (const g of plan.logGroups) await logs.send(new CreateLogGroupCommand({ logGroupName: g }));
    const lines = [
      { result: "copied", source: "s:v1", target: "t:v1", digest: "d", latency_s: 12.5 },
      { result: "reconcile", copied: 0, unchanged: 1, superseded: 0, failed: 0, unsupported: 0, planned: 0 },
    ];
    const telemetry = new Telemetry({
      logGroupName: "/ecr-sync/results",
      logStreamName: "run",
      cloudWatch: new CloudWatchClient(moto.clientConfig()),
      logs,
      warn: (m) => expect.fail(m),
      shipEveryMs: 0,
    });
    for (const l of lines) telemetry.record(l);
    await telemetry.close();
    const clock = new ManualUploadClock(Date.now());
    const output = new CommandOutputShipper(logs, "/ecr-sync/commands", "i-0abc", clock).start("c", "copy");
    output.stdout(Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join("")));
    let done = false;
    const completed = output.complete().then(() => (done = true));
    while (!done) await clock.tick();
    await completed;

    const figures = await readFigures(plan, moto, admin, since);
    expect(figures).to.deep.equal({
      published: {
        copied: 1,
        failed: 0,
        superseded: 0,
        unsupported: 0,
        latency: 1,
        reconcileHealed: 0,
        reconcileRuns: 1,
      },
      latencyMaxSeconds: 12.5,
      resultEvents: 2,
      commandOutput: { events: 1, lines: 2 },
    });
    expect(figureLines(figures)).to.have.length(2);
    expect(
      figureLines({ ...figures, published: { ...figures.published, copied: 0, reconcileRuns: 0 } }),
    ).to.have.length(3);
  });
});

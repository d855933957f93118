/**
 * The model of the SSM agent's output upload (local/twin/agent-output.ts, modelled on
 * aws/amazon-ssm-agent cloudwatchlogsservice.go StreamData and getNextMessage), driven tick by tick:
 * what one PutLogEvents of each tick carries.
 */
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { expect } from "chai";
import { MotoServer, startMoto } from "../../local/moto";
import {
  AgentLogEvent,
  CommandOutputShipper,
  AgentOutputStreamer,
  AgentOutputUpload,
  agentStreamNames,
  ManualUploadClock,
  MAX_EVENTS_PER_CALL,
  MESSAGE_LENGTH_THRESHOLD_BYTES,
} from "../../local/twin/agent-output";

const messages = (tick: ReturnType<AgentOutputUpload["tick"]>): string[] =>
  tick.kind === "events" ? tick.events.map((e) => e.message) : [];

describe("the SSM agent's output upload (a model of the agent, from its source)", () => {
  it("sends every complete line written since the last upload as ONE event, newlines kept mid-run", () => {
    const upload = new AgentOutputUpload();
    upload.write('{"result":"copied","tag":"v1"}\n{"result":"unchanged","tag":"v2"}\n');
    upload.write('{"result":"reconcile","copied":1}\n');
    const tick = upload.tick(1000);
    expect(tick).to.deep.equal({
      kind: "events",
      events: [
        {
          message:
            '{"result":"copied","tag":"v1"}\n{"result":"unchanged","tag":"v2"}\n{"result":"reconcile","copied":1}\n',
          timestamp: 1000,
        },
      ],
    });
    upload.uploaded();
    expect(upload.tick(2000)).to.deep.equal({ kind: "idle" });
  });

  it("keeps a partial last line for a later upload, and sends it after the command ends", () => {
    const upload = new AgentOutputUpload();
    upload.write('{"result":"copied"}\n{"result":"reco');
    expect(messages(upload.tick(1000))).to.deep.equal(['{"result":"copied"}\n']);
    upload.uploaded();
    upload.write('ncile"}');
    expect(upload.tick(2000)).to.deep.equal({ kind: "idle" });
    upload.markComplete();
    // Once the file is complete the trailing line goes too, and the message's last newline is dropped.
    expect(messages(upload.tick(3000))).to.deep.equal(['{"result":"reconcile"}']);
    upload.uploaded();
    expect(upload.tick(4000)).to.deep.equal({ kind: "eof" });
    expect(upload.finished).to.equal(true);
  });

  it("drops the final newline only of an event built once the command has ended", () => {
    const upload = new AgentOutputUpload();
    upload.write("a\nb\n");
    upload.markComplete();
    expect(messages(upload.tick(1000))).to.deep.equal(["a\nb"]);
  });

  it("closes an event before a line would take it past 200,000 bytes, and sends at most 4 events a tick", () => {
    expect(MESSAGE_LENGTH_THRESHOLD_BYTES).to.equal(200_000);
    const upload = new AgentOutputUpload();
    const line = `${"x".repeat(99_999)}\n`; // 100,000 bytes: two fit in one event
    for (let i = 0; i < 11; i++) upload.write(line);
    const first = messages(upload.tick(1000));
    expect(first.map((m) => m.length)).to.deep.equal(Array(MAX_EVENTS_PER_CALL).fill(200_000));
    upload.uploaded();
    const second = messages(upload.tick(2000));
    expect(second.map((m) => m.length)).to.deep.equal([200_000, 100_000]);
    upload.uploaded();
    expect(upload.tick(3000)).to.deep.equal({ kind: "idle" });
  });

  it("sends a line longer than the threshold in threshold-sized pieces (ReadSlice's ErrBufferFull)", () => {
    const upload = new AgentOutputUpload(16);
    upload.write(`${"y".repeat(40)}\nz\n`);
    expect(messages(upload.tick(1000))).to.deep.equal([
      "y".repeat(16),
      "y".repeat(16),
      `${"y".repeat(8)}\nz\n`,
    ]);
    upload.uploaded();
    upload.write("w\n");
    expect(messages(upload.tick(2000))).to.deep.equal(["w\n"]);
  });

  it("sends the same lines again after a failed upload", () => {
    const upload = new AgentOutputUpload();
    upload.write("a\nb\n");
    expect(messages(upload.tick(1000))).to.deep.equal(["a\nb\n"]);
    upload.failed();
    upload.write("c\n");
    expect(messages(upload.tick(2000))).to.deep.equal(["a\nb\nc\n"]);
  });

  it("turns \\r\\n into \\n as buildEventInfo does", () => {
    const upload = new AgentOutputUpload();
    upload.write("a\r\nb\r\n");
    expect(messages(upload.tick(1000))).to.deep.equal(["a\nb\n"]);
  });

  it("names the streams <CommandId>/<InstanceId>/<plugin id>/stdout and /stderr, ':' and '*' replaced", () => {
    expect(
      agentStreamNames({ commandId: "c-1", instanceId: "i-0abc", pluginId: "aws:runShellScript" }),
    ).to.deep.equal({
      stdout: "c-1/i-0abc/aws-runShellScript/stdout",
      stderr: "c-1/i-0abc/aws-runShellScript/stderr",
    });
  });

  describe("driven by a clock the test ticks (no sleeps)", () => {
    it("uploads on each tick, one PutLogEvents per tick, and finishes on the tick after the command ended", async () => {
      const clock = new ManualUploadClock(0);
      const sent: AgentLogEvent[][] = [];
      const streamer = new AgentOutputStreamer("s", async (_name, events) => void sent.push(events), clock);
      let finished = false;
      void streamer.finished.then(() => (finished = true));
      streamer.write("1\n2\n");
      await clock.tick();
      streamer.write("3\n4");
      await clock.tick();
      streamer.markComplete();
      await clock.tick();
      await clock.tick();
      expect(sent.map((events) => events.map((e) => [e.message, e.timestamp]))).to.deep.equal([
        [["1\n2\n", 1000]],
        [["3\n", 2000]],
        [["4", 3000]],
      ]);
      expect(finished).to.equal(true);
    });

    it("retries a failed PutLogEvents on the next tick, and stops on ResourceNotFoundException", async () => {
      const clock = new ManualUploadClock(0);
      const sent: string[] = [];
      let failures = 1;
      const streamer = new AgentOutputStreamer(
        "s",
        async (_name, events) => {
          if (failures-- > 0) throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
          sent.push(...events.map((e) => e.message));
        },
        clock,
      );
      streamer.write("a\n");
      await clock.tick();
      await clock.tick();
      expect(sent).to.deep.equal(["a\n"]);

      const gone = new AgentOutputStreamer(
        "t",
        async () => {
          throw Object.assign(new Error("no group"), { name: "ResourceNotFoundException" });
        },
        clock,
      );
      gone.write("b\n");
      await clock.tick();
      expect(gone.upload.finished).to.equal(true);
    });
  });

  describe("shipped to moto's CloudWatch Logs as the worker's agent would", function () {
    this.timeout(60000);
    let moto: MotoServer;
    let logs: CloudWatchLogsClient;
    before(async () => {
      moto = await startMoto();
      logs = new CloudWatchLogsClient(moto.clientConfig());
    });
    after(async () => {
      await moto?.stop();
    });

    it("creates the group and the command's streams, and stores what each tick sent", async () => {
      const clock = new ManualUploadClock(Date.now());
      const shipper = new CommandOutputShipper(logs, "/ecr-sync/commands", "i-0abc", clock);
      const output = shipper.start("c-1", "copy");
      output.stdout(Buffer.from('{"result":"copied"}\n{"result":"reconcile","copied":1}\n'));
      output.stderr(Buffer.from("2026-12-07T03:00:00Z ecr-sync: copying\n"));
      await clock.tick();
      let done = false;
      const completed = output.complete().then(() => (done = true));
      while (!done) await clock.tick();
      await completed;
      const { logStreams = [] } = await logs.send(
        new DescribeLogStreamsCommand({ logGroupName: "/ecr-sync/commands" }),
      );
      expect(logStreams.map((s) => s.logStreamName).sort()).to.deep.equal([
        "c-1/i-0abc/copy/stderr",
        "c-1/i-0abc/copy/stdout",
      ]);
      const { events = [] } = await logs.send(
        new GetLogEventsCommand({
          logGroupName: "/ecr-sync/commands",
          logStreamName: "c-1/i-0abc/copy/stdout",
          startFromHead: true,
        }),
      );
      expect(events.map((e) => e.message)).to.deep.equal([
        '{"result":"copied"}\n{"result":"reconcile","copied":1}\n',
      ]);
    });
  });
});

/**
 * A MODEL OF THE SSM AGENT, as plain state: how the agent on the worker ships a Run Command
 * command's output to CloudWatch Logs. No clock and no network of its own: the caller appends what
 * the command writes, says when the command is done, and drives the upload ticks; each tick returns
 * the events the agent would send with one PutLogEvents. So tests drive it deterministically and the
 * fake agent (local/twin/agent.ts) sends what it returns to moto. Modelled on aws/amazon-ssm-agent
 * (the mirror's HEAD, 1c217c8, October 2024):
 *
 * - The agent writes the command's stdout (and, apart, its stderr) to a file as it arrives, and a
 *   goroutine uploads that file while it grows (agent/framework/processor/executer/iohandler/iomodule/
 *   fileS3.go, File.Read: `go cwl.StreamData(…, isFileComplete=false, …, cleanupControlCharacters=
 *   false, structuredLogs=false)`). Stream names: `<CommandId>/<InstanceId>/<plugin id>/stdout` and
 *   `…/stderr` (agent/framework/processor/executer/iohandler/iohandler.go, Init; the prefix from
 *   agent/framework/runpluginutil/runpluginutil.go, ':' and '*' replaced by '-').
 * - Every `UploadFrequency` (1 s) it reads the file from its start, skips the lines already uploaded,
 *   and builds events from what follows (agent/agentlogstocloudwatch/cloudwatchlogspublisher/
 *   cloudwatchlogsservice.go, StreamData's ticker and getNextMessage). getNextMessage appends line
 *   after line to ONE message while it stays within `MessageLengthThresholdInBytes` (200 * 1000
 *   bytes); a line that would pass it closes the message as an event and starts the next; at
 *   `maxNumberOfEventsPerCall` (4) events it stops, and the rest waits for the next tick.
 * - Lines are read with bufio.Reader.ReadSlice('\n') over a reader of the threshold's size: a line
 *   longer than that comes in threshold-sized pieces (ErrBufferFull), each counted as a line.
 * - A trailing line without its newline is not sent while the command runs: ReadSlice answers EOF
 *   with it, and getNextMessage stops there unless the file is complete. After the command ends
 *   (File.Read calls SetIsFileComplete(true)) the next tick sends it too, and buildEventInfo drops
 *   the final newline of a message built once the file is complete (mid-run events keep theirs).
 *   The tick after that finds nothing new and ends the upload (eof). File.Read waits for that at
 *   most maxCloudWatchUploadRetry (60) times UploadFrequency.
 * - An upload that fails is tried again from the last line known uploaded on the next tick
 *   (StreamData resets currentLineNumber to lastKnownLineUploadedToCWL), except ResourceNotFound,
 *   which stops the stream.
 *
 * Not modelled: structured (session) logs and their 33,000-byte threshold, ANSI clean-up (off for
 * Run Command), "\r\n" is turned into "\n" as buildEventInfo does.
 */
import type { TwinPlan } from "./plan";
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";

/** cloudwatchlogsservice.go `UploadFrequency = 1 * time.Second`. */
export const UPLOAD_FREQUENCY_MS = 1000;
/** cloudwatchlogsservice.go `MessageLengthThresholdInBytes = 200 * 1000`. */
export const MESSAGE_LENGTH_THRESHOLD_BYTES = 200 * 1000;
/** cloudwatchlogsservice.go `maxNumberOfEventsPerCall = 4`. */
export const MAX_EVENTS_PER_CALL = 4;
/** fileS3.go `maxCloudWatchUploadRetry = 60`: ticks File.Read waits for the upload after the command ends. */
export const MAX_UPLOAD_WAIT_TICKS = 60;

const NEWLINE = 0x0a;

/** One event as the agent builds it: the message, and the time it was built (ms). */
export interface AgentLogEvent {
  readonly message: string;
  readonly timestamp: number;
}

/** What one tick does: events to send with one PutLogEvents, nothing new, or the end of the upload. */
export type Tick =
  | { readonly kind: "events"; readonly events: AgentLogEvent[] }
  | { readonly kind: "idle" }
  | { readonly kind: "eof" };

/** The stream names the agent uses for one command's plugin (iohandler.go Init). */
export function agentStreamNames(a: { commandId: string; instanceId: string; pluginId: string }): {
  stdout: string;
  stderr: string;
} {
  const prefix = `${a.commandId}/${a.instanceId}/${a.pluginId}`.replace(/[:*]/g, "-");
  return { stdout: `${prefix}/stdout`, stderr: `${prefix}/stderr` };
}

/** bufio.Reader.ReadSlice('\n') over `file` from `at`, with a buffer of `size` bytes. */
function readSlice(file: Buffer, at: number, size: number): { line: Buffer; err: "nil" | "full" | "eof" } {
  const window = file.subarray(at, at + size);
  const newline = window.indexOf(NEWLINE);
  if (newline >= 0) return { line: window.subarray(0, newline + 1), err: "nil" };
  if (window.length >= size) return { line: window, err: "full" };
  return { line: window, err: "eof" };
}

/**
 * One output file (a command's stdout or its stderr) and the agent's upload of it: StreamData's
 * state (lastKnownLineUploadedToCWL, currentLineNumber, isFileComplete) and getNextMessage.
 */
export class AgentOutputUpload {
  private file: Buffer = Buffer.alloc(0);
  private lastKnownLine = 0;
  private currentLine = 0;
  private complete = false;
  private done = false;

  constructor(private readonly threshold = MESSAGE_LENGTH_THRESHOLD_BYTES) {}

  /** The command wrote `chunk` (the agent appends it to the file as it arrives). */
  write(chunk: Buffer | string): void {
    this.file = Buffer.concat([this.file, typeof chunk === "string" ? Buffer.from(chunk) : chunk]);
  }

  /** The command's output ended (File.Read's SetIsFileComplete(true)). */
  markComplete(): void {
    this.complete = true;
  }

  /** The upload ended (a tick answered eof, or it was stopped). */
  get finished(): boolean {
    return this.done;
  }

  /** One tick of StreamData's ticker, at `now` (ms): getNextMessage. */
  tick(now: number): Tick {
    if (this.done) return { kind: "eof" };
    const { events, eof } = this.nextMessage(now);
    if (eof) {
      this.done = true;
      return { kind: "eof" };
    }
    return events.length === 0 ? { kind: "idle" } : { kind: "events", events };
  }

  /** The events of the last tick were accepted: lastKnownLineUploadedToCWL = currentLineNumber. */
  uploaded(): void {
    this.lastKnownLine = this.currentLine;
  }

  /** The events of the last tick were not accepted: the next tick sends them again. */
  failed(stop = false): void {
    this.currentLine = this.lastKnownLine;
    if (stop) this.done = true;
  }

  private nextMessage(now: number): { events: AgentLogEvent[]; eof: boolean } {
    const size = this.threshold;
    const file = this.file;
    let at = 0;
    // Skip to the last uploaded line.
    if (this.lastKnownLine > 0) {
      let lastLine = 0;
      let slice = readSlice(file, at, size);
      at += slice.line.length;
      while (slice.err === "nil" || slice.err === "full") {
        lastLine++;
        if (lastLine === this.lastKnownLine) break;
        slice = readSlice(file, at, size);
        at += slice.line.length;
      }
      // An EOF while skipping leaves `at` past a partial piece that no later read may see again;
      // getNextMessage's reader is then at EOF too.
      if (slice.err === "eof") at = file.length;
    }
    const events: AgentLogEvent[] = [];
    let message: Buffer[] = [];
    let messageLength = 0;
    let err: "nil" | "full" | "eof" = "nil";
    for (;;) {
      const slice = readSlice(file, at, size);
      err = slice.err;
      if (err === "eof" && (slice.line.length === 0 || !this.complete)) break;
      at += slice.line.length;
      if (messageLength + slice.line.length > size) {
        events.push(this.event(message, now));
        if (events.length >= MAX_EVENTS_PER_CALL) {
          // The line just read is neither counted nor kept: the next tick reads it again.
          return { events, eof: false };
        }
        message = [];
        messageLength = 0;
      }
      message.push(slice.line);
      messageLength += slice.line.length;
      this.currentLine++;
    }
    if (messageLength > 0) {
      events.push(this.event(message, now));
      return { events, eof: false };
    }
    return { events, eof: events.length === 0 && this.complete };
  }

  /** buildEventInfo, unstructured. */
  private event(parts: Buffer[], now: number): AgentLogEvent {
    const bytes = Buffer.concat(parts);
    let message = bytes.toString("utf8").replace(/\r\n/g, "\n");
    if (this.complete && bytes[bytes.length - 1] === NEWLINE) message = message.slice(0, -1);
    return { message, timestamp: now };
  }
}

/** When the next tick runs: the real agent's 1-second ticker, or a test's explicit ticks. */
export interface UploadClock {
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => Promise<void>): () => void;
  now(): number;
}

export const REAL_UPLOAD_CLOCK: UploadClock = {
  every(ms, tick) {
    const timer = setInterval(() => void tick(), ms);
    // An upload never keeps the process alive on its own (a twin stopping while moto is gone).
    timer.unref();
    return () => clearInterval(timer);
  },
  now: () => Date.now(),
};

/** Where the events go: one PutLogEvents of one tick's events (rejects on failure). */
export type PutEvents = (streamName: string, events: AgentLogEvent[]) => Promise<void>;

/**
 * The agent's upload of one stream, driven by `clock`: each tick runs only after the previous
 * tick's PutLogEvents ended (StreamData's loop is sequential), the stream is created before its
 * first events (StreamData's CreateLogStream, in `put`), and `finished` resolves once a tick after
 * markComplete found nothing new, or after MAX_UPLOAD_WAIT_TICKS ticks past completion.
 */
export class AgentOutputStreamer {
  readonly upload: AgentOutputUpload;
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private busy = false;
  private ticksSinceComplete: number | undefined;
  private readonly stop: () => void;

  constructor(
    readonly streamName: string,
    private readonly put: PutEvents,
    clock: UploadClock = REAL_UPLOAD_CLOCK,
    threshold = MESSAGE_LENGTH_THRESHOLD_BYTES,
  ) {
    this.upload = new AgentOutputUpload(threshold);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.stop = clock.every(UPLOAD_FREQUENCY_MS, () => this.onTick(clock.now()));
  }

  write(chunk: Buffer | string): void {
    this.upload.write(chunk);
  }

  markComplete(): void {
    this.upload.markComplete();
    this.ticksSinceComplete ??= 0;
  }

  private async onTick(now: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.ticksSinceComplete !== undefined && ++this.ticksSinceComplete > MAX_UPLOAD_WAIT_TICKS)
        return this.end();
      const tick = this.upload.tick(now);
      if (tick.kind === "eof") return this.end();
      if (tick.kind === "idle") return;
      try {
        await this.put(this.streamName, tick.events);
        this.upload.uploaded();
      } catch (error) {
        this.upload.failed((error as Error).name === "ResourceNotFoundException");
        if (this.upload.finished) this.end();
      }
    } finally {
      this.busy = false;
    }
  }

  private end(): void {
    this.stop();
    this.resolveFinished();
  }
}

/** A clock a test drives: `tick()` runs every registered ticker once and waits for them. */
export class ManualUploadClock implements UploadClock {
  private readonly tickers = new Set<() => Promise<void>>();
  constructor(public time = 0) {}

  every(_ms: number, tick: () => Promise<void>): () => void {
    this.tickers.add(tick);
    return () => this.tickers.delete(tick);
  }

  now(): number {
    return this.time;
  }

  /** Advances the time by one upload period, runs each ticker once, and waits for their uploads. */
  async tick(): Promise<void> {
    this.time += UPLOAD_FREQUENCY_MS;
    await Promise.all([...this.tickers].map((tick) => tick()));
  }
}

/** The part of a CloudWatch Logs client the shipper uses (moto's, as the worker). */
export interface AgentLogsClient {
  send(command: CreateLogGroupCommand | CreateLogStreamCommand | PutLogEventsCommand): Promise<unknown>;
}

/** One command's output as the agent ships it: its stdout and stderr streams. */
export interface CommandOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** The command ended: resolves once the agent's uploads are done (File.Read waits for them). */
  complete(): Promise<void>;
}

/**
 * The fake agent's shipping of every command's output to CloudWatch Logs, as the real agent does it
 * (above): before a command's output, CreateLogGroup on the output's group, "already exists" being
 * fine (iohandler.go Init); per stream, CreateLogStream before its first events (StreamData); then one
 * PutLogEvents per tick. The log group is the one SendCommand named in CloudWatchOutputConfig, which
 * moto does not record: the caller passes the one the stack renders for both senders.
 */
export class CommandOutputShipper {
  private readonly created = new Set<string>();
  private group: Promise<void> | undefined;

  constructor(
    private readonly logs: AgentLogsClient,
    private readonly logGroupName: string,
    private readonly instanceId: string,
    private readonly clock: UploadClock = REAL_UPLOAD_CLOCK,
  ) {}

  /** Starts shipping the output of `commandId`, whose document's first step is `pluginId`. */
  start(commandId: string, pluginId: string): CommandOutput {
    const names = agentStreamNames({ commandId, instanceId: this.instanceId, pluginId });
    const put: PutEvents = async (streamName, events) => {
      await this.ensureGroup();
      if (!this.created.has(streamName)) {
        await this.logs
          .send(new CreateLogStreamCommand({ logGroupName: this.logGroupName, logStreamName: streamName }))
          .catch(alreadyExists);
        this.created.add(streamName);
      }
      await this.logs.send(
        new PutLogEventsCommand({
          logGroupName: this.logGroupName,
          logStreamName: streamName,
          logEvents: events,
        }),
      );
    };
    const out = new AgentOutputStreamer(names.stdout, put, this.clock);
    const err = new AgentOutputStreamer(names.stderr, put, this.clock);
    return {
      stdout: (chunk) => out.write(chunk),
      stderr: (chunk) => err.write(chunk),
      complete: async () => {
        out.markComplete();
        err.markComplete();
        await Promise.all([out.finished, err.finished]);
      },
    };
  }

  private ensureGroup(): Promise<void> {
    this.group ??= this.logs
      .send(new CreateLogGroupCommand({ logGroupName: this.logGroupName }))
      .then(() => undefined, alreadyExists);
    return this.group;
  }
}

function alreadyExists(error: unknown): void {
  if (!(error instanceof Error && error.name === "ResourceAlreadyExistsException")) throw error;
}

/**
 * The command output's log group: the one the rendered reconcile schedule names in SendCommand's
 * CloudWatchOutputConfig (the push trigger sends the same: test/unit/stack-alerts.test.ts checks).
 */
export function commandOutputLogGroup(plan: Pick<TwinPlan, "schedule">): string {
  const config = plan.schedule.input.CloudWatchOutputConfig as
    { CloudWatchLogGroupName?: unknown } | undefined;
  const name = config?.CloudWatchLogGroupName;
  if (typeof name !== "string" || name === "")
    throw new Error(
      `the rendered reconcile schedule sends no CloudWatchOutputConfig.CloudWatchLogGroupName: ${JSON.stringify(config)}`,
    );
  return name;
}

/** The plugin id of a document's first step (its name), which the agent puts in the stream names. */
export function firstStepName(plan: Pick<TwinPlan, "documents">, documentName: string): string {
  const document = plan.documents.find((d) => d.name === documentName);
  const steps =
    document === undefined
      ? []
      : (JSON.parse(document.content) as { mainSteps?: Array<{ name?: string }> }).mainSteps;
  return steps?.[0]?.name ?? "aws:runShellScript";
}

/**
 * A NAMED STAND-IN, as plain state: how the SSM agent on the worker takes Run Command commands,
 * and how SSM ends one the agent did not take in time. No processes and no clock of its own
 * (the caller passes `now`), so it is tested on its own (test/unit/twin.test.ts); the fake agent
 * (local/twin/agent.ts) runs what it decides. Modelled from aws/amazon-ssm-agent:
 *
 * - Workers: at most `Mds.CommandWorkersLimit` commands run at once. agent/appconfig/constants.go
 *   (DefaultCommandWorkersLimit 5, used when the configuration sets less than 1:
 *   agent/appconfig/appconfig_parser.go), handed to the command processor as StartWorkerLimit by
 *   agent/messageservice/utils/processorworkerconfigutil.go (LoadProcessorWorkerConfig); the job
 *   pool starts a job only while fewer run (agent/task/pool.go, startJobHandler).
 * - The buffer: up to `Mds.CommandWorkerBufferLimit` more are accepted and wait in the pool's queue
 *   (constants.go DefaultCommandWorkerBufferLimit 5; agent/framework/processor/processor.go
 *   checkDocSubmissionAllowed, agent/task/pool.go AcquireBufferToken answers JobQueueFull when every
 *   token is out; a worker taking a job returns its token, startJobHandler). An accepted command is
 *   reported InProgress and runs when a worker frees, however long that takes: the processor checks
 *   a document's age only for those it finds when the agent starts (processor.go InitialProcessing).
 * - A command the buffer cannot take is not accepted and stays with the service
 *   (agent/messageservice/messagehandler/processorwrappers/commandworkerprocessorwrapper.go
 *   PushToProcessor returns the processor's CommandBufferFull; over MDS the agent leaves the message
 *   unacknowledged and offers it again every 10 s, mdsinteractor.go processMessage; over MGS it
 *   answers ProcessorBufferFull, mgsinteractor.go processAgentJobMessage).
 * - SSM ends a command still with the service once its delivery timeout, SendCommand's
 *   TimeoutSeconds, has passed: "If this time is reached and the command hasn't already started
 *   running, it won't run" (SSM API reference, SendCommand); its status is TimedOut, "Delivery Timed
 *   Out" in detail (SSM user guide, "Understanding command statuses").
 *
 * Where the twin is stricter than AWS, on purpose: the user guide's "Understanding command timeout
 * values" puts the expiry of an undelivered command later, at TimeoutSeconds plus the document's
 * execution timeout; the model times out at TimeoutSeconds alone, the earlier of the two readings,
 * so a twin run without timeouts holds under both. And the twin offers a waiting command again as
 * soon as the buffer has room, where the agent over MDS retries every 10 s: seconds against a
 * delivery timeout of minutes.
 */

export interface AgentLimits {
  /** `Mds.CommandWorkersLimit`: commands run at once. */
  readonly workers: number;
  /** `Mds.CommandWorkerBufferLimit`: accepted commands waiting for a worker. */
  readonly buffer: number;
}

/** What happened to a command: it started, the agent buffered it, or SSM ended it undelivered. */
export interface Transition {
  readonly commandId: string;
  readonly to: "running" | "buffered" | "timed out";
  /** When: `now`, or for a timeout the moment the command's delivery timeout passed. */
  readonly at: number;
}

export interface WorkerStats {
  /** The most commands that ran at once. */
  readonly peakRunning: number;
  /** Commands that waited in the agent's buffer before a worker took them. */
  readonly waitedInBuffer: number;
  /** Commands the agent could not take at first, left with the service. */
  readonly waitedInService: number;
  /** Commands SSM ended TimedOut, never delivered. */
  readonly timedOut: number;
}

export class CommandWorkers {
  private readonly running = new Set<string>();
  /** Accepted by the agent, oldest first. */
  private readonly buffered: string[] = [];
  /** Still with the service, oldest first, each with the time its delivery timeout passes. */
  private readonly inService: Array<{ commandId: string; deliverBy: number }> = [];
  private readonly known = new Set<string>();
  private peakRunning = 0;
  private readonly waitedInBuffer = new Set<string>();
  private readonly waitedInService = new Set<string>();
  private timedOut = 0;

  constructor(readonly limits: AgentLimits) {
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`agent limits: ${key} is ${value}, not a whole number of at least 1`);
    }
  }

  /**
   * SSM holds `commandId` for the instance, to be delivered by `deliverBy` (epoch ms). Offer
   * commands in the order they were sent. Returns what happened at `now`, this command and others.
   */
  offer(commandId: string, deliverBy: number, now: number): Transition[] {
    if (this.known.has(commandId)) return [];
    this.known.add(commandId);
    this.inService.push({ commandId, deliverBy });
    return this.advance(now, commandId);
  }

  /** A running command ended: its worker takes the next one. */
  ended(commandId: string, now: number): Transition[] {
    if (!this.running.delete(commandId)) throw new Error(`agent model: ${commandId} was not running`);
    return this.advance(now);
  }

  /** Time passed: SSM ends what waited past its delivery timeout. */
  tick(now: number): Transition[] {
    return this.advance(now);
  }

  /** When the next command left with the service times out (epoch ms), if one is waiting. */
  nextDeadline(): number | undefined {
    return this.inService.length === 0 ? undefined : Math.min(...this.inService.map((c) => c.deliverBy));
  }

  /** The commands running now. */
  runningNow(): string[] {
    return [...this.running];
  }

  /** The commands waiting now: accepted by the agent, and still with the service. */
  queued(): { buffered: string[]; withService: string[] } {
    return { buffered: [...this.buffered], withService: this.inService.map((c) => c.commandId) };
  }

  stats(): WorkerStats {
    return {
      peakRunning: this.peakRunning,
      waitedInBuffer: this.waitedInBuffer.size,
      waitedInService: this.waitedInService.size,
      timedOut: this.timedOut,
    };
  }

  private advance(now: number, offered?: string): Transition[] {
    const happened: Transition[] = [];
    // SSM first: at `now`, a command past its delivery timeout is already over.
    for (const waiting of [...this.inService]) {
      if (waiting.deliverBy > now) continue;
      this.inService.splice(this.inService.indexOf(waiting), 1);
      this.timedOut += 1;
      happened.push({ commandId: waiting.commandId, to: "timed out", at: waiting.deliverBy });
    }
    for (;;) {
      // A free worker takes the oldest accepted command (pool.go startJobHandler).
      if (this.running.size < this.limits.workers && this.buffered.length > 0) {
        const next = this.buffered.shift()!;
        this.running.add(next);
        this.peakRunning = Math.max(this.peakRunning, this.running.size);
        happened.push({ commandId: next, to: "running", at: now });
        continue;
      }
      // The service offers the oldest waiting command; the agent accepts it while a token is free.
      if (this.buffered.length < this.limits.buffer && this.inService.length > 0) {
        const next = this.inService.shift()!.commandId;
        this.buffered.push(next);
        if (this.running.size >= this.limits.workers) {
          this.waitedInBuffer.add(next);
          happened.push({ commandId: next, to: "buffered", at: now });
        }
        continue;
      }
      break;
    }
    if (offered !== undefined && this.inService.some((c) => c.commandId === offered))
      this.waitedInService.add(offered);
    return happened;
  }
}

/** The agent's default for both limits (agent/appconfig/constants.go). */
export const AGENT_DEFAULT_LIMIT = 5;

const WORKERS_LINE = /^readonly COMMAND_WORKERS_LIMIT=(.*)$/m;

/**
 * The agent's limits on the worker the user data builds: `Mds.CommandWorkersLimit` from its
 * `readonly COMMAND_WORKERS_LIMIT=N` line (the value it writes into the agent's configuration; none:
 * the template's 5; less than 1: the agent's default 5, as appconfig_parser.go does), and
 * `Mds.CommandWorkerBufferLimit` the agent's default, which the user data leaves alone.
 */
export function agentLimitsFromUserData(userData: string): AgentLimits {
  if (userData.includes("CommandWorkerBufferLimit"))
    throw new Error(
      "the worker's user data sets Mds.CommandWorkerBufferLimit, which the twin's agent does not read: teach local/twin/agent-model.ts agentLimitsFromUserData to",
    );
  const line = WORKERS_LINE.exec(userData);
  if (line === null) return { workers: AGENT_DEFAULT_LIMIT, buffer: AGENT_DEFAULT_LIMIT };
  if (!/^[0-9]+$/.test(line[1]))
    throw new Error(
      `the worker's user data sets COMMAND_WORKERS_LIMIT=${line[1]}, not a whole number the agent's configuration takes`,
    );
  const workers = Number(line[1]);
  return { workers: workers < 1 ? AGENT_DEFAULT_LIMIT : workers, buffer: AGENT_DEFAULT_LIMIT };
}

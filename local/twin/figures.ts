/**
 * What the twin's run left in moto's CloudWatch, read back as an operator would read it: the figures
 * the copier published itself (namespace ecr-sync, ec2-scripts/copier/telemetry.ts), its result lines
 * in the results log group (one per event), and the command output the agent shipped (several lines
 * per event: local/twin/agent-output.ts). `npm start` prints them.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  COPIER_METRICS,
  CopierMetricKey,
  METRIC_NAMESPACE,
  METRICS,
  resultsLogGroupName,
} from "../../common/telemetry";
import type { Credentials } from "../moto";
import { commandOutputLogGroup } from "./agent-output";
import type { TwinPlan } from "./plan";

export interface TwinFigures {
  /** Per copier metric, the Sum of what it published since the twin started (latency: its samples). */
  readonly published: Readonly<Record<CopierMetricKey, number>>;
  /** The largest latency it published, in seconds; undefined when none. */
  readonly latencyMaxSeconds: number | undefined;
  /** Events in the results log group: one per result line. */
  readonly resultEvents: number;
  /** The command log group: the events the agent sent, and the lines in them. */
  readonly commandOutput: { readonly events: number; readonly lines: number };
}

/** The css stack's results log group: `/<name>/results` among the rendered groups. */
export function resultsGroupOf(plan: Pick<TwinPlan, "logGroups">): string {
  const group = plan.logGroups.find((g) => g === resultsLogGroupName(g.split("/")[1] ?? ""));
  if (group === undefined)
    throw new Error(`the css stack renders no results log group (its groups: ${plan.logGroups.join(", ")})`);
  return group;
}

/** Reads the figures of the twin's run (since `since`) from moto, as the css account's administrator. */
export async function readFigures(
  plan: TwinPlan,
  moto: { clientConfig(region?: string): object },
  admin: Credentials,
  since: Date,
): Promise<TwinFigures> {
  const config = { ...moto.clientConfig(plan.region), credentials: admin };
  const cloudWatch = new CloudWatchClient(config);
  const logs = new CloudWatchLogsClient(config);
  try {
    const end = new Date(Date.now() + 3600_000);
    const start = new Date(Math.floor(since.getTime() / 60_000) * 60_000 - 60_000);
    const published = {} as Record<CopierMetricKey, number>;
    let latencyMaxSeconds: number | undefined;
    for (const key of Object.keys(COPIER_METRICS) as CopierMetricKey[]) {
      const { Datapoints = [] } = await cloudWatch.send(
        new GetMetricStatisticsCommand({
          Namespace: METRIC_NAMESPACE,
          MetricName: METRICS[key],
          StartTime: start,
          EndTime: end,
          Period: 3600 * 3,
          Statistics: key === "latency" ? ["SampleCount", "Maximum"] : ["Sum"],
        }),
      );
      published[key] = Datapoints.reduce((a, d) => a + ((key === "latency" ? d.SampleCount : d.Sum) ?? 0), 0);
      if (key === "latency" && Datapoints.length > 0)
        latencyMaxSeconds = Math.max(...Datapoints.map((d) => d.Maximum ?? 0));
    }
    const messages = async (logGroupName: string): Promise<string[]> => {
      const { logStreams = [] } = await logs.send(new DescribeLogStreamsCommand({ logGroupName }));
      const all: string[] = [];
      for (const s of logStreams) {
        const { events = [] } = await logs.send(
          new GetLogEventsCommand({ logGroupName, logStreamName: s.logStreamName!, startFromHead: true }),
        );
        all.push(...events.map((e) => e.message ?? ""));
      }
      return all;
    };
    const results = await messages(resultsGroupOf(plan));
    const output = (await messages(commandOutputLogGroup(plan))).filter((m) => m !== "");
    return {
      published,
      latencyMaxSeconds,
      resultEvents: results.length,
      commandOutput: {
        events: output.length,
        lines: output.reduce((n, m) => n + m.replace(/\n$/, "").split("\n").length, 0),
      },
    };
  } finally {
    cloudWatch.destroy();
    logs.destroy();
  }
}

/** The progress lines `npm start` prints for the figures. */
export function figureLines(f: TwinFigures): string[] {
  const p = f.published;
  const lines = [
    `CloudWatch (moto), namespace ${METRIC_NAMESPACE}, as the copier published it: ` +
      `${p.copied} copied, ${p.failed} failed, ${p.superseded} superseded, ${p.unsupported} unsupported; ` +
      `${p.latency} latency sample(s)${f.latencyMaxSeconds === undefined ? "" : ` (max ${f.latencyMaxSeconds} s)`}; ` +
      `${p.reconcileRuns} reconcile run(s), ${p.reconcileHealed} image(s) healed`,
    `results log group: ${f.resultEvents} event(s), one result line each; command output: the agent sent ` +
      `${f.commandOutput.lines} line(s) in ${f.commandOutput.events} event(s)`,
  ];
  if (p.copied + p.reconcileRuns === 0)
    lines.push(
      "the copier published no figures: its documents do not export ECR_SYNC_RESULTS_LOG_GROUP, or the copier it runs does not publish yet",
    );
  return lines;
}

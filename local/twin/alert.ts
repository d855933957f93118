/**
 * A failed command's alert: the "EC2 Command Status-change Notification" SSM sends when a command
 * ends Failed, put through the rendered failed-command rule and its input transformer (moto
 * applies it) to the queue standing in for the alert topic's subscriber. Returns the text the
 * on-call engineer would get.
 */
import { AgentRun } from "./agent";
import { MotoApi } from "./moto-api";
import { TwinPlan } from "./plan";
import { drain, putEvents, RuleQueue } from "./rules";

export async function alertText(
  plan: TwinPlan,
  api: MotoApi,
  queue: RuleQueue,
  run: AgentRun,
): Promise<string> {
  const time = Math.floor(run.endedAt.getTime() / 1000);
  await putEvents(api, [
    {
      Source: "aws.ssm",
      DetailType: "EC2 Command Status-change Notification",
      Detail: JSON.stringify({
        "command-id": run.commandId,
        "document-name": run.documentName,
        "requested-date-time": run.startedAt.toISOString(),
        "expire-after": new Date(run.startedAt.getTime() + 3600_000).toISOString(),
        parameters: Object.fromEntries(Object.entries(run.parameters).map(([k, v]) => [k, [v]])),
        status: "Failed",
      }),
      Resources: [plan.workerInstanceArn],
      Time: time,
    },
  ]);
  const texts = await drain(api, queue);
  if (texts.length === 0)
    return `(none: rule ${plan.commandFailedRule.name} did not match the Failed status of ${run.documentName})`;
  // moto hands the input transformer the event's time as epoch seconds; EventBridge writes
  // ISO 8601 there, which is what the subscriber reads.
  const iso = new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return texts
    .map((t) => {
      try {
        const parsed = JSON.parse(t) as unknown;
        return typeof parsed === "string" ? parsed : t;
      } catch {
        return t;
      }
    })
    .map((t) => t.replaceAll(String(time), iso))
    .join("\n");
}

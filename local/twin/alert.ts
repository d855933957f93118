/**
 * What SSM tells EventBridge when a command ends, and what of it reaches the on-call engineer. For
 * a command sent to one instance SSM sends two events (SSM user guide, "Amazon EventBridge event
 * examples for Systems Manager"): the command's "EC2 Command Status-change Notification" and the
 * instance's "EC2 Command Invocation Status-change Notification". Both are put through the rendered
 * failed-command rule and its input transformer (moto applies it) to the queue standing in for the
 * alert topic's subscriber; the texts that arrive are what the person would get.
 */
import { PutEventsEntry } from "./events";
import { MotoApi } from "../moto-api";
import { TwinPlan } from "./plan";
import { drain, putEvents, RuleQueue } from "../moto-rules";

/** A command that reached a final status, as SSM reports it. */
export interface EndedCommand {
  readonly commandId: string;
  readonly documentName: string;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: Date;
  /** When SSM gives up on the command (its total timeout). */
  readonly expiresAfter: Date;
  /** The command's Status (SSM API CommandStatus): a delivery timeout is TimedOut. */
  readonly status: "Success" | "Failed" | "TimedOut";
  readonly endedAt: Date;
}

/** The two events SSM sends for `ended` on the worker instance. */
export function statusChangeEvents(plan: TwinPlan, ended: EndedCommand): PutEventsEntry[] {
  const common = {
    "command-id": ended.commandId,
    "document-name": ended.documentName,
    "requested-date-time": ended.requestedAt.toISOString(),
    status: ended.status,
  };
  const event = (detailType: string, detail: Record<string, unknown>): PutEventsEntry => ({
    Source: "aws.ssm",
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Resources: [plan.workerInstanceArn],
    Time: Math.floor(ended.endedAt.getTime() / 1000),
  });
  return [
    event("EC2 Command Invocation Status-change Notification", {
      ...common,
      "instance-id": plan.workerInstanceId,
    }),
    event("EC2 Command Status-change Notification", {
      ...common,
      "expire-after": ended.expiresAfter.toISOString(),
      parameters: ended.parameters,
    }),
  ];
}

/**
 * Sends `ended`'s events through the rendered failed-command rule; returns the texts its target
 * delivered. Call one at a time: the queue is drained for each.
 */
export async function alertsFor(
  plan: TwinPlan,
  api: MotoApi,
  queue: RuleQueue,
  ended: EndedCommand,
): Promise<string[]> {
  const time = Math.floor(ended.endedAt.getTime() / 1000);
  await putEvents(api, statusChangeEvents(plan, ended));
  const texts = await drain(api, queue);
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
    .map((t) => t.replaceAll(String(time), iso));
}

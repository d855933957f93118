/**
 * The push trigger: an "ECR Image Action" event from EventBridge becomes one SSM Run Command
 * on the worker instance, whose document runs the copier's `copy` (ec2-scripts/copier) with the
 * source repository, target repository, tag and digest as separate, validated parameters.
 *
 * EventBridge delivers at least once, so the same push can arrive twice. Two commands for the
 * same tag and digest are harmless: the copier serializes copies of a tag (its per-tag lock) and
 * reports the second one as unchanged.
 */
import { SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { readConfig } from "./config";
import { decide, Decision, DecisionFields, EcrImageActionEvent, sendCommandInput } from "./decide";

export type { EcrImageActionDetail, EcrImageActionEvent } from "./decide";

export type SyncResult =
  | { readonly status: "sent"; readonly commandId: string }
  | { readonly status: "skipped"; readonly reason: string }
  | { readonly status: "unsupported"; readonly reason: string }
  | { readonly status: "invalid"; readonly reason: string };

const config = readConfig(process.env);
const ssm = new SSMClient({});

/**
 * One JSON line per decision; CloudWatch Logs Insights can filter on any key. Written to stdout
 * directly, not with console.log: the Node.js runtime prefixes console lines (time, request id,
 * level) in the function's Text log format, and a metric filter's JSON pattern (the invalid-event
 * and unsupported-tag counts, components/metrics.ts) only matches a log event that is JSON from its
 * first character.
 */
function logDecision(
  decision: Decision["decision"] | "sent" | "failed",
  reason: string,
  fields: DecisionFields,
  extra: Record<string, string | undefined> = {},
): void {
  process.stdout.write(`${JSON.stringify({ decision, reason, ...fields, ...extra })}\n`);
}

export const handler = async (event: EcrImageActionEvent): Promise<SyncResult> => {
  const eventId = typeof event?.id === "string" ? event.id : undefined;
  const outcome = decide(event, config.repositoryMap);

  if (outcome.decision !== "send") {
    // Returned, not thrown: Lambda would retry a thrown error, and the same event cannot get better.
    logDecision(outcome.decision, outcome.reason, outcome.fields, { eventId });
    return { status: outcome.decision, reason: outcome.reason };
  }

  const { request } = outcome;
  let commandId: string | undefined;
  try {
    const response = await ssm.send(new SendCommandCommand(sendCommandInput(config, request)));
    commandId = response.Command?.CommandId;
    if (commandId === undefined) throw new Error("SendCommand answered without a CommandId");
  } catch (error) {
    // Thrown on purpose: Lambda's asynchronous retries and the failure destination act on it.
    const described = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logDecision("failed", `SendCommand failed: ${described}`, outcome.fields, {
      eventId,
      targetRepository: request.targetRepository,
    });
    throw error;
  }

  logDecision("sent", outcome.reason, outcome.fields, {
    eventId,
    targetRepository: request.targetRepository,
    commandId,
    pushedAt: request.pushedAt,
  });
  return { status: "sent", commandId };
};

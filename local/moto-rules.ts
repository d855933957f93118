/**
 * Rule delivery through moto's EventBridge, for the twin and the tests' pattern checks: a rule (the
 * twin's are the rendered ones) gets an SQS queue as its target in place of what moto cannot run
 * (the Lambda function, the SNS topic); events are put on the default bus, and only what moto's
 * matcher delivers to the queue goes on. moto delivers during PutEvents, so draining the queue right
 * after is complete: no waiting.
 */
import { MotoApi } from "./moto-api";

export interface RuleQueue {
  readonly ruleName: string;
  readonly queueUrl: string;
}

/** PutEvents takes at most this many entries per call. */
const PUT_EVENTS_BATCH = 10;

/**
 * Deploys `rule` (name and pattern as rendered) with one queue target named after it. An input
 * transformer, when given, is applied by moto as EventBridge applies it.
 */
export async function deployRule(
  api: MotoApi,
  rule: { name: string; pattern: unknown },
  standIn: string,
  inputTransformer?: { InputPathsMap: Record<string, string>; InputTemplate: string },
): Promise<RuleQueue> {
  const queueName = `${rule.name}-${standIn}`;
  const { QueueUrl: queueUrl } = await api.json("sqs", "CreateQueue", { QueueName: queueName });
  const { Attributes } = await api.json("sqs", "GetQueueAttributes", {
    QueueUrl: queueUrl,
    AttributeNames: ["QueueArn"],
  });
  await api.json("events", "PutRule", { Name: rule.name, EventPattern: JSON.stringify(rule.pattern) });
  await api.json("events", "PutTargets", {
    Rule: rule.name,
    Targets: [
      {
        Id: standIn,
        Arn: Attributes.QueueArn,
        ...(inputTransformer ? { InputTransformer: inputTransformer } : {}),
      },
    ],
  });
  return { ruleName: rule.name, queueUrl };
}

/** Puts `entries` (PutEvents entries) on the default bus, in batches. */
export async function putEvents(api: MotoApi, entries: readonly object[]): Promise<void> {
  for (let i = 0; i < entries.length; i += PUT_EVENTS_BATCH) {
    const put = await api.json("events", "PutEvents", { Entries: entries.slice(i, i + PUT_EVENTS_BATCH) });
    if (put.FailedEntryCount !== 0) throw new Error(`PutEvents refused entries: ${JSON.stringify(put)}`);
  }
}

/** Every message body in the queue, removing them. */
export async function drain(api: MotoApi, queue: RuleQueue): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const received = await api.json("sqs", "ReceiveMessage", {
      QueueUrl: queue.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
    });
    const messages: Array<{ Body: string; ReceiptHandle: string }> = received.Messages ?? [];
    if (messages.length === 0) return bodies;
    for (const message of messages) {
      bodies.push(message.Body);
      await api.json("sqs", "DeleteMessage", {
        QueueUrl: queue.queueUrl,
        ReceiptHandle: message.ReceiptHandle,
      });
    }
  }
}

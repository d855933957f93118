/**
 * The dead-letter queue: where an event lands that nobody could act on (the push trigger gave up
 * on it, or EventBridge or Scheduler could not deliver it), kept for a person to look at. The
 * queue comes first, because every delivery names it; its policy comes last, because it names
 * every sender.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { deadLetterQueuePolicy } from "./policies";

/** How long Lambda keeps retrying an event, and EventBridge a delivery, before the dead-letter queue. */
export const MAXIMUM_EVENT_AGE_SECONDS = 3600;
/** EventBridge's (and Scheduler's) delivery retries within MAXIMUM_EVENT_AGE_SECONDS. */
export const DELIVERY_RETRY_ATTEMPTS = 8;
/** SQS's longest retention: 14 days for a person to look at a dead letter. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/** How an EventBridge target or a schedule delivers: bounded retries, then the dead-letter queue. */
export interface Delivery {
  readonly deadLetterConfig: { readonly arn: pulumi.Output<string> };
  readonly retryPolicy: { readonly maximumEventAgeInSeconds: number; readonly maximumRetryAttempts: number };
}

export interface DeadLetters {
  readonly queue: aws.sqs.Queue;
  /** Spread into every EventBridge target and the schedule's target. */
  readonly delivery: Delivery;
}

export function createDeadLetterQueue(name: string, parent: pulumi.Resource): DeadLetters {
  const queue = new aws.sqs.Queue(
    `${name}-dead-letters`,
    {
      name: `${name}-dead-letters`,
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    },
    { parent },
  );
  // Every EventBridge and Scheduler delivery: retried for up to an hour, then kept in the queue.
  const delivery: Delivery = {
    deadLetterConfig: { arn: queue.arn },
    retryPolicy: {
      maximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
      maximumRetryAttempts: DELIVERY_RETRY_ATTEMPTS,
    },
  };
  return { queue, delivery };
}

export interface DeadLetterQueuePolicyArgs {
  readonly queue: aws.sqs.Queue;
  /** The push rule's ARN: EventBridge sends what it could not deliver to the push trigger. */
  readonly pushRuleArn: pulumi.Output<string>;
  /** The failed-command rule's ARN: EventBridge sends what it could not deliver to the topic. */
  readonly commandFailedRuleArn: pulumi.Output<string>;
  /** The roles that send on their own: the push trigger's (Lambda's on-failure destination), the schedule's. */
  readonly senderRoleArns: pulumi.Output<string>[];
}

/** Who may send to the queue: the two rules and the sender roles, SendMessage only. */
export function createDeadLetterQueuePolicy(
  name: string,
  args: DeadLetterQueuePolicyArgs,
  parent: pulumi.Resource,
): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy(
    `${name}-dead-letters-policy`,
    {
      queueUrl: args.queue.url,
      policy: pulumi
        .all([args.queue.arn, args.pushRuleArn, args.commandFailedRuleArn, pulumi.all(args.senderRoleArns)])
        .apply(([queueArn, pushRuleArn, commandFailedRuleArn, roleArns]) =>
          JSON.stringify(
            deadLetterQueuePolicy({
              queueArn,
              ruleArns: [pushRuleArn, commandFailedRuleArn],
              senderRoleArns: roleArns,
            }),
          ),
        ),
    },
    { parent },
  );
}

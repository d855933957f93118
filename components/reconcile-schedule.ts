/**
 * Gaps heal: a schedule sends the reconcile document to the worker, which copies whatever the push
 * events missed. An operator sends the same document by hand to backfill now (`backfillCommand`).
 * The schedule has a group of its own, so that its role's trust policy can name the group.
 *
 * The first run waits FIRST_RECONCILE_DELAY_MINUTES after the group was created (a fresh worker boots,
 * the legacy stack is deployed), and a send that keeps failing reaches the dead-letter queue within
 * RECONCILE_SEND_MAX_AGE_SECONDS: a worker that never came up pages within the hour of the deploy
 * (docs/decisions/0008-reconcile-schedule.md, docs/runbook.md#worker-not-ready).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../common/ssm-command";
import { DELIVERY_RETRY_ATTEMPTS } from "./dead-letters";
import { RECONCILE_PARAMETERS } from "./document-content";
import { schedulerPolicy, schedulerTrustPolicy } from "./policies";

/** Scheduler's universal target for SSM SendCommand: the schedule's input is the API request. */
const SEND_COMMAND_TARGET = "arn:aws:scheduler:::aws-sdk:ssm:sendCommand";

/**
 * How long after the schedule group is created the first reconcile is due. deploy.yml runs css, then
 * legacy, back to back (a few minutes); a Debian worker's first boot (apt, the SSM agent registering)
 * takes a few minutes more. Before both, a reconcile can only fail.
 */
export const FIRST_RECONCILE_DELAY_MINUTES = 30;

/**
 * How long Scheduler keeps retrying a reconcile it could not send before the dead-letter queue takes
 * it (the schedule's own, shorter than the events' hour): the first run at FIRST_RECONCILE_DELAY_MINUTES,
 * 15 minutes of retries, then the dead-letter alarm (5-minute periods): within an hour of the deploy.
 */
export const RECONCILE_SEND_MAX_AGE_SECONDS = 900;

/** A time as EventBridge Scheduler and the provider write it back: RFC 3339, UTC, whole seconds. */
function rfc3339Seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * When the first scheduled reconcile is due: FIRST_RECONCILE_DELAY_MINUTES after the schedule group
 * was created, rounded up to the whole minute (Scheduler invokes with one-minute precision). The
 * group's creation date is fixed when AWS creates it and kept in the stack's state, so this never
 * moves from one `pulumi up` to the next.
 */
export function firstReconcileAt(groupCreatedAt: string): string {
  const created = Date.parse(groupCreatedAt);
  if (Number.isNaN(created))
    throw new Error(`schedule group creationDate: ${JSON.stringify(groupCreatedAt)} is not a date`);
  const minute = 60_000;
  return rfc3339Seconds(Math.ceil((created + FIRST_RECONCILE_DELAY_MINUTES * minute) / minute) * minute);
}

/**
 * The schedule's StartDate: the first run while it is still ahead, then none. Never a date in the
 * past: Scheduler refuses a StartDate more than five minutes old ("The StartDate you specify cannot
 * be earlier than 5 minutes ago."; not in the API reference, but AWS CDK's Schedule construct checks
 * it before deploying, aws/aws-cdk#28306, and moto reproduces it, getmoto/moto#8172), and the provider
 * (terraform-provider-aws resourceScheduleUpdate) sends the kept StartDate with every UpdateSchedule, which
 * replaces the whole schedule ("uses all values, including empty values",
 * https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html). A kept StartDate
 * would make any later change of the schedule (a new worker's instance id in its input, another
 * expression) fail. Without a StartDate a rate schedule "starts invoking the target immediately"
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based), which is
 * what an established stack wants. So the StartDate is set once, at creation, and dropped by the
 * first `pulumi up` after it has passed (one update); two `pulumi up` in a row on the same side of
 * it send the same thing.
 */
export function scheduleStartDate(firstRunAt: string, now: Date): string | undefined {
  return Date.parse(firstRunAt) > now.getTime() ? firstRunAt : undefined;
}

/** The exact `aws ssm send-command` an operator runs to reconcile (backfill) now. */
export function backfillCommand(a: {
  region: string;
  documentName: string;
  instanceId: string;
  logGroupName: string;
  dryRun?: boolean;
}): string {
  return [
    "aws ssm send-command",
    `--region ${a.region}`,
    `--document-name ${a.documentName}`,
    `--instance-ids ${a.instanceId}`,
    `--parameters ${RECONCILE_PARAMETERS.dryRun}=${a.dryRun === true ? "true" : "false"}`,
    `--timeout-seconds ${COMMAND_DELIVERY_TIMEOUT_SECONDS}`,
    `--cloud-watch-output-config CloudWatchOutputEnabled=true,CloudWatchLogGroupName=${a.logGroupName}`,
    `--comment 'ecr-sync backfill'`,
    "--query Command.CommandId --output text",
  ].join(" ");
}

/** The SendCommand request the schedule makes (its target's input): the same command as a backfill. */
export function scheduledReconcileInput(a: {
  documentName: string;
  instanceId: string;
  logGroupName: string;
}): string {
  return JSON.stringify({
    DocumentName: a.documentName,
    InstanceIds: [a.instanceId],
    Parameters: { [RECONCILE_PARAMETERS.dryRun]: ["false"] },
    Comment: "ecr-sync scheduled reconcile",
    TimeoutSeconds: COMMAND_DELIVERY_TIMEOUT_SECONDS,
    CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: a.logGroupName },
  });
}

export interface ReconcileScheduleArgs {
  /** An EventBridge Scheduler expression (rate(…) or cron(…), UTC); `undefined`: no schedule. */
  readonly scheduleExpression: string | undefined;
  readonly reconcileDocument: aws.ssm.Document;
  readonly instance: aws.ec2.Instance;
  /** Where the command's output goes. */
  readonly commandLogGroupName: pulumi.Output<string>;
  /** Where an invocation Scheduler could not make goes (after RECONCILE_SEND_MAX_AGE_SECONDS of retries). */
  readonly deadLetterQueueArn: pulumi.Output<string>;
}

/** When the schedule runs: what the heartbeat alarm (components/alerting.ts) expects. */
export interface ReconcileTiming {
  /** The schedule expression. */
  readonly expression: string;
  /** When the first scheduled reconcile is due (`firstReconcileAt`). */
  readonly firstRunAt: pulumi.Output<string>;
}

export interface ReconcileSchedule {
  /** The schedule's name, or undefined when the schedule is off. */
  readonly scheduleName: pulumi.Output<string | undefined>;
  /** The role Scheduler sends with (it sends to the dead-letter queue too), or undefined when off. */
  readonly roleArn: pulumi.Output<string> | undefined;
  /** When the schedule runs, or undefined when off. */
  readonly timing: ReconcileTiming | undefined;
}

export function createReconcileSchedule(
  name: string,
  args: ReconcileScheduleArgs,
  parent: pulumi.Resource,
): ReconcileSchedule {
  if (args.scheduleExpression === undefined)
    return { scheduleName: pulumi.output(undefined), roleArn: undefined, timing: undefined };
  const group = new aws.scheduler.ScheduleGroup(`${name}-reconcile-group`, { name }, { parent });
  const firstRunAt = group.creationDate.apply(firstReconcileAt);
  const role = new aws.iam.Role(
    `${name}-scheduler-role`,
    {
      name: `${name}-reconcile-scheduler`,
      description: "The ecr-sync reconcile schedule: sends the reconcile document to the worker.",
      assumeRolePolicy: group.arn.apply((scheduleGroupArn) =>
        JSON.stringify(schedulerTrustPolicy({ scheduleGroupArn })),
      ),
    },
    { parent },
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-scheduler-send-command`,
    {
      role: role.name,
      policy: pulumi
        .all([args.reconcileDocument.arn, args.instance.arn, args.deadLetterQueueArn])
        .apply(([documentArn, instanceArn, deadLetterQueueArn]) =>
          JSON.stringify(schedulerPolicy({ documentArn, instanceArn, deadLetterQueueArn })),
        ),
    },
    { parent },
  );
  const schedule = new aws.scheduler.Schedule(
    `${name}-reconcile-schedule`,
    {
      name: `${name}-reconcile`,
      groupName: group.name,
      description: "ecr-sync: copy whatever the push events missed (the copier's reconcile on the worker).",
      scheduleExpression: args.scheduleExpression,
      scheduleExpressionTimezone: "UTC",
      // Read at every `pulumi up`: the clock decides only whether the fixed first run is still ahead.
      startDate: firstRunAt.apply((at) => scheduleStartDate(at, new Date())),
      flexibleTimeWindow: { mode: "OFF" },
      state: "ENABLED",
      target: {
        arn: SEND_COMMAND_TARGET,
        roleArn: role.arn,
        input: pulumi
          .all([args.reconcileDocument.name, args.instance.id, args.commandLogGroupName])
          .apply(([documentName, instanceId, logGroupName]) =>
            scheduledReconcileInput({ documentName, instanceId, logGroupName }),
          ),
        deadLetterConfig: { arn: args.deadLetterQueueArn },
        retryPolicy: {
          maximumEventAgeInSeconds: RECONCILE_SEND_MAX_AGE_SECONDS,
          maximumRetryAttempts: DELIVERY_RETRY_ATTEMPTS,
        },
      },
    },
    { parent, dependsOn: [rolePolicy] },
  );
  return {
    scheduleName: schedule.name,
    roleArn: role.arn,
    timing: { expression: args.scheduleExpression, firstRunAt },
  };
}

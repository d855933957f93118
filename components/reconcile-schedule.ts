/**
 * Gaps heal: a schedule sends the reconcile document to the worker, which copies whatever the push
 * events missed. An operator sends the same document by hand to backfill now (`backfillCommand`).
 * The schedule has a group of its own, so that its role's trust policy can name the group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../common/ssm-command";
import { Delivery } from "./dead-letters";
import { RECONCILE_PARAMETERS } from "./document-content";
import { schedulerPolicy, schedulerTrustPolicy } from "./policies";

/** Scheduler's universal target for SSM SendCommand: the schedule's input is the API request. */
const SEND_COMMAND_TARGET = "arn:aws:scheduler:::aws-sdk:ssm:sendCommand";

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
  /** Where an invocation Scheduler could not make goes. */
  readonly deadLetterQueueArn: pulumi.Output<string>;
  readonly delivery: Delivery;
}

export interface ReconcileSchedule {
  /** The schedule's name, or undefined when the schedule is off. */
  readonly scheduleName: pulumi.Output<string | undefined>;
  /** The role Scheduler sends with (it sends to the dead-letter queue too), or undefined when off. */
  readonly roleArn: pulumi.Output<string> | undefined;
}

export function createReconcileSchedule(
  name: string,
  args: ReconcileScheduleArgs,
  parent: pulumi.Resource,
): ReconcileSchedule {
  if (args.scheduleExpression === undefined)
    return { scheduleName: pulumi.output(undefined), roleArn: undefined };
  const group = new aws.scheduler.ScheduleGroup(`${name}-reconcile-group`, { name }, { parent });
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
      description: "ecr-sync: copy whatever the push events missed (ecr-sync.sh reconcile on the worker).",
      scheduleExpression: args.scheduleExpression,
      scheduleExpressionTimezone: "UTC",
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
        ...args.delivery,
      },
    },
    { parent, dependsOn: [rolePolicy] },
  );
  return { scheduleName: schedule.name, roleArn: role.arn };
}

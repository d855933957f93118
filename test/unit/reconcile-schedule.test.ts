/**
 * The two ways a reconcile is sent (components/reconcile-schedule.ts): the command an operator runs
 * to backfill now, and the SendCommand request the schedule makes. They must send the same thing.
 */
import { expect } from "chai";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../../common/ssm-command";
import { backfillCommand, scheduledReconcileInput } from "../../components/reconcile-schedule";

const WHERE = {
  documentName: "ecr-sync-reconcile",
  instanceId: "i-0123456789abcdef0",
  logGroupName: "/ecr-sync/commands",
};

describe("reconcile by hand and by schedule", () => {
  it("backfillCommand is the exact aws ssm send-command, copying for real unless dryRun", () => {
    expect(backfillCommand({ region: "us-east-1", ...WHERE })).to.equal(
      "aws ssm send-command --region us-east-1 --document-name ecr-sync-reconcile" +
        " --instance-ids i-0123456789abcdef0 --parameters dryRun=false --timeout-seconds 600" +
        " --cloud-watch-output-config CloudWatchOutputEnabled=true,CloudWatchLogGroupName=/ecr-sync/commands" +
        " --comment 'ecr-sync backfill' --query Command.CommandId --output text",
    );
    expect(backfillCommand({ region: "us-east-1", ...WHERE, dryRun: true })).to.include(
      " --parameters dryRun=true ",
    );
  });

  it("the schedule sends the same document, instance, parameters, timeout and log group", () => {
    expect(JSON.parse(scheduledReconcileInput(WHERE))).to.deep.equal({
      DocumentName: "ecr-sync-reconcile",
      InstanceIds: ["i-0123456789abcdef0"],
      Parameters: { dryRun: ["false"] },
      Comment: "ecr-sync scheduled reconcile",
      TimeoutSeconds: COMMAND_DELIVERY_TIMEOUT_SECONDS,
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: "/ecr-sync/commands" },
    });
    expect(backfillCommand({ region: "us-east-1", ...WHERE })).to.include(
      `--timeout-seconds ${COMMAND_DELIVERY_TIMEOUT_SECONDS} `,
    );
  });
});

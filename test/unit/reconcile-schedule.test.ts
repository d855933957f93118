/**
 * The two ways a reconcile is sent (components/reconcile-schedule.ts): the command an operator runs
 * to backfill now, and the SendCommand request the schedule makes. They must send the same thing.
 * And when the schedule's first run is: fixed once, never a StartDate in the past.
 */
import { expect } from "chai";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../../common/ssm-command";
import {
  FIRST_RECONCILE_DELAY_MINUTES,
  RECONCILE_SEND_MAX_AGE_SECONDS,
  backfillCommand,
  firstReconcileAt,
  scheduleStartDate,
  scheduledReconcileInput,
} from "../../components/reconcile-schedule";

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

describe("when the scheduled reconcile starts", () => {
  const CREATED = "2026-12-07T09:14:27Z";

  it("is due 30 minutes after the schedule group was created, on the next whole minute, written as AWS writes it back", () => {
    expect(FIRST_RECONCILE_DELAY_MINUTES).to.equal(30);
    expect(firstReconcileAt(CREATED)).to.equal("2026-12-07T09:45:00Z");
    expect(firstReconcileAt("2026-12-07T09:15:00Z")).to.equal("2026-12-07T09:45:00Z");
    expect(firstReconcileAt("2026-12-07T23:59:59.500Z")).to.equal("2026-12-08T00:30:00Z");
    expect(() => firstReconcileAt("yesterday")).to.throw(
      'schedule group creationDate: "yesterday" is not a date',
    );
  });

  it("sends the first run as the StartDate only while it is still ahead, and never a date in the past", () => {
    const due = firstReconcileAt(CREATED);
    const at = (iso: string) => scheduleStartDate(due, new Date(iso));
    expect(at("2026-12-07T09:14:30Z")).to.equal(due);
    expect(at("2026-12-07T09:44:59Z")).to.equal(due);
    expect(at("2026-12-07T09:45:00Z")).to.equal(undefined);
    expect(at("2027-03-01T00:00:00Z")).to.equal(undefined);
  });

  it("gives two `pulumi up` in a row the same StartDate, since it moves only with the group's creation date", () => {
    const due = firstReconcileAt(CREATED);
    const runs = (...times: string[]) => times.map((t) => scheduleStartDate(due, new Date(t)));
    // Two runs within the first half hour (a re-run of the deploy job), and two any time later.
    expect(runs("2026-12-07T09:15:10Z", "2026-12-07T09:31:00Z")).to.deep.equal([due, due]);
    expect(runs("2026-12-08T10:00:00Z", "2027-06-08T10:00:00Z")).to.deep.equal([undefined, undefined]);
    // Whatever the clock, what is sent is ahead of it: Scheduler refuses one over 5 minutes old.
    for (let minutes = 0; minutes < 24 * 60; minutes += 7) {
      const now = new Date(Date.parse(CREATED) + minutes * 60_000);
      const sent = scheduleStartDate(due, now);
      if (sent !== undefined) expect(Date.parse(sent)).to.be.greaterThan(now.getTime());
    }
  });

  it("gives up on a send after 15 minutes, so a worker that never came up reaches the dead letters within the hour", () => {
    expect(RECONCILE_SEND_MAX_AGE_SECONDS).to.equal(900);
    // First run, Scheduler's retries, then the dead-letter alarm's 5-minute period.
    expect(FIRST_RECONCILE_DELAY_MINUTES * 60 + 60 + RECONCILE_SEND_MAX_AGE_SECONDS + 300).to.be.at.most(
      3600,
    );
  });
});

/**
 * The text a failed command sends to the alert topic (components/alerting.ts `commandFailureNotice`):
 * an EventBridge input transformer whose placeholders all come from the event.
 */
import { expect } from "chai";
import { commandFailureNotice } from "../../components/alerting";

describe("commandFailureNotice: what a person reads when a command fails", () => {
  const notice = commandFailureNotice("/ecr-sync/commands");
  const text = JSON.parse(notice.inputTemplate) as string;

  it("is one JSON string, as SNS receives it", () => {
    expect(notice.inputTemplate).to.match(/^".*"$/);
    expect(text).to.be.a("string");
  });

  it("takes every placeholder from the event, and no path it does not use", () => {
    const placeholders = [...text.matchAll(/<(\w+)>/g)].map(([, name]) => name);
    expect([...new Set(placeholders)].sort()).to.deep.equal(Object.keys(notice.inputPaths).sort());
    for (const path of Object.values(notice.inputPaths)) expect(path).to.match(/^\$\./);
  });

  it("names the command, its document and status, the log group, and the runbook's section", () => {
    expect(text).to.match(
      /^ecr-sync: the SSM command <command> \(document <document>\) ended <status> at <time>\./,
    );
    expect(text).to.include("Runbook: docs/runbook.md#failed-command.");
    expect(text).to.include("CloudWatch log group /ecr-sync/commands;");
  });

  it("ends with the command that shows the output, so it can be copied whole", () => {
    expect(text).to.match(
      / or run: aws ssm list-command-invocations --region <region> --command-id <command> --details$/,
    );
  });
});

import { expect } from "chai";
import { heartbeatExpression, heartbeatHours, recoverActionArn } from "../../components/alerting";

describe("alarm builders (components/alerting.ts)", () => {
  it("waits 26 hours for a daily or more frequent reconcile, and the interval plus two hours for a rarer rate", () => {
    expect(heartbeatHours("rate(1 day)")).to.equal(26);
    expect(heartbeatHours("rate(12 hours)")).to.equal(26);
    expect(heartbeatHours("rate(30 minutes)")).to.equal(26);
    expect(heartbeatHours("rate(2 days)")).to.equal(50);
    expect(heartbeatHours("rate(36 hours)")).to.equal(38);
  });

  it("caps the heartbeat at the 7 days CloudWatch evaluates, and gives a cron the 26-hour floor", () => {
    expect(heartbeatHours("rate(7 days)")).to.equal(168);
    expect(heartbeatHours("rate(30 days)")).to.equal(168);
    expect(heartbeatHours("cron(0 6 ? * MON *)")).to.equal(26);
  });

  it("counts an hour that began before the first run was due as a run, and every other hour by its runs", () => {
    expect(heartbeatExpression("2026-12-07T09:45:00Z")).to.equal(
      "IF(EPOCH(runs) < 1796636700, 1, FILL(runs, 0))",
    );
    expect(() => heartbeatExpression("soon")).to.throw('firstRunAt: "soon" is not a date');
  });

  it("names the EC2 recover action of the stack's region", () => {
    expect(recoverActionArn("eu-west-1")).to.equal("arn:aws:automate:eu-west-1:ec2:recover");
  });
});

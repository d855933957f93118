/**
 * The retry and retention bounds (components/dead-letters.ts, components/push-trigger.ts) against the
 * limits AWS documents for them: a value outside would be refused at deploy time, not here.
 */
import { expect } from "chai";
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVERY_RETRY_ATTEMPTS,
  MAXIMUM_EVENT_AGE_SECONDS,
} from "../../components/dead-letters";
import { FUNCTION_RETRY_ATTEMPTS } from "../../components/push-trigger";

describe("dead letters: bounded retries, then a queue a person can read", () => {
  it("keeps a dead letter as long as SQS allows: 14 days", () => {
    expect(DEAD_LETTER_RETENTION_SECONDS).to.equal(1209600);
  });

  it("retries within limits EventBridge, Scheduler and Lambda all accept", () => {
    // EventBridge and Scheduler: maximum event age 60 s to 24 h, 0 to 185 retries;
    // Lambda's asynchronous invocation: maximum event age 60 s to 6 h, 0 to 2 retries.
    expect(MAXIMUM_EVENT_AGE_SECONDS).to.be.within(60, 6 * 3600);
    expect(DELIVERY_RETRY_ATTEMPTS).to.be.within(0, 185);
    expect(FUNCTION_RETRY_ATTEMPTS).to.be.within(0, 2);
  });
});

import { expect } from "chai";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { STSClient } from "@aws-sdk/client-sts";
import { EXIT } from "../../common/result-lines";
import { awsErrorClass, boundedLifetime, EcrPassword, RoleCredentials } from "../../ec2-scripts/copier/aws";
import { Clock } from "../../ec2-scripts/copier/clock";
import { epochMicros } from "../../ec2-scripts/copier/config";
import { LIMITS } from "../../ec2-scripts/copier/limits";
import { isTagImmutable, matchesWildcard } from "../../ec2-scripts/copier/mutability";

describe("copier AWS side, time and mutability", () => {
  describe("an AWS error's class, from its name and HTTP status only", () => {
    const rows: Array<[string, object, number]> = [
      [
        "AccessDenied from STS",
        { name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 } },
        EXIT.auth,
      ],
      [
        "ExpiredToken",
        { name: "ExpiredTokenException", $fault: "client", $metadata: { httpStatusCode: 400 } },
        EXIT.auth,
      ],
      [
        "InvalidClientTokenId",
        { name: "InvalidClientTokenId", $fault: "client", $metadata: { httpStatusCode: 403 } },
        EXIT.auth,
      ],
      ["no credentials at all", { name: "CredentialsProviderError" }, EXIT.auth],
      [
        "an unnamed 403",
        { name: "Unknown", $fault: "client", $metadata: { httpStatusCode: 403 } },
        EXIT.auth,
      ],
      [
        "throttled",
        { name: "ThrottlingException", $fault: "client", $metadata: { httpStatusCode: 400 } },
        EXIT.unavailable,
      ],
      [
        "a 503",
        { name: "ServiceUnavailable", $fault: "server", $metadata: { httpStatusCode: 503 } },
        EXIT.unavailable,
      ],
      [
        "an unnamed 500",
        { name: "Unknown", $fault: "server", $metadata: { httpStatusCode: 500 } },
        EXIT.unavailable,
      ],
      ["a 429", { name: "Unknown", $fault: "client", $metadata: { httpStatusCode: 429 } }, EXIT.unavailable],
      [
        "connection refused (no answer)",
        { name: "Error", code: "ECONNREFUSED", $metadata: { attempts: 5 } },
        EXIT.unavailable,
      ],
      ["timed out", { name: "TimeoutError" }, EXIT.unavailable],
      ["no such host", { name: "Error", code: "ENOTFOUND" }, EXIT.unavailable],
      // No answer and no network code: a bug or a configuration the SDK refuses, not an outage.
      ["a program error", { name: "TypeError" }, EXIT.failed],
      ["a region the SDK cannot resolve", { name: "Error", code: "ERR_INVALID_URL" }, EXIT.failed],
      [
        "a bad request",
        { name: "InvalidParameterException", $fault: "client", $metadata: { httpStatusCode: 400 } },
        EXIT.failed,
      ],
    ];
    for (const [what, error, code] of rows) {
      it(`${what} → ${code}`, () => {
        expect(awsErrorClass(Object.assign(new Error("any text at all"), error))).to.equal(code);
      });
    }
  });

  describe("an ECR password kept by the monotonic clock", () => {
    /** A clock the test moves: monotonic and wall apart. */
    function testClock(): Clock & { advance(ms: number): void; setWall(ms: number): void } {
      let monotonic = 0;
      let wall = Date.parse("2026-06-01T00:00:00Z");
      return {
        monotonic: () => monotonic,
        wall: () => wall,
        advance(ms) {
          monotonic += ms;
          wall += ms;
        },
        setWall(ms) {
          wall = ms;
        },
      };
    }
    /**
     * A stand-in ECR client: each GetAuthorizationToken gives a new token valid 12 hours by AWS's
     * clock, `awsAhead` ms ahead of `clock`'s wall (a copier whose clock was set back).
     */
    function fakeEcr(clock: Clock, awsAhead = 0) {
      let calls = 0;
      const client = {
        send: async () => {
          calls += 1;
          return {
            authorizationData: [
              {
                authorizationToken: Buffer.from(`AWS:pw${calls}`).toString("base64"),
                expiresAt: new Date(clock.wall() + awsAhead + 12 * 3600_000),
              },
            ],
          };
        },
      };
      return { client: client as unknown as ECRClient, calls: () => calls };
    }

    it("renews before the end of its lifetime, measured on the monotonic clock, though the wall clock is set back 30 days", async () => {
      const clock = testClock();
      const ecr = fakeEcr(clock);
      const password = new EcrPassword(
        ecr.client,
        "source",
        "us-east-1",
        "as the worker",
        "hint",
        () => 3600_000,
        clock,
      );
      const first = await password.token();
      clock.setWall(clock.wall() - 30 * 24 * 3600_000);
      clock.advance((3600 - LIMITS.credentialMarginSeconds) * 1000 - 1);
      expect(await password.token(), "within its hour, less the margin").to.equal(first);
      expect(ecr.calls()).to.equal(1);
      clock.advance(2);
      expect(await password.token(), "after it").not.to.equal(first);
      expect(ecr.calls()).to.equal(2);
    });

    /** A stand-in STS client: each AssumeRole gives new credentials ending in an hour by AWS's clock, `awsAhead` ms ahead of `clock`'s wall. */
    function fakeSts(clock: Clock, awsAhead: number) {
      let calls = 0;
      const client = {
        send: async () => {
          calls += 1;
          return {
            Credentials: {
              AccessKeyId: `AKIA${calls}`,
              SecretAccessKey: "secret",
              SessionToken: `session${calls}`,
              Expiration: new Date(clock.wall() + awsAhead + LIMITS.roleSessionSeconds * 1000),
            },
          };
        },
      };
      return { client: client as unknown as STSClient, calls: () => calls };
    }

    // ecr-sync.sh's defect 5: after the clock was set back, what AWS states as an end time is a
    // month away by the copier's clock. Neither the role's credentials nor a password made with
    // them may be kept longer than their own lifetime (an hour), measured on the monotonic clock.
    it("keeps the role's credentials, and the target password made with them, no longer than the role's hour when the clock was set back 30 days before they came", async () => {
      const clock = testClock();
      const setBack = 30 * 24 * 3600_000;
      const sts = fakeSts(clock, setBack);
      const ecr = fakeEcr(clock, setBack);
      const role = new RoleCredentials(sts.client, "arn:aws:iam::730096353738:role/ecr-sync-target", clock);
      const password = new EcrPassword(
        ecr.client,
        "target",
        "us-east-1",
        "as the role",
        "hint",
        () => role.remaining(),
        clock,
      );
      const credentials = await role.get();
      const token = await password.token();
      clock.advance((LIMITS.roleSessionSeconds - LIMITS.credentialMarginSeconds) * 1000 - 1);
      expect(await role.get(), "the role's, within its hour less the margin").to.equal(credentials);
      expect(await password.token(), "the password, within the role's hour less the margin").to.equal(token);
      expect([sts.calls(), ecr.calls()]).to.deep.equal([1, 1]);
      clock.advance(2);
      expect((await role.get()).accessKeyId, "the role's, after it").not.to.equal(credentials.accessKeyId);
      expect(await password.token(), "the password, after it").not.to.equal(token);
      expect([sts.calls(), ecr.calls()]).to.deep.equal([2, 2]);
    });

    it("keeps a password ECR states valid for 30 days and 12 hours (the clock set back) no longer than ECR's 12 hours", async () => {
      const clock = testClock();
      const ecr = fakeEcr(clock, 30 * 24 * 3600_000);
      const password = new EcrPassword(
        ecr.client,
        "target",
        "us-east-1",
        "as the role",
        "hint",
        () => Number.POSITIVE_INFINITY,
        clock,
      );
      const first = await password.token();
      clock.advance((LIMITS.ecrTokenSeconds - LIMITS.credentialMarginSeconds) * 1000 - 1);
      expect(await password.token(), "within its 12 hours less the margin").to.equal(first);
      clock.advance(2);
      expect(await password.token(), "after them").not.to.equal(first);
      expect(ecr.calls()).to.equal(2);
    });

    it("bounds a stated lifetime above and below: an expiry already past, or 30 days away", () => {
      const now = Date.parse("2026-06-01T00:00:00Z");
      expect(boundedLifetime(Date.parse("2015-01-01T00:00:00Z"), now, 43200, 43200)).to.equal(43200_000);
      expect(boundedLifetime(now + 30 * 24 * 3600_000, now, 43200, 43200)).to.equal(43200_000);
      expect(boundedLifetime(now + 600_000, now, 43200, 43200)).to.equal(600_000);
    });

    it("is fetched again when a registry refuses it after a minute of use, not right after it was fetched", async () => {
      const clock = testClock();
      const ecr = fakeEcr(clock);
      const password = new EcrPassword(
        ecr.client,
        "target",
        "us-east-1",
        "as the role",
        "hint",
        () => 3600_000,
        clock,
      );
      const first = await password.token();
      expect(await password.renew(first), "just fetched: the refusal stands").to.equal(false);
      clock.advance(61_000);
      expect(await password.renew(first)).to.equal(true);
      expect(await password.token()).not.to.equal(first);
    });
  });

  describe("--pushed-at read as decimal digits", () => {
    const rows: Array<[string, number]> = [
      ["1970-01-01T00:00:00.5Z", 500_000],
      ["1970-01-01T00:00:00.05Z", 50_000],
      ["1970-01-01T00:00:01.000000009Z", 1_000_000],
      ["2026-06-01T12:00:03Z", Date.parse("2026-06-01T12:00:03Z") * 1000],
    ];
    for (const [text, micros] of rows) {
      it(`${text} → ${micros} µs`, () => expect(epochMicros(text)).to.equal(micros));
    }
  });

  describe("tag mutability with WILDCARD exclusion filters", () => {
    const filters = ["dev*", "release.*", "*-hotfix", "a*b*c"];
    const rows: Array<[string, boolean]> = [
      ["dev", true],
      ["dev-feature", true],
      ["release.3", true],
      ["releaseX3", false],
      ["2-hotfix", true],
      ["hotfix", false],
      ["axxbyyc", true],
      ["prod", false],
    ];
    for (const [tag, excluded] of rows) {
      it(`${tag}: ${excluded ? "matches" : "does not match"} a filter`, () => {
        expect(filters.some((filter) => matchesWildcard(filter, tag))).to.equal(excluded);
        expect(
          isTagImmutable({ mutability: "IMMUTABLE_WITH_EXCLUSION", exclusionFilters: filters }, tag),
        ).to.equal(!excluded);
        expect(
          isTagImmutable({ mutability: "MUTABLE_WITH_EXCLUSION", exclusionFilters: filters }, tag),
        ).to.equal(excluded);
        expect(isTagImmutable({ mutability: "IMMUTABLE", exclusionFilters: filters }, tag)).to.equal(true);
        expect(isTagImmutable({ mutability: "MUTABLE", exclusionFilters: filters }, tag)).to.equal(false);
      });
    }
  });
});

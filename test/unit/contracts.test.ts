import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  isImageDigest,
  isImageTag,
  isRegion,
  isRegistry,
  isRepositoryName,
  isUtcTimestamp,
  parseRoleArn,
} from "../../common/naming";
import { EXIT, IMAGE_RESULTS, RECONCILE_RESULT } from "../../common/result-lines";
import { CONFIG_DEFAULTS } from "../../components/config-keys";
import { RECONCILE_PARALLELISM, parseReconcileParallelism } from "../../components/config-values";
import { MAX_SESSION_DURATION_SECONDS } from "../../components/target-role";
import { readConfig } from "../../ec2-scripts/copier/config";
import { Failure } from "../../ec2-scripts/copier/failure";
import { LIMITS } from "../../ec2-scripts/copier/limits";
import { usage } from "../../ec2-scripts/copier/usage";

/**
 * The contracts the copier (ec2-scripts/copier) shares with the rest of the project: the names
 * common/naming.ts accepts (one definition for the copier, the stacks and the push trigger), the
 * copier's `--help` (the one description of its interface) against what the code reads, parses,
 * prints and returns (common/result-lines.ts), the reconcile's parallelism as the stack's
 * configuration and the copier each accept it, and the target role's session.
 */

interface Contract {
  /** What is checked. */
  readonly name: string;
  /** The predicate (common/naming.ts). */
  readonly accepts: (value: unknown) => boolean;
  readonly good: readonly string[];
  readonly bad: readonly string[];
}

const account = "123456789012";
const hex = "0123456789abcdef".repeat(4);
const roleName64 = "r".repeat(64);

const CONTRACTS: readonly Contract[] = [
  {
    name: "repository name",
    accepts: isRepositoryName,
    good: [
      "ab",
      "kuali-coeus",
      "team/app",
      "a/b",
      "a.b_c-d/e0",
      "0abc",
      "a".repeat(128),
      "a".repeat(129),
      "a".repeat(256),
      `${"a/".repeat(127)}ab`,
    ],
    bad: [
      "",
      "a",
      "a".repeat(257),
      "Kuali",
      "kuali-Coeus",
      ".ab",
      "-ab",
      "_ab",
      "ab.",
      "ab-",
      "a..b",
      "a__b",
      "a//b",
      "ab/",
      "/ab",
      "a b",
      "a:b",
      "ab\n",
    ],
  },
  {
    name: "image tag",
    accepts: isImageTag,
    good: ["a", "ab", "v1", "_x", "Latest", "1.0.0-rc.1", "a..b", "a-", "A".repeat(128)],
    bad: [
      "",
      ".hidden",
      "-x",
      "t".repeat(129),
      "t".repeat(256),
      "t".repeat(257),
      "a/b",
      "a:b",
      "a b",
      "v1\n",
      "é",
    ],
  },
  {
    name: "image digest",
    accepts: isImageDigest,
    good: [`sha256:${hex}`, `sha256:${"f".repeat(64)}`],
    bad: [
      "",
      "sha256:",
      `sha256:${hex.toUpperCase()}`,
      `sha256:${hex.slice(1)}`,
      `sha256:${hex}0`,
      `SHA256:${hex}`,
      `sha512:${hex}${hex}`,
      `sha256:${hex}\n`,
      hex,
    ],
  },
  {
    name: "push time (ISO-8601 UTC)",
    accepts: isUtcTimestamp,
    good: [
      "2026-06-01T12:00:03Z",
      "2026-06-01T12:00:03.5Z",
      "2026-06-01T12:00:03.123456789Z",
      "2024-02-29T23:59:59Z",
      "1970-01-01T00:00:00Z",
    ],
    bad: [
      "",
      "2026-06-01",
      "2026-06-01T12:00Z",
      "2026-06-01T12:00:03",
      "2026-06-01T12:00:03+00:00",
      "2026-06-01 12:00:03Z",
      "2026-06-01T12:00:03.Z",
      "2026-06-01T12:00:03.1234567890Z",
      "2026-06-01t12:00:03z",
      "2026-13-01T12:00:03Z",
      "2026-02-30T12:00:03Z",
      "2025-02-29T12:00:03Z",
      "2026-06-01T24:00:00Z",
      "2026-06-01T12:00:60Z",
      "2026-06-01T12:00:03Z\n",
      "2026-06-01T12:00:03Z'",
      "$(date)",
      "1780315203",
    ],
  },
  {
    name: "region",
    accepts: isRegion,
    good: ["us-east-1", "us-gov-west-1", "eu-central-1", "ap-southeast-7", "cn-north-1", "il-central-1"],
    bad: [
      "",
      "us-east-10",
      "us-east",
      "useast-1",
      "US-EAST-1",
      "us-east-1a",
      "u-east-1",
      "us--east-1",
      "us-east-1\n",
    ],
  },
  {
    name: "role ARN",
    accepts: (value) => parseRoleArn(value) !== undefined,
    good: [
      `arn:aws:iam::${account}:role/ecr-sync-target`,
      `arn:aws:iam::${account}:role/service/ecr-sync`,
      `arn:aws:iam::${account}:role/a/b/c/name`,
      `arn:aws:iam::${account}:role/${roleName64}`,
      `arn:aws:iam::${account}:role/path/${roleName64}`,
      `arn:aws:iam::${account}:role/x+=,.@_-y`,
    ],
    bad: [
      "",
      `arn:aws-cn:iam::${account}:role/ecr-sync-target`,
      `arn:aws-us-gov:iam::${account}:role/ecr-sync-target`,
      `arn:aws:iam::${account}:role/${roleName64}r`,
      `arn:aws:iam::${account}:role/path/${roleName64}r`,
      `arn:aws:iam::${account}:role/`,
      `arn:aws:iam::${account}:role/path/`,
      `arn:aws:iam::${account}:role//name`,
      `arn:aws:iam::12345678901:role/name`,
      `arn:aws:iam::${account}:user/name`,
      `arn:aws:sts::${account}:assumed-role/name/session`,
      `arn:aws:iam::${account}:role/a name`,
      `arn:aws:iam::${account}:role/*`,
    ],
  },
  {
    name: "registry host[:port]",
    accepts: isRegistry,
    good: [
      "770203350335.dkr.ecr.us-east-1.amazonaws.com",
      "127.0.0.1:5000",
      "localhost",
      "a",
      "registry:1",
      "registry:65535",
      "my-registry.example.com:443",
    ],
    bad: [
      "",
      "registry:0",
      "registry:65536",
      "registry:99999",
      "registry:123456",
      "registry:05000",
      "registry:",
      ":5000",
      "-registry",
      "registry-",
      "registry.-x",
      "a..b",
      ".a",
      "a.",
      "a_b",
      "https://x",
      "x/y",
      "[::1]:5000",
      "x:5000\n",
    ],
  },
];

describe("the names common/naming.ts accepts (the copier's, the stacks' and the push trigger's)", () => {
  for (const contract of CONTRACTS) {
    it(`accepts every good and refuses every bad ${contract.name}`, () => {
      const wrong = [
        ...contract.good
          .filter((value) => !contract.accepts(value))
          .map((value) => `accepted: ${JSON.stringify(value)}`),
        ...contract.bad
          .filter((value) => contract.accepts(value))
          .map((value) => `refused: ${JSON.stringify(value)}`),
      ];
      expect(wrong, `${contract.name}: what common/naming.ts gets wrong (should be …)`).to.deep.equal([]);
    });
  }
});

describe("the copier's --help (ec2-scripts/copier/usage.ts) and common/result-lines.ts", () => {
  const COPIER_DIR = path.join(__dirname, "..", "..", "ec2-scripts", "copier");
  const help = usage();
  const section = (heading: string): string[] => {
    const lines = help.split("\n");
    const start = lines.findIndex((line) => line.startsWith(heading));
    expect(start, `--help has a section "${heading}"`).to.be.greaterThan(-1);
    const end = lines.findIndex((line, index) => index > start && line.trim() === "");
    return lines.slice(start + 1, end === -1 ? undefined : end);
  };
  /** The copier's sources but usage.ts. */
  const sources = readdirSync(COPIER_DIR)
    .filter((name) => name.endsWith(".ts") && name !== "usage.ts")
    .map((name) => readFileSync(path.join(COPIER_DIR, name), "utf8"))
    .join("\n");

  it("lists every exit code of the contract, in order, each once", () => {
    const listed = section("Exit codes:")
      .map((line) => /^ {2}(\d+) {2}\S/.exec(line)?.[1])
      .filter((code) => code !== undefined);
    expect(listed).to.deep.equal(Object.values(EXIT).map(String));
  });

  it("keeps the exit codes of the command line's contract", () => {
    // The documents, the runbook and anyone scripting the copier read these numbers: a change is a
    // change of the contract, not a refactoring.
    expect(EXIT).to.deep.equal({
      ok: 0,
      failed: 1,
      usage: 2,
      config: 3,
      auth: 4,
      notFound: 5,
      conflict: 6,
      unavailable: 7,
    });
  });

  it("lists every ECR_SYNC_* variable the copier reads, and no other", () => {
    const read = new Set([...sources.matchAll(/\bECR_SYNC_[A-Z_]*[A-Z]\b/g)].map((m) => m[0]));
    expect(read.size).to.be.greaterThanOrEqual(9);
    const listed = section("Environment:")
      .map((line) => /^ {2}(ECR_SYNC_[A-Z_]+) /.exec(line)?.[1])
      .filter((name) => name !== undefined);
    expect([...listed].sort()).to.deep.equal([...read].sort());
  });

  it("explains every result of the contract", () => {
    const listed = section("Result lines").map((line) => /^ {2}([a-z]+) /.exec(line)?.[1]);
    expect([...IMAGE_RESULTS, RECONCILE_RESULT].filter((result) => !listed.includes(result))).to.deep.equal(
      [],
    );
  });

  it("lists every flag the commands parse, and no other", () => {
    // The flags are string literals in config.ts (its messages are whole sentences).
    const parsed = new Set(
      [...readFileSync(path.join(COPIER_DIR, "config.ts"), "utf8").matchAll(/"(--?[a-z][-a-z]*)"/g)].map(
        (m) => m[1],
      ),
    );
    expect([...parsed]).to.include.members([
      "--source-repository",
      "--digest",
      "--pushed-at",
      "--dry-run",
      "-h",
    ]);
    const listed = section("Flags:").flatMap((line) =>
      [...line.matchAll(/(?<=^ {2}|, )(-[-a-z]+)/g)].map((m) => m[1]),
    );
    expect([...listed].sort()).to.deep.equal([...parsed].sort());
  });
});

describe("the reconcile's parallelism: ecr-sync:reconcileParallelism and the copier", () => {
  it("has the copier's default and bounds", () => {
    expect({
      default: CONFIG_DEFAULTS.reconcileParallelism,
      min: RECONCILE_PARALLELISM.min,
      max: RECONCILE_PARALLELISM.max,
    }).to.deep.equal({
      default: LIMITS.reconcileDefaultParallelism,
      min: 1,
      max: LIMITS.reconcileMaxParallelism,
    });
  });

  it("accepts exactly what the copier's reconcile accepts", () => {
    /** The copier's verdict on ECR_SYNC_RECONCILE_PARALLELISM: its parallelism, or exit 3 naming the variable. */
    const copierAccepts = (value: string): boolean => {
      try {
        const config = readConfig({
          ECR_SYNC_SOURCE_REGISTRY: "770203350335.dkr.ecr.us-east-1.amazonaws.com",
          ECR_SYNC_TARGET_REGISTRY: "730096353738.dkr.ecr.us-east-1.amazonaws.com",
          ECR_SYNC_TARGET_ROLE_ARN: "arn:aws:iam::730096353738:role/ecr-sync-target",
          ECR_SYNC_REGION: "us-east-1",
          ECR_SYNC_REPOSITORY_MAP: '{"kuali-coeus":"coeus"}',
          ECR_SYNC_RECONCILE_PARALLELISM: value,
        });
        expect(config.reconcileParallelism).to.equal(Number(value));
        return true;
      } catch (error) {
        expect(error, `the copier with ECR_SYNC_RECONCILE_PARALLELISM=${value}`).to.be.instanceOf(Failure);
        expect((error as Failure).code).to.equal(EXIT.config);
        expect((error as Failure).message).to.include(`ECR_SYNC_RECONCILE_PARALLELISM='${value}'`);
        return false;
      }
    };
    const texts = [...Array.from({ length: 19 }, (_, n) => String(n)), "2.5", "x", "-1", "1e1", "100"];
    const verdicts = texts.map((text) => {
      const problems: string[] = [];
      const copies = parseReconcileParallelism(text, problems);
      const config = problems.length === 0;
      // An accepted value reaches the copier as the reconcile document exports it.
      return { text, config, copier: copierAccepts(config ? String(copies) : text) };
    });
    expect(verdicts.filter((v) => v.config !== v.copier)).to.deep.equal([]);
    expect(verdicts.filter((v) => v.config).map((v) => v.text)).to.deep.equal(
      Array.from({ length: 16 }, (_, n) => String(n + 1)),
    );
  });
});

describe("the target role's session: components/target-role.ts and the copier", () => {
  it("lets the copier have the session it asks AssumeRole for, and no longer", () => {
    // STS refuses a DurationSeconds above the role's MaxSessionDuration: every copy would fail.
    expect(MAX_SESSION_DURATION_SECONDS).to.equal(LIMITS.roleSessionSeconds);
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
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
import { usage } from "../../ec2-scripts/copier/usage";
import { RECONCILE_PARALLELISM, parseReconcileParallelism } from "../../components/config-values";

/**
 * The contracts between ec2-scripts/ecr-sync.sh and the TypeScript side. The script checks the
 * names it is given with bash twins of common/naming.ts; both sides run here on one table, the
 * bash side sourced from the script itself (its own patterns and is_* functions), so that the
 * two cannot drift apart again. And `ecr-sync.sh --help`, the one description of the script's
 * interface, is checked against what the code reads, parses, prints and returns.
 */

const SCRIPT = path.join(__dirname, "..", "..", "ec2-scripts", "ecr-sync.sh");
const SCRIPT_TEXT = readFileSync(SCRIPT, "utf8");

interface Contract {
  /** What is checked. */
  readonly name: string;
  /** The TypeScript predicate (common/naming.ts). */
  readonly ts: (value: unknown) => boolean;
  /** The function in ecr-sync.sh that checks the same thing. */
  readonly bash: string;
  readonly good: readonly string[];
  readonly bad: readonly string[];
}

const account = "123456789012";
const hex = "0123456789abcdef".repeat(4);
const roleName64 = "r".repeat(64);

const CONTRACTS: readonly Contract[] = [
  {
    name: "repository name",
    ts: isRepositoryName,
    bash: "is_repository_name",
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
    ts: isImageTag,
    bash: "is_image_tag",
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
    ts: isImageDigest,
    bash: "is_image_digest",
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
    ts: isUtcTimestamp,
    bash: "is_utc_timestamp",
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
    ts: isRegion,
    bash: "is_region",
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
    ts: (value) => parseRoleArn(value) !== undefined,
    bash: "is_role_arn",
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
    ts: isRegistry,
    bash: "is_registry",
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

/** Runs the script's check functions on every [function, value] pair, in one bash process. */
function bashVerdicts(pairs: ReadonlyArray<readonly [string, string]>): boolean[] {
  const program = [
    'source "$1"',
    "while IFS= read -r -d '' check && IFS= read -r -d '' value; do",
    '  declare -F "${check}" >/dev/null || { echo "ecr-sync.sh defines no function ${check}" >&2; exit 2; }',
    '  if "${check}" "${value}"; then printf 1; else printf 0; fi',
    "done",
  ].join("\n");
  const result = spawnSync("bash", ["-c", program, "bash", SCRIPT], {
    input: pairs.map(([check, value]) => `${check}\0${value}\0`).join(""),
    encoding: "utf8",
  });
  expect(result.status, result.stderr).to.equal(0);
  expect(result.stdout).to.have.length(pairs.length);
  return [...result.stdout].map((verdict) => verdict === "1");
}

describe("contracts between ecr-sync.sh and common/naming.ts", () => {
  const rows = CONTRACTS.flatMap((contract) => [
    ...contract.good.map((value) => ({ contract, value, expected: true })),
    ...contract.bad.map((value) => ({ contract, value, expected: false })),
  ]);
  const verdicts = bashVerdicts(rows.map(({ contract, value }) => [contract.bash, value] as const));

  for (const contract of CONTRACTS) {
    it(`accepts and refuses the same ${contract.name}s on both sides`, () => {
      const disagreements = rows.flatMap((row, index) => {
        if (row.contract !== contract) return [];
        const ts = contract.ts(row.value);
        const bash = verdicts[index];
        return ts === row.expected && bash === row.expected
          ? []
          : [`${JSON.stringify(row.value)}: expected ${row.expected}, TypeScript ${ts}, bash ${bash}`];
      });
      expect(
        disagreements,
        `${contract.name}: common/naming.ts vs ecr-sync.sh ${contract.bash}`,
      ).to.deep.equal([]);
    });
  }
});

describe("ecr-sync.sh --help", () => {
  const run = spawnSync("bash", [SCRIPT, "--help"], { encoding: "utf8", env: {} });
  const help = run.stdout;
  /** The lines of one section of the help, from its heading to the next blank line. */
  const section = (heading: string): string[] => {
    const lines = help.split("\n");
    const start = lines.findIndex((line) => line.startsWith(heading));
    expect(start, `--help has a section "${heading}"`).to.be.greaterThan(-1);
    const end = lines.findIndex((line, index) => index > start && line.trim() === "");
    return lines.slice(start + 1, end === -1 ? undefined : end);
  };
  /** The script without usage() (the help text itself). */
  const code = SCRIPT_TEXT.replace(/^usage\(\) \{\n[\s\S]*?\n\}\n/m, "");

  it("prints the help on stdout and exits 0", () => {
    expect(run.status, run.stderr).to.equal(0);
    expect(code.length).to.be.lessThan(SCRIPT_TEXT.length);
  });

  it("lists every exit code the script defines, each once", () => {
    const codes = [...SCRIPT_TEXT.matchAll(/^readonly (EXIT_[A-Z_]+)=(\d+)$/gm)].map((m) => m[2]);
    expect(codes).to.have.length.greaterThanOrEqual(6);
    const listed = section("Exit codes:")
      .map((line) => /^ {2}(\d+) {2}\S/.exec(line)?.[1])
      .filter((listedCode) => listedCode !== undefined);
    expect(listed).to.deep.equal(["0", ...codes]);
  });

  it("lists every ECR_SYNC_* variable the script reads, and no other", () => {
    const read = new Set([...code.matchAll(/\bECR_SYNC_[A-Z_]+\b/g)].map((m) => m[0]));
    expect(read.size).to.be.greaterThanOrEqual(7);
    const listed = section("Environment:")
      .map((line) => /^ {2}(ECR_SYNC_[A-Z_]+) /.exec(line)?.[1])
      .filter((name) => name !== undefined);
    expect([...listed].sort()).to.deep.equal([...read].sort());
  });

  it("lists every flag the commands parse", () => {
    const patterns = [...code.matchAll(/^\s+((?:-[-a-z]+(?: \| )?)+)\)/gm)].map((m) => m[1]);
    const flags = new Set(patterns.flatMap((pattern) => pattern.split(" | ")));
    expect([...flags]).to.include.members(["--source-repository", "--digest", "--dry-run", "-h"]);
    const listed = section("Flags:").flatMap((line) =>
      [...line.matchAll(/(?<=^ {2}|, )(-[-a-z]+)/g)].map((m) => m[1]),
    );
    expect([...flags].filter((flag) => !listed.includes(flag))).to.deep.equal([]);
  });

  it("explains every result the script emits", () => {
    const results = new Set([...code.matchAll(/\bemit ([a-z]+) /g)].map((m) => m[1]));
    expect(results.size).to.be.greaterThanOrEqual(5);
    const listed = section("Result lines").map((line) => /^ {2}([a-z]+) /.exec(line)?.[1]);
    expect([...results].filter((result) => !listed.includes(result))).to.deep.equal([]);
  });
});

describe("the reconcile's parallelism: ecr-sync:reconcileParallelism and ecr-sync.sh", () => {
  /** The value of `readonly NAME=N` in the script. */
  const scriptConstant = (name: string): number => {
    const match = new RegExp(`^readonly ${name}=(\\d+)\\b`, "m").exec(SCRIPT_TEXT);
    expect(match, `ecr-sync.sh defines readonly ${name}`).to.not.equal(null);
    return Number(match![1]);
  };

  it("has the script's default and maximum", () => {
    expect({ default: CONFIG_DEFAULTS.reconcileParallelism, max: RECONCILE_PARALLELISM.max }).to.deep.equal({
      default: scriptConstant("RECONCILE_DEFAULT_PARALLELISM"),
      max: scriptConstant("RECONCILE_MAX_PARALLELISM"),
    });
  });

  it("accepts exactly what the script's reconcile accepts", () => {
    // The script checks the value right after the rest of its environment and before the state
    // directory, so a relative state directory stops an accepted value there, before any AWS call.
    const environment = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ECR_SYNC_SOURCE_REGISTRY: "770203350335.dkr.ecr.us-east-1.amazonaws.com",
      ECR_SYNC_TARGET_REGISTRY: "730096353738.dkr.ecr.us-east-1.amazonaws.com",
      ECR_SYNC_TARGET_ROLE_ARN: "arn:aws:iam::730096353738:role/ecr-sync-target",
      ECR_SYNC_REGION: "us-east-1",
      ECR_SYNC_REPOSITORY_MAP: '{"kuali-coeus":"coeus"}',
      ECR_SYNC_STATE_DIR: "relative",
    };
    const scriptAccepts = (value: string): boolean => {
      const run = spawnSync("bash", [SCRIPT, "reconcile"], {
        encoding: "utf8",
        env: { ...environment, ECR_SYNC_RECONCILE_PARALLELISM: value },
      });
      if (run.stderr.includes(`ECR_SYNC_RECONCILE_PARALLELISM='${value}' is not a number`)) return false;
      expect(run.stderr, `the script with ECR_SYNC_RECONCILE_PARALLELISM=${value}`).to.include(
        "ECR_SYNC_STATE_DIR='relative' is not an absolute path",
      );
      return true;
    };
    const texts = [...Array.from({ length: 19 }, (_, n) => String(n)), "2.5", "x", "-1", "1e1", "100"];
    const verdicts = texts.map((text) => {
      const problems: string[] = [];
      const copies = parseReconcileParallelism(text, problems);
      const config = problems.length === 0;
      // An accepted value reaches the script as the reconcile document exports it.
      return { text, config, script: scriptAccepts(config ? String(copies) : text) };
    });
    expect(verdicts.filter((v) => v.config !== v.script)).to.deep.equal([]);
    expect(verdicts.filter((v) => v.config).map((v) => v.text)).to.deep.equal(
      Array.from({ length: 16 }, (_, n) => String(n + 1)),
    );
  });
});

describe("the TypeScript copier's --help (ec2-scripts/copier/usage.ts) and common/result-lines.ts", () => {
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

  it("keeps ecr-sync.sh's exit codes", () => {
    const bash = Object.fromEntries(
      [...SCRIPT_TEXT.matchAll(/^readonly EXIT_([A-Z_]+)=(\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    expect(bash).to.deep.equal({
      FAILED: EXIT.failed,
      USAGE: EXIT.usage,
      CONFIG: EXIT.config,
      AUTH: EXIT.auth,
      NOT_FOUND: EXIT.notFound,
      CONFLICT: EXIT.conflict,
      UNAVAILABLE: EXIT.unavailable,
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

  it("lists the flags ecr-sync.sh lists", () => {
    const bashFlags = spawnSync("bash", [SCRIPT, "--help"], { encoding: "utf8", env: {} }).stdout;
    const flagsOf = (text: string) => [...text.matchAll(/^ {2}(-[-a-z]+)/gm)].map((m) => m[1]).sort();
    expect(flagsOf(help)).to.deep.equal(flagsOf(bashFlags));
  });
});

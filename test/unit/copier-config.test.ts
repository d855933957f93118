import { expect } from "chai";
import { EXIT } from "../../common/result-lines";
import { parseCommand, readConfig, UsageError } from "../../ec2-scripts/copier/config";
import { Failure } from "../../ec2-scripts/copier/failure";
import { shortUsage, usage } from "../../ec2-scripts/copier/usage";

/**
 * The copier's command line and environment (ec2-scripts/copier/config.ts) as a person meets
 * them: every problem named at once, one line each, and a usage error that points at --help
 * rather than printing all of it.
 */
describe("copier command line and environment", () => {
  const thrown = (work: () => unknown): unknown => {
    try {
      work();
    } catch (error) {
      return error;
    }
    throw new Error("expected a refusal");
  };

  it("names every problem with copy's flags at once", () => {
    const error = thrown(() =>
      parseCommand(["copy", "--force", "--tag", "bad tag", "--digest", "x", "--source-repository"], {}),
    ) as UsageError;
    expect(error).to.be.instanceOf(UsageError);
    expect(error.problems).to.deep.equal([
      "copy: unknown argument '--force'",
      "--source-repository needs a value",
      "copy: --target-repository is required",
      "--tag 'bad tag' is not a valid image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)",
      "--digest 'x' is not sha256: followed by 64 lowercase hex digits",
    ]);
  });

  it("does not take the next flag as a flag's value", () => {
    const error = thrown(() =>
      parseCommand(["copy", "--source-repository", "--target-repository", "coeus", "--tag", "v1"], {}),
    ) as UsageError;
    expect(error.problems).to.deep.equal(["--source-repository needs a value"]);
  });

  it("names every unknown argument of reconcile at once", () => {
    const error = thrown(() => parseCommand(["reconcile", "--dry", "--all"], {})) as UsageError;
    expect(error.problems).to.deep.equal([
      "reconcile: unknown argument '--dry'",
      "reconcile: unknown argument '--all'",
    ]);
  });

  it("names every missing or invalid variable at once (exit 3), one per line", () => {
    const error = thrown(() =>
      readConfig({
        ECR_SYNC_REGION: "nowhere",
        ECR_SYNC_TLS_VERIFY: "yes",
        ECR_SYNC_COPY_TIMEOUT_SECONDS: "0",
      }),
    ) as Failure;
    expect(error.code).to.equal(EXIT.config);
    const lines = error.message.split("\n");
    expect(lines).to.have.length(7);
    for (const name of [
      "ECR_SYNC_SOURCE_REGISTRY is not set",
      "ECR_SYNC_TARGET_REGISTRY is not set",
      "ECR_SYNC_TARGET_ROLE_ARN is not set",
      "ECR_SYNC_REGION='nowhere' is not an AWS region",
      "ECR_SYNC_TLS_VERIFY='yes' must be true or false",
      "ECR_SYNC_REPOSITORY_MAP is not set",
      "ECR_SYNC_COPY_TIMEOUT_SECONDS='0' is not a number of seconds",
    ])
      expect(
        lines.some((line) => line.startsWith(name)),
        name,
      ).to.equal(true);
  });

  it("does not let --help hide problems before it (exit 2, not 0)", () => {
    const error = thrown(() => parseCommand(["copy", "--bogus", "--help"], {})) as UsageError;
    expect(error.problems).to.deep.equal(["copy: unknown argument '--bogus'"]);
    expect(
      (thrown(() => parseCommand(["reconcile", "--all", "--help"], {})) as UsageError).problems,
    ).to.deep.equal(["reconcile: unknown argument '--all'"]);
    expect(parseCommand(["copy", "--help"], {})).to.deep.equal({ kind: "help" });
  });

  it("reads an empty value as missing, once, and never takes --help as a flag's value", () => {
    const empty = thrown(() =>
      parseCommand(
        ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus", "--tag", ""],
        {},
      ),
    ) as UsageError;
    expect(empty.problems).to.deep.equal(["--tag needs a value"]);
    const help = thrown(() =>
      parseCommand(
        ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus", "--tag", "--help"],
        {},
      ),
    ) as UsageError;
    expect(help.problems).to.deep.equal(["--tag needs a value"]);
  });

  it("names ECR_SYNC_RECONCILE_PARALLELISM with the other variables", () => {
    const error = thrown(() => readConfig({ ECR_SYNC_RECONCILE_PARALLELISM: "99" })) as Failure;
    const lines = error.message.split("\n");
    expect(lines.some((line) => line.startsWith("ECR_SYNC_RECONCILE_PARALLELISM='99' is not"))).to.equal(
      true,
    );
    expect(lines.some((line) => line.startsWith("ECR_SYNC_SOURCE_REGISTRY is not set"))).to.equal(true);
  });

  it("shows a value holding a newline as a JSON string, so it cannot forge a line of the log", () => {
    const error = thrown(() =>
      readConfig({
        ECR_SYNC_SOURCE_REGISTRY: "a.example",
        ECR_SYNC_TARGET_REGISTRY: "b.example",
        ECR_SYNC_TARGET_ROLE_ARN: "arn:aws:iam::730096353738:role/ecr-sync-target",
        ECR_SYNC_REGION: "us-east-1\nerror: all is well",
        ECR_SYNC_REPOSITORY_MAP: '{"kuali-coeus":"coeus"}',
      }),
    ) as Failure;
    expect(error.message.split("\n")).to.deep.equal([
      'ECR_SYNC_REGION="us-east-1\\nerror: all is well" is not an AWS region (e.g. us-east-1)',
    ]);
  });

  it("prints a short usage after a usage error, and the examples in --help", () => {
    expect(shortUsage().split("\n").length).to.be.below(10);
    expect(shortUsage()).to.include("Run 'ecr-sync --help'");
    expect(shortUsage()).not.to.include("Exit codes:");
    expect(usage()).to.include("Examples");
    expect(usage()).to.include("ecr-sync reconcile --dry-run");
  });
});

import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MotoServer, startMoto } from "../../local/moto";

/**
 * `npm run test:e2e` (scripts/e2e.ts) run as npm runs it, the project's `tsx scripts/e2e.ts` (npx
 * would spend half a second per run finding the same binary), in an environment without AWS
 * credentials or with credentials that cannot reach a deployed stack: it must say that it did not
 * run and why, exit 3, and never claim a pass. The credential and stack checks run against a real
 * moto_server through the real AWS CLI.
 */

const ROOT = join(__dirname, "..", "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const DID_NOT_RUN = 3;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("npm run test:e2e", function () {
  this.timeout(120000);

  let home: string;
  let emptyConfig: string;
  let emptyCredentials: string;

  /** No AWS_* variable from the developer's shell, empty config files, no metadata service. */
  function bareEnvironment(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      npm_config_update_notifier: "false",
      AWS_CONFIG_FILE: emptyConfig,
      AWS_SHARED_CREDENTIALS_FILE: emptyCredentials,
      AWS_EC2_METADATA_DISABLED: "true",
      ...extra,
    };
  }

  async function runE2e(env: Record<string, string>): Promise<Run> {
    return new Promise((resolve) => {
      execFile(TSX, ["scripts/e2e.ts"], { cwd: ROOT, env, timeout: 90000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  function expectDidNotRun(run: Run, why: string): void {
    expect(run.code, run.stderr).to.equal(DID_NOT_RUN);
    expect(run.stderr).to.include(`e2e DID NOT RUN: ${why}`);
    expect(run.stderr).to.include("This is not a pass.");
    expect(`${run.stdout}${run.stderr}`).to.not.include("PASSED");
  }

  before(async () => {
    home = await mkdtemp(join(tmpdir(), "ecr-sync-e2e-test-"));
    emptyConfig = join(home, "config");
    emptyCredentials = join(home, "credentials");
    await writeFile(emptyConfig, "");
    await writeFile(emptyCredentials, "");
  });

  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  describe("without credentials", () => {
    it("says it did not run because no target profile is named, and exits 3", async () => {
      const run = await runE2e(bareEnvironment());
      expectDidNotRun(run, "ECR_SYNC_E2E_TARGET_PROFILE is not set");
    });

    it("says the source account has no credentials in the default chain, and exits 3", async () => {
      const run = await runE2e(bareEnvironment({ ECR_SYNC_E2E_TARGET_PROFILE: "legacy" }));
      expectDidNotRun(
        run,
        "no usable credentials for the source account from the default credential chain: Unable to locate credentials",
      );
    });

    it("names a profile that does not exist, and exits 3", async () => {
      const run = await runE2e(
        bareEnvironment({ ECR_SYNC_E2E_SOURCE_PROFILE: "css", ECR_SYNC_E2E_TARGET_PROFILE: "legacy" }),
      );
      expectDidNotRun(run, "no usable credentials for the source account from profile 'css':");
      expect(run.stderr).to.include("css");
    });
  });

  it("rejects a malformed setting by name and value before touching AWS", async () => {
    const run = await runE2e(
      bareEnvironment({ ECR_SYNC_E2E_TARGET_PROFILE: "legacy", ECR_SYNC_E2E_TIMEOUT_SECONDS: "soon" }),
    );
    expectDidNotRun(run, "ECR_SYNC_E2E_TIMEOUT_SECONDS='soon' is not a whole number of seconds");
    const badRepository = await runE2e(
      bareEnvironment({ ECR_SYNC_E2E_TARGET_PROFILE: "legacy", ECR_SYNC_E2E_TARGET_REPOSITORY: "Coeus" }),
    );
    expectDidNotRun(
      badRepository,
      "ECR_SYNC_E2E_TARGET_REPOSITORY='Coeus' is not a valid ECR repository name",
    );
  });

  describe("with credentials for two accounts (moto_server)", () => {
    let moto: MotoServer;
    let credentialsFile: string;

    /** Profiles `css` (moto's default account) and `legacy` (a role session in 730096353738). */
    before(async () => {
      moto = await startMoto();
      const legacy = await moto.api().assumeRole("arn:aws:iam::730096353738:role/e2e-operator", "e2e");
      credentialsFile = join(home, "two-accounts");
      await writeFile(
        credentialsFile,
        [
          "[css]",
          "aws_access_key_id = testing",
          "aws_secret_access_key = testing",
          "[legacy]",
          `aws_access_key_id = ${legacy.accessKeyId}`,
          `aws_secret_access_key = ${legacy.secretAccessKey}`,
          `aws_session_token = ${legacy.sessionToken}`,
          "",
        ].join("\n"),
      );
    });

    after(async () => {
      await moto?.stop();
    });

    function twoAccountEnvironment(extra: Record<string, string> = {}): Record<string, string> {
      return bareEnvironment({
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
        ECR_SYNC_E2E_SOURCE_PROFILE: "css",
        ECR_SYNC_E2E_TARGET_PROFILE: "legacy",
        ...extra,
      });
    }

    it("refuses a profile that acts in another account than the css account", async () => {
      const run = await runE2e(twoAccountEnvironment());
      expectDidNotRun(run, "profile 'css' acts in account 123456789012, not the source account 770203350335");
    });

    it("says the stack looks undeployed when the target repository does not exist", async () => {
      await moto.api().json("ecr", "CreateRepository", { repositoryName: "kuali-coeus" });
      const run = await runE2e(twoAccountEnvironment({ ECR_SYNC_E2E_SOURCE_ACCOUNT: "123456789012" }));
      expectDidNotRun(run, "target repository 'coeus' in account 730096353738 (us-east-1) cannot be read:");
      expect(run.stderr).to.include("RepositoryNotFoundException");
      expect(run.stderr).to.include("is the stack deployed and the mapping right?");
      expect(run.stderr).to.match(/source: arn:aws:(iam|sts)::123456789012:/);
    });
  });
});

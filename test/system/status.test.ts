/**
 * `npm run status` (scripts/status.ts) against moto, as an operator runs it: the committed
 * Pulumi.css.yaml's map and accounts, a named profile per account (credentials of a role assumed
 * in each, as moto hands them out), ECR holding the images in both accounts, and the copier's result
 * lines in the results log group, one event each, as the copier writes them (common/result-lines.ts).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { ImageLine } from "../../common/result-lines";
import { resultsLogGroupName } from "../../common/telemetry";
import { MotoServer, startMoto, withoutAwsSettings } from "../../local/moto";
import { PROJECT_ROOT, readStackConfig } from "../../local/render";
import { MotoApi } from "../../local/moto-api";

const execFileAsync = promisify(execFile);

const css = readStackConfig("css");
const CSS_ACCOUNT = css["ecr-sync:sourceAccountId"];
const LEGACY_ACCOUNT = css["ecr-sync:targetAccountId"];
const REGION = css["aws:region"];
const CSS_REGISTRY = `${CSS_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const LEGACY_REGISTRY = `${LEGACY_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

/** An image manifest; moto derives the digest from the layers' digests. */
function manifest(seed: string): string {
  const digest = (n: number) =>
    `sha256:${Buffer.from(`${seed}${n}`).toString("hex").padEnd(64, "0").slice(0, 64)}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest(0), size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest(1), size: 3 }],
  });
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("npm run status (scripts/status.ts) against moto", function () {
  this.timeout(60000);
  let moto: MotoServer;
  let dir: string;
  let cssApi: MotoApi;
  let legacyApi: MotoApi;
  /** The environment of an operator with a profile per account and no other AWS settings. */
  let env: NodeJS.ProcessEnv;

  const status = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> => {
    try {
      const { stdout, stderr } = await execFileAsync(
        join(PROJECT_ROOT, "node_modules/.bin/tsx"),
        [join(PROJECT_ROOT, "scripts/status.ts"), ...args],
        { env: { ...env, ...extraEnv }, cwd: dir },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const withProfiles = (...args: string[]) =>
    status([...args, "--css-profile", "css", "--legacy-profile", "legacy"]);

  const putImage = async (api: MotoApi, repositoryName: string, tag: string, seed: string) => {
    const answer = await api.json("ecr", "PutImage", {
      repositoryName,
      imageTag: tag,
      imageManifest: manifest(seed),
      imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    return answer.image.imageId.imageDigest as string;
  };

  let pushedDigest: string;

  before(async () => {
    moto = await startMoto();
    dir = await mkdtemp(join(tmpdir(), "ecr-sync-status-"));
    const plain = moto.api();
    const cssCredentials = await plain.assumeRole(`arn:aws:iam::${CSS_ACCOUNT}:role/operator`, "status");
    const legacyCredentials = await plain.assumeRole(
      `arn:aws:iam::${LEGACY_ACCOUNT}:role/operator`,
      "status",
    );
    cssApi = plain.as(cssCredentials);
    legacyApi = plain.as(legacyCredentials);
    const profile = (name: string, c: typeof cssCredentials) =>
      `[${name}]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\naws_session_token = ${c.sessionToken}\n`;
    await writeFile(
      join(dir, "credentials"),
      profile("css", cssCredentials) + profile("legacy", legacyCredentials),
    );
    await writeFile(join(dir, "config"), "");
    env = {
      ...withoutAwsSettings(process.env),
      HOME: dir,
      NODE_NO_WARNINGS: "1",
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_CONFIG_FILE: join(dir, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
    };

    const map = JSON.parse(css["ecr-sync:repositories"]) as Record<string, string>;
    for (const [source, target] of Object.entries(map)) {
      await cssApi.json("ecr", "CreateRepository", { repositoryName: source });
      await legacyApi.json("ecr", "CreateRepository", { repositoryName: target });
    }
    // In sync: the same image on both sides.
    pushedDigest = await putImage(cssApi, "kuali-coeus", "1.2.3", "release-1.2.3");
    await putImage(legacyApi, "coeus", "1.2.3", "release-1.2.3");
    // Missing in legacy, with results: the newest for the tag is failed.
    await putImage(cssApi, "kuali-coeus", "2.0.0", "release-2.0.0");
    // Missing in legacy, no result at all.
    await putImage(cssApi, "kuali-coeus-feature", "3.0.0", "feature-3.0.0");

    const logGroupName = resultsLogGroupName("ecr-sync");
    await cssApi.json("logs", "CreateLogGroup", { logGroupName });
    await cssApi.json("logs", "CreateLogStream", { logGroupName, logStreamName: "i-0abc/run" });
    const line = (result: ImageLine["result"], tag: string, extra: Partial<ImageLine> = {}): ImageLine => ({
      result,
      source: `${CSS_REGISTRY}/kuali-coeus:${tag}`,
      target: `${LEGACY_REGISTRY}/coeus:${tag}`,
      ...extra,
    });
    const now = Date.now();
    const events = [
      line("failed", "2.0.0", { error: "an older failure that a later line replaces" }),
      line("failed", "2.0.0", {
        error: `target ${LEGACY_REGISTRY}: PutImage answered 403 (the target role may not push to coeus)`,
      }),
      // Other tags whose names start alike: never taken for 2.0.0's.
      line("copied", "2.0.0-rc1", { digest: pushedDigest }),
      line("copied", "12.0.0", { digest: pushedDigest }),
    ].map((l, i) => ({ timestamp: now - 60_000 + i * 1000, message: JSON.stringify(l) }));
    await cssApi.json("logs", "PutLogEvents", {
      logGroupName,
      logStreamName: "i-0abc/run",
      logEvents: events,
    });
  });

  after(async () => {
    await moto?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("says in sync, with the digest, when both tags hold the same image (exit 0)", async () => {
    const run = await withProfiles("kuali-coeus:1.2.3");
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include(
      `in sync: css kuali-coeus:1.2.3 and legacy coeus:1.2.3 both hold ${pushedDigest}.`,
    );
  });

  it("a tag missing in legacy shows the newest result for exactly that tag, a failure, and the runbook step (exit 1)", async () => {
    // Named by its legacy repository this time.
    const run = await withProfiles("coeus:2.0.0");
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.include("not in sync: legacy coeus:2.0.0 does not exist.");
    expect(run.stdout).to.match(
      /last result \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): failed: target .*: PutImage answered 403 \(the target role may not push to coeus\)/,
    );
    expect(run.stdout).to.not.include("an older failure").and.not.include("copied");
    expect(run.stdout)
      .to.include("docs/runbook.md#failed-command")
      .and.include("docs/runbook.md#backfill-now");
  });

  it("a tag missing in legacy without any result says no copy was tried, and where to look (exit 1)", async () => {
    const run = await withProfiles("kuali-coeus-feature:3.0.0");
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout)
      .to.include("not in sync: legacy coeus-feature:3.0.0 does not exist.")
      .and.include("no result for coeus-feature:3.0.0 in /ecr-sync/results in the last 30 days")
      .and.include("docs/runbook.md#dead-letters")
      .and.include("docs/runbook.md#backfill-now");
  });

  it("an unknown repository is a usage error naming the value and the map's names (exit 2)", async () => {
    const run = await withProfiles("research:1.0");
    expect(run.code).to.equal(2);
    expect(run.stdout).to.equal("");
    expect(run.stderr).to.include(
      `status: "research" (in IMAGE "research:1.0") is neither a source nor a target repository of Pulumi.css.yaml's map ` +
        "(kuali-coeus → coeus, kuali-coeus-feature → coeus-feature)",
    );
  });

  it("one credential chain for both accounts is refused, naming the profile to give (exit 3)", async () => {
    // The default chain is the css profile (AWS_PROFILE), so it acts in css, never in legacy.
    const run = await status(["kuali-coeus:1.2.3", "--css-profile", "css"], { AWS_PROFILE: "css" });
    expect(run.code).to.equal(3);
    expect(run.stderr).to.include(`status: the default credential chain acts in account`);
    expect(run.stderr).to.include(`not legacy's ${LEGACY_ACCOUNT}: pass --legacy-profile`);
  });

  it("--repositories lists what is missing in legacy with the command that creates it (exit 1), else exit 0", async () => {
    const present = await withProfiles("--repositories");
    expect(present.code, present.stderr).to.equal(0);
    expect(present.stdout).to.include("every mapped repository exists in both accounts.");

    await legacyApi.json("ecr", "DeleteRepository", { repositoryName: "coeus-feature", force: true });
    const missing = await withProfiles("--repositories");
    expect(missing.code, missing.stderr).to.equal(1);
    expect(missing.stdout)
      .to.include("kuali-coeus-feature → coeus-feature: css MUTABLE")
      .and.include("legacy MISSING")
      .and.include(
        `aws ecr create-repository --region ${REGION} --repository-name coeus-feature --image-tag-mutability MUTABLE --image-scanning-configuration scanOnPush=true`,
      );
    expect(missing.stdout).to.not.match(/kuali-coeus → coeus: .*MISSING/);
  });
});

/**
 * The documents as the worker runs them: the reconcile and copy documents, built by the same
 * functions the css stack uses (components/document-content.ts, compared with the rendered ones in
 * test/unit/stack-alerts.test.ts and stack-css.test.ts), executed as SSM Run Command executes them
 * (parameters substituted textually, the command run by sh) inside the worker's Debian 13 root
 * (local/worker-root.ts: its dash, coreutils, AWS CLI v2 and node). The real copier bundle is in
 * moto's S3 as the stack uploads it (copier/<sha256>.cjs); the document fetches it with the root's
 * `aws s3 cp`, checks its sha256, keeps it by hash and runs it against real registries.
 *
 * What differs from the worker, and why: the registries are the test's (plain HTTP, so
 * ECR_SYNC_TLS_VERIFY is switched to false), the root is read-only (so the cache folder line names a
 * folder of the test's instead of /var/lib/ecr-sync/copier), and the instance's credentials and
 * AWS endpoint come from the test's environment (AWS_ENDPOINT_URL: the recorder in front of moto,
 * which counts the S3 requests).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  FilterLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { copierObjectKey } from "../../components/arns";
import { CONFIG_DEFAULTS } from "../../components/config-keys";
import {
  buildReconcileDocument,
  buildSyncDocument,
  CommandDocument,
  COPIER_CACHE_DIR,
  CopierLocation,
  copierCacheLine,
} from "../../components/document-content";
import { bundleCopier, CopierBundle } from "../../ec2-scripts/bundle";
import { MOTO_CREDENTIALS } from "../../local/moto";
import { inWorkerRoot, workerEnvironment } from "../../local/worker-root";
import { EcrSyncWorld, startEcrSyncWorld } from "../../local/world";

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, unknown>>;
}

const BUCKET = "ecr-sync-copier-0a1b2c3";
const TLS_LINE = "export ECR_SYNC_TLS_VERIFY='true'";
/** The results log group the documents export; made in moto, so the copier's telemetry has somewhere to write. */
const RESULTS_LOG_GROUP = "/ecr-sync/results";

describe("the documents, run as SSM would in the worker's root: the copier fetched from S3 by its sha256", function () {
  this.timeout(180000);
  let world: EcrSyncWorld;
  let bundle: CopierBundle;
  let s3: S3Client;
  let logs: CloudWatchLogsClient;
  let copier: CopierLocation;
  const caches: string[] = [];

  before(async function () {
    this.timeout(120000);
    [world, bundle] = await Promise.all([startEcrSyncWorld(), bundleCopier()]);
    s3 = new S3Client({
      endpoint: world.moto.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    logs = new CloudWatchLogsClient({
      endpoint: world.moto.endpoint,
      region: "us-east-1",
      credentials: {
        accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
    await logs.send(new CreateLogGroupCommand({ logGroupName: RESULTS_LOG_GROUP }));
    await upload(bundle.sha256, bundle.code);
    copier = { bucket: BUCKET, sha256: bundle.sha256, region: "us-east-1" };
  });

  after(async () => {
    s3?.destroy();
    logs?.destroy();
    for (const dir of caches) fs.rmSync(dir, { recursive: true, force: true });
    await world?.stop();
  });

  /** Puts `code` where the documents look for the bundle of `sha256`, as the deploy does. */
  async function upload(sha256: string, code: string): Promise<void> {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: copierObjectKey(sha256),
        Body: code,
        ContentType: "application/javascript",
      }),
    );
  }

  /** What the copier's folder holds after a run: the kept copy and its V8 code cache (for the root's node 20). */
  const keptFiles = (listed: string[]) =>
    listed.map((name) => name.replace(/\.node-v20\.[0-9.]+-[a-z0-9]+\.v8cache$/, ".node-v20-ARCH.v8cache"));
  const kept = () => [`${bundle.sha256}.cjs`, `${bundle.sha256}.cjs.node-v20-ARCH.v8cache`];

  /** A fresh stand-in for /var/lib/ecr-sync/copier: the worker's disk right after a deploy. */
  function freshCache(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-copier-cache-"));
    caches.push(dir);
    return path.join(dir, "copier");
  }

  const reconcileDocument = (repositories: Record<string, string>, location = copier): CommandDocument =>
    buildReconcileDocument({
      copier: location,
      environment: {
        sourceRegistry: world.source.host,
        targetRegistry: world.target.host,
        targetRoleArn: world.targetRoleArn,
        region: "us-east-1",
        repositories,
        resultsLogGroup: RESULTS_LOG_GROUP,
        copyReferrers: true,
      },
      reconcileParallelism: CONFIG_DEFAULTS.reconcileParallelism,
    });

  /** The S3 requests the documents made since `mark` (the recorder in front of moto saw them). */
  const s3Requests = (mark: number) => world.awsCalls.since(mark).filter((call) => call.service === "s3");

  /**
   * Substitutes the parameters (declared defaults for the rest) and runs the command with the
   * root's sh, in the worker's root, with `cache` as the copier's folder.
   */
  function runAsSsmWould(
    document: CommandDocument,
    given: Record<string, string>,
    cache: string,
  ): Promise<CommandResult> {
    const parameters: Record<string, string> = {};
    for (const [name, declared] of Object.entries(document.parameters)) {
      const value = given[name] ?? declared.default;
      if (value === undefined || !new RegExp(declared.allowedPattern).test(value))
        throw new Error(`SSM would refuse ${name}=${value}`);
      parameters[name] = value;
    }
    const lines = document.mainSteps[0].inputs.runCommand;
    expect(lines, "the document pins TLS verification on").to.include(TLS_LINE);
    expect(lines, "the document keeps the copier in /var/lib").to.include(copierCacheLine(COPIER_CACHE_DIR));
    const command = lines
      .map((line) => {
        if (line === TLS_LINE) return "export ECR_SYNC_TLS_VERIFY='false'";
        if (line === copierCacheLine(COPIER_CACHE_DIR)) return copierCacheLine(cache);
        return line;
      })
      .join("\n")
      .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
    // The worker's environment: credentials and endpoint, but no ECR_SYNC_* other than the state
    // directory; everything the copier is configured with comes from the document.
    const env = workerEnvironment(
      Object.fromEntries(
        Object.entries(world.env()).filter(([k]) => !k.startsWith("ECR_SYNC_") || k === "ECR_SYNC_STATE_DIR"),
      ),
    );
    const [bwrap, ...args] = inWorkerRoot(["sh", "-c", command]);
    return new Promise((resolve, reject) => {
      const child = spawn(bwrap, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.once("error", reject);
      child.once("close", (code) => {
        const parsed = stdout
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code: code ?? -1, stdout, stderr, lines: parsed });
      });
    });
  }

  const sha256Of = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

  it("downloads the copier on the first run, keeps it by hash, and runs the kept copy afterwards without a download", async () => {
    const source = "kuali-coeus-reconcile";
    const target = "coeus-reconcile";
    await world.createTargetRepository(target);
    const present = await world.layout.addImage({ layers: [{ size: 64 * 1024 }], label: "present" });
    const missing = await world.layout.addImage({ layers: [{ size: 64 * 1024 }], label: "missing" });
    await world.pushToSource(present, source, "2401.0001");
    await world.pushToSource(missing, source, "2401.0002");
    await world.pushToTarget(present, target, "2401.0001");
    const document = reconcileDocument({ [source]: target });
    const cache = freshCache();

    let mark = world.awsCalls.mark();
    const plan = await runAsSsmWould(document, { dryRun: "true" }, cache);
    expect(plan.code, plan.stderr).to.equal(0);
    expect(
      s3Requests(mark).map((call) => `${call.operation.split(" ")[0]} ${call.status}`),
      "the first run fetched the bundle (the CLI's HeadObject, then its GetObject)",
    ).to.include("GET 200");
    // The kept copy, and the V8 code cache its first run left beside it (ec2-scripts/copier/start.ts).
    expect(keptFiles(fs.readdirSync(cache).sort())).to.deep.equal(kept());
    expect(sha256Of(path.join(cache, `${bundle.sha256}.cjs`))).to.equal(bundle.sha256);
    const images = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.result !== "reconcile");
    expect(plan.lines.at(-1)).to.include({ result: "reconcile", unchanged: 1, planned: 1 });
    expect(images(plan.lines).map((l) => `${String(l.result)} ${String(l.digest)}`)).to.deep.equal([
      `unchanged ${present.digest}`,
      `planned ${missing.digest}`,
    ]);
    expect(await world.target.tags(target)).to.deep.equal(["2401.0001"]);

    mark = world.awsCalls.mark();
    const reconcile = await runAsSsmWould(document, { dryRun: "false" }, cache);
    expect(reconcile.code, reconcile.stderr).to.equal(0);
    expect(s3Requests(mark), "the second run used the kept copy").to.deep.equal([]);
    expect(reconcile.lines.at(-1)).to.include({ result: "reconcile", unchanged: 1, copied: 1 });
    expect(await world.target.digestOf(target, "2401.0002")).to.equal(missing.digest);
    // The document's ECR_SYNC_RESULTS_LOG_GROUP reached the copier: its result lines are in the group.
    const { events = [] } = await logs.send(new FilterLogEventsCommand({ logGroupName: RESULTS_LOG_GROUP }));
    const written = events.map((e) => JSON.parse(String(e.message)) as Record<string, unknown>);
    expect(written.filter((l) => l.result === "copied").map((l) => l.digest)).to.include(missing.digest);
  });

  it("refuses a bundle in S3 that is not the one the document names: nothing runs, nothing is kept", async () => {
    const source = "kuali-coeus-tampered";
    const target = "coeus-tampered";
    await world.createTargetRepository(target);
    const image = await world.layout.addImage({ layers: [{ size: 16 * 1024 }], label: "tampered" });
    await world.pushToSource(image, source, "v1");
    // Another bundle under the key of a copier version: what a person with s3:PutObject could do.
    const sha256 = createHash("sha256").update("a copier version that was never uploaded").digest("hex");
    const tampered = `${bundle.code}\n// changed after the deploy\n`;
    await upload(sha256, tampered);
    const cache = freshCache();
    const result = await runAsSsmWould(
      reconcileDocument({ [source]: target }, { ...copier, sha256 }),
      {},
      cache,
    );
    expect(result.code).to.equal(1);
    expect(result.stdout, "the copier did not run: no result line").to.equal("");
    const actual = createHash("sha256").update(tampered).digest("hex");
    expect(result.stderr).to.include(
      `s3://${BUCKET}/copier/${sha256}.cjs has sha256 ${actual}, not the ${sha256} this document names`,
    );
    expect(fs.readdirSync(cache), "no copy kept, no download left behind").to.deep.equal([]);
    expect(await world.target.tags(target)).to.deep.equal([]);
  });

  it("two copies that start together after a deploy both run, and leave one good kept copy", async () => {
    const source = "kuali-coeus-together";
    const target = "coeus-together";
    await world.createTargetRepository(target);
    world.mapRepository(source, target);
    const first = await world.layout.addImage({ layers: [{ size: 32 * 1024 }], label: "together-1" });
    const second = await world.layout.addImage({ layers: [{ size: 32 * 1024 }], label: "together-2" });
    await world.pushToSource(first, source, "a");
    await world.pushToSource(second, source, "b");
    const document = buildSyncDocument({
      copier,
      environment: {
        sourceRegistry: world.source.host,
        targetRegistry: world.target.host,
        targetRoleArn: world.targetRoleArn,
        region: "us-east-1",
        repositories: { [source]: target },
        resultsLogGroup: RESULTS_LOG_GROUP,
        copyReferrers: true,
      },
    });
    const cache = freshCache();
    const mark = world.awsCalls.mark();
    const copy = (tag: string, digest: string) =>
      runAsSsmWould(document, { sourceRepository: source, targetRepository: target, tag, digest }, cache);
    const results = await Promise.all([copy("a", first.digest), copy("b", second.digest)]);
    for (const result of results) expect(result.code, result.stderr).to.equal(0);
    expect(results.map((r) => r.lines.map((l) => l.result))).to.deep.equal([["copied"], ["copied"]]);
    expect(
      s3Requests(mark).filter((call) => call.operation.startsWith("GET ")),
      "each found no kept copy and downloaded its own",
    ).to.have.length(2);
    expect(
      keptFiles(fs.readdirSync(cache).sort()),
      "one kept copy and its code cache, no download left behind",
    ).to.deep.equal(kept());
    expect(sha256Of(path.join(cache, `${bundle.sha256}.cjs`))).to.equal(bundle.sha256);
    expect(await world.target.digestOf(target, "a")).to.equal(first.digest);
    expect(await world.target.digestOf(target, "b")).to.equal(second.digest);
  });

  it("ends the command non-zero (Failed, which the alert rule reports) when a mapped target repository is missing", async () => {
    const source = "kuali-coeus-orphan";
    const image = await world.layout.addImage({ layers: [{ size: 16 * 1024 }], label: "orphan" });
    await world.pushToSource(image, source, "v1");
    const result = await runAsSsmWould(
      reconcileDocument({ [source]: "coeus-does-not-exist" }),
      {},
      freshCache(),
    );
    expect(result.code).to.equal(5); // every failure was a missing repository: exit 5, not found
    expect(result.lines.map((l) => l.result)).to.deep.equal(["failed", "reconcile"]);
    expect(result.lines[1]).to.include({ result: "reconcile", failed: 1 });
    expect(String(result.lines[0].error)).to.include("coeus-does-not-exist");
  });
});

import { expect } from "chai";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  callNames,
  copyArgs,
  EcrSyncWorld,
  ecrPassword,
  listDir,
  recordingPath,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";
import { freePort } from "../../local/ports";
import { requireTools } from "../../local/registry";
import { nextLink } from "../../ec2-scripts/copier/registry";
import { BuiltImage, BuiltIndex, ImageSpec, layerBytes } from "../../local/oci";
import { reconcileSummary } from "../support/copier";

/**
 * The copier (ec2-scripts/copier, its bundle run with the worker root's node) against real servers: two docker-registry instances (the target one
 * accepts only the target account's ECR password, so every successful write proves the
 * assumed role was used), moto_server for STS and ECR, skopeo doing the copies.
 */
describe("ecr-sync (the copier)", function () {
  this.timeout(60000);
  let world: EcrSyncWorld;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;
  /** A state directory not made yet, as the first run on a new instance meets it. */
  const coldStateDir = () => join(world.scriptTmpDir, "..", unique("state"));

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
  });

  after(async () => {
    await world?.stop();
  });

  const smallImage = (label?: string): ImageSpec => ({
    layers: [{ size: 96 * 1024 }, { size: 8 * 1024 }],
    label,
  });

  async function sourceImage(
    repository: string,
    tag: string,
    spec: ImageSpec = smallImage(),
  ): Promise<BuiltImage> {
    const image = await world.layout.addImage(spec);
    await world.pushToSource(image, repository, tag);
    return image;
  }

  /** A source repository with one image and an existing (empty) target repository. */
  async function pair(mutability: "MUTABLE" | "IMMUTABLE" = "MUTABLE") {
    const source = unique("kuali-coeus");
    const target = unique("coeus");
    world.mapRepository(source, target);
    await world.createTargetRepository(target, mutability);
    return { source, target };
  }

  it("fails, naming the tool, when a tool the tests need is missing (never skips)", async () => {
    let failure: unknown;
    await requireTools("skopeo", "no-such-tool-ecr-sync").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.include("required tools not found on PATH: no-such-tool-ecr-sync (");
  });

  describe("copy", () => {
    it("copies a single-platform image with its digest, then reports unchanged without moving a layer byte", async () => {
      const { source, target } = await pair();
      const image = await sourceImage(source, "v1");

      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const first = await world.run(copyArgs(source, target, "v1"));
      expect(first.code, first.stderr).to.equal(0);
      expect(first.lines.map(({ copy_s, ...line }) => [line, typeof copy_s])).to.deep.equal([
        [
          {
            result: "copied",
            source: `${world.source.host}/${source}:v1`,
            target: `${world.target.host}/${target}:v1`,
            digest: image.digest,
          },
          "number",
        ],
      ]);
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
      expect((await world.source.blobTraffic(sourceMark)).blobDownloadBytes).to.be.at.least(
        layerBytes(image),
      );
      expect((await world.target.blobTraffic(targetMark)).blobUploadBytes).to.be.at.least(layerBytes(image));

      const sourceMark2 = await world.source.mark();
      const targetMark2 = await world.target.mark();
      const second = await world.run(copyArgs(source, target, "v1"));
      expect(second.code, second.stderr).to.equal(0);
      expect(second.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["unchanged", image.digest],
      ]);
      const pulled = await world.source.blobTraffic(sourceMark2);
      const pushed = await world.target.blobTraffic(targetMark2);
      expect([
        pulled.blobDownloads,
        pulled.blobDownloadBytes,
        pushed.blobUploads,
        pushed.blobUploadBytes,
      ]).to.deep.equal([0, 0, 0, 0]);
    });

    it("copies a multi-arch index with every platform, the index digest unchanged", async () => {
      const { source, target } = await pair();
      const index: BuiltIndex = await world.layout.addMultiArch(
        [
          { os: "linux", architecture: "amd64" },
          { os: "linux", architecture: "arm64", variant: "v8" },
          { os: "linux", architecture: "arm", variant: "v7" },
        ],
        [{ size: 64 * 1024 }, { size: 4 * 1024 }],
      );
      await world.pushToSource(index, source, "multi");

      const result = await world.run(copyArgs(source, target, "multi"));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", index.digest],
      ]);
      expect(await world.target.digestOf(target, "multi")).to.equal(index.digest);
      for (const image of index.images) {
        expect(
          await world.target.digestOf(target, image.digest),
          `${image.platform.architecture} manifest`,
        ).to.equal(image.digest);
        for (const layer of image.layers) {
          const stored = await readFile(
            join(
              world.target.storageDir,
              "docker/registry/v2/blobs/sha256",
              layer.digest.slice(7, 9),
              layer.digest.slice(7),
              "data",
            ),
          );
          expect(stored.length).to.equal(layer.size);
        }
      }
    });

    it("does not send again the layers the target repository already has", async () => {
      const { source, target } = await pair();
      const shared = { size: 512 * 1024, seed: unique("shared-base") };
      const first = await sourceImage(source, "a", { layers: [shared, { size: 4 * 1024 }] });
      const second = await sourceImage(source, "b", { layers: [shared, { size: 4 * 1024 }] });
      expect(second.layers[0].digest).to.equal(first.layers[0].digest);

      expect((await world.run(copyArgs(source, target, "a"))).code).to.equal(0);
      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const result = await world.run(copyArgs(source, target, "b"));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines[0].result).to.equal("copied");
      const pushed = await world.target.blobTraffic(targetMark);
      const pulled = await world.source.blobTraffic(sourceMark);
      // Only the new small layer and the config travel; the 512 KiB base layer stays put.
      expect(pushed.blobUploads).to.equal(2);
      expect(pushed.blobUploadBytes).to.be.below(shared.size);
      expect(pulled.blobDownloadBytes).to.be.below(shared.size);
    });

    it("copies what the source tag names now, not the older digest of a late push event (superseded)", async () => {
      const { source, target } = await pair();
      const pushed = await sourceImage(source, "release");
      const moved = await sourceImage(source, "release");
      expect(await world.source.digestOf(source, "release")).to.equal(moved.digest);

      const result = await world.run(copyArgs(source, target, "release", pushed.digest));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest, line.event_digest])).to.deep.equal([
        ["superseded", moved.digest, pushed.digest],
      ]);
      expect(await world.target.digestOf(target, "release")).to.equal(moved.digest);
    });

    it("reports a stale push event as superseded instead of rolling the target tag back", async () => {
      const { source, target } = await pair();
      const older = await sourceImage(source, "release");
      const newer = await sourceImage(source, "release");
      const first = await world.run(copyArgs(source, target, "release", newer.digest));
      expect(
        first.lines.map((line) => line.result),
        first.stderr,
      ).to.deep.equal(["copied"]);
      const mark = await world.target.mark();

      const stale = await world.run(copyArgs(source, target, "release", older.digest));
      expect(stale.code, stale.stderr).to.equal(0);
      expect(stale.lines.map((line) => [line.result, line.digest, line.event_digest])).to.deep.equal([
        ["superseded", newer.digest, older.digest],
      ]);
      expect(stale.stderr).to.include(`not rolling it back to ${older.digest}`);
      expect(await world.target.digestOf(target, "release")).to.equal(newer.digest);
      expect((await world.target.blobTraffic(mark)).blobUploads).to.equal(0);
    });

    it("reports the push-to-verified latency and the copy's own time as JSON numbers with --pushed-at", async () => {
      const { source, target } = await pair();
      const image = await sourceImage(source, "v1");
      const pushedAt = new Date(Date.now() - 5000);
      const before = Date.now();
      const result = await world.run([
        ...copyArgs(source, target, "v1", image.digest),
        "--pushed-at",
        pushedAt.toISOString(),
      ]);
      const after = Date.now();
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines).to.have.length(1);
      const line = result.lines[0] as Record<string, unknown>;
      expect(line).to.include({ result: "copied", digest: image.digest, pushed_at: pushedAt.toISOString() });
      expect(result.stdout).to.match(/"latency_s":-?[0-9]+(\.[0-9]{1,2})?[,}]/);
      expect(result.stdout).to.match(/"copy_s":[0-9]+(\.[0-9]{1,2})?[,}]/);
      const latency = line.latency_s as number;
      const copy = line.copy_s as number;
      // The copy verified between the copier's start and its end, both measured from the push.
      expect(latency).to.be.within(
        (before - pushedAt.getTime()) / 1000 - 0.01,
        (after - pushedAt.getTime()) / 1000 + 0.01,
      );
      expect(copy).to.be.within(0, (after - before) / 1000 + 0.01);
      expect(copy).to.be.below(latency);

      // An unchanged second copy of the same push measures from the same push time.
      const again = await world.run([
        ...copyArgs(source, target, "v1"),
        "--pushed-at",
        "2026-06-01T12:00:03Z",
      ]);
      expect(again.code, again.stderr).to.equal(0);
      const second = again.lines[0] as Record<string, unknown>;
      expect(second).to.include({ result: "unchanged", pushed_at: "2026-06-01T12:00:03Z" });
      const expected = (Date.now() - Date.parse("2026-06-01T12:00:03Z")) / 1000;
      expect(second.latency_s).to.be.a("number").and.to.be.closeTo(expected, 5);
      expect(second.copy_s).to.be.a("number");

      // Without --pushed-at there is no push to measure from: only the copy's own time.
      const plain = await world.run(copyArgs(source, target, "v1"));
      expect(Object.keys(plain.lines[0]).sort()).to.deep.equal([
        "copy_s",
        "digest",
        "result",
        "source",
        "target",
      ]);
    });

    it("keeps passwords off every command line and output, and leaves no auth file behind", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      const log = join(world.scriptTmpDir, "..", unique("argv.log"));
      const path = await recordingPath(join(world.scriptTmpDir, "..", unique("bin")), log);

      // A fresh state directory: every password is fetched and written during this run.
      const calls = world.awsCalls.mark();
      const result = await world.run(copyArgs(source, target, "v1"), {
        PATH: path,
        ECR_SYNC_STATE_DIR: coldStateDir(),
      });
      expect(result.code, result.stderr).to.equal(0);
      const commandLines = await readFile(log, "utf8");
      expect(commandLines).to.match(/^skopeo copy --command-timeout [0-9]+s /m);
      expect(callNames(world.awsCalls.since(calls))).to.include.members([
        "sts AssumeRole",
        "ecr GetAuthorizationToken",
      ]);
      const secrets = [SOURCE_ACCOUNT, TARGET_ACCOUNT].flatMap((account) => [
        ecrPassword(account),
        Buffer.from(`AWS:${ecrPassword(account)}`).toString("base64"),
      ]);
      for (const secret of secrets) {
        expect(commandLines, "command lines").not.to.include(secret);
        expect(result.stdout + result.stderr, "output").not.to.include(secret);
      }
      expect(await listDir(world.scriptTmpDir)).to.deep.equal([]);
    });
  });

  describe("copy with bad input changes nothing in the target", () => {
    /** Runs the copier and checks the exit code, the error text and that the target repository is untouched. */
    async function expectRefused(
      args: string[],
      code: number,
      text: string | RegExp,
      targetRepository?: string,
      overrides?: Record<string, string>,
    ) {
      const tagsBefore = targetRepository ? await world.target.tags(targetRepository) : [];
      const mark = await world.target.mark();
      const result = await world.run(args, overrides);
      expect(result.code, result.stderr).to.equal(code);
      if (typeof text === "string") expect(result.stderr).to.include(text);
      else expect(result.stderr).to.match(text);
      const writes = (await world.target.accessLog())
        .slice(mark)
        .filter((entry) => ["PUT", "POST", "PATCH", "DELETE"].includes(entry.method));
      expect(writes, "write requests to the target registry").to.deep.equal([]);
      if (targetRepository) expect(await world.target.tags(targetRepository)).to.deep.equal(tagsBefore);
      return result;
    }

    it("rejects an unknown flag with usage and exit 2, and prints usage with exit 0 on --help", async () => {
      const result = await expectRefused(
        [...copyArgs("kuali-coeus", "coeus", "v1"), "--force"],
        2,
        "copy: unknown argument '--force'",
      );
      expect(result.stderr).to.include("Usage:");
      // The synopsis and where the rest is, not all of --help.
      expect(result.stderr).to.include("Run 'ecr-sync --help'").and.not.include("Exit codes:");
      const help = await world.run(["--help"]);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include("reconcile [--dry-run]");
    });

    it("rejects a missing flag or a flag without value with exit 2", async () => {
      await expectRefused(
        ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus"],
        2,
        "--tag is required",
      );
      await expectRefused(
        ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus", "--tag"],
        2,
        "--tag needs a value",
      );
      await expectRefused(["publish"], 2, "unknown command 'publish'");
      await expectRefused([], 2, "a command is required");
    });

    it("rejects names, tags and digests ECR would reject, naming the value", async () => {
      await expectRefused(
        copyArgs("Kuali_Coeus", "coeus", "v1"),
        2,
        "--source-repository 'Kuali_Coeus' is not a valid ECR repository name",
      );
      await expectRefused(
        copyArgs("kuali-coeus", "coeus/", "v1"),
        2,
        "--target-repository 'coeus/' is not a valid ECR repository name",
      );
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", ".hidden"),
        2,
        "--tag '.hidden' is not a valid image tag",
      );
      await expectRefused(copyArgs("kuali-coeus", "coeus", "t".repeat(129)), 2, "is not a valid image tag");
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", "v1", "sha256:ABC"),
        2,
        "--digest 'sha256:ABC' is not sha256:",
      );
    });

    it("rejects a --pushed-at that is not an ISO-8601 UTC time with exit 2, naming the value", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      for (const value of [
        "2026-06-01T12:00:03+02:00",
        "2026-06-01 12:00:03Z",
        "1780315203",
        "2026-02-30T12:00:03Z",
      ]) {
        const result = await expectRefused(
          [...copyArgs(source, target, "v1"), "--pushed-at", value],
          2,
          `--pushed-at '${value}' is not an ISO-8601 UTC time`,
          target,
        );
        expect(result.lines).to.deep.equal([]);
      }
      await expectRefused(
        [...copyArgs(source, target, "v1"), "--pushed-at"],
        2,
        "--pushed-at needs a value",
        target,
      );
    });

    it("names a missing or invalid ECR_SYNC_* variable and exits 3", async () => {
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", "v1"),
        3,
        "ECR_SYNC_TARGET_ROLE_ARN is not set",
        undefined,
        { ECR_SYNC_TARGET_ROLE_ARN: "" },
      );
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", "v1"),
        3,
        "ECR_SYNC_TLS_VERIFY='no' must be true or false",
        undefined,
        { ECR_SYNC_TLS_VERIFY: "no" },
      );
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", "v1"),
        3,
        "ECR_SYNC_SOURCE_REGISTRY='https://x' is not host[:port]",
        undefined,
        { ECR_SYNC_SOURCE_REGISTRY: "https://x" },
      );
      await expectRefused(
        copyArgs("kuali-coeus", "coeus", "v1"),
        3,
        "state directory /proc/ecr-sync cannot be created (ECR_SYNC_STATE_DIR=/proc/ecr-sync): set ECR_SYNC_STATE_DIR",
        undefined,
        {
          ECR_SYNC_STATE_DIR: "/proc/ecr-sync",
          ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ "kuali-coeus": "coeus" }),
        },
      );
    });

    it("fails with exit 5 when the source tag does not exist", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      const result = await expectRefused(
        copyArgs(source, target, "v404"),
        5,
        `source image ${world.source.host}/${source}:v404 does not exist`,
        target,
      );
      expect(result.lines).to.have.length(1);
      expect(result.lines[0]).to.include({ result: "failed", target: `${world.target.host}/${target}:v404` });
      expect(result.lines[0].error).to.include("does not exist");
    });

    it("treats a --digest the source tag does not name (even one the source lacks) as stale: never writes it", async () => {
      const { source, target } = await pair();
      const image = await sourceImage(source, "v1");
      const missing = `sha256:${"0".repeat(64)}`;
      const result = await world.run(copyArgs(source, target, "v1", missing));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines[0]).to.include({
        result: "superseded",
        digest: image.digest,
        event_digest: missing,
      });
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
    });

    it("fails with exit 5 when the target repository does not exist in the target account's ECR, creating nothing", async () => {
      const source = unique("kuali-coeus");
      const target = unique("coeus-missing");
      world.mapRepository(source, target);
      const image = await sourceImage(source, "v1");
      const result = await expectRefused(
        copyArgs(source, target, "v1"),
        5,
        `target repository '${target}' does not exist in the target account's ECR`,
        target,
      );
      expect(result.lines[0]).to.include({ result: "failed", digest: image.digest });
      // A plain registry would have created the repository on push: it must not exist.
      expect(await world.target.tags(target)).to.deep.equal([]);
      expect(
        (await world.target.accessLog()).some((entry) =>
          entry.path.startsWith(`/v2/${target}/blobs/uploads`),
        ),
      ).to.equal(false);
    });

    it("fails with exit 4 naming the target side when the role belongs to another account", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      const result = await expectRefused(
        copyArgs(source, target, "v1"),
        4,
        `target side: registry ${world.target.host} rejected the ECR password (HTTP 401)`,
        target,
        {
          ECR_SYNC_TARGET_ROLE_ARN: `arn:aws:iam::${SOURCE_ACCOUNT}:role/ecr-sync-target`,
        },
      );
      expect(result.lines[0]).to.include({ result: "failed" });
      expect(result.stderr).not.to.include("source side");
    });

    it("fails with exit 4 naming the source side when the source registry refuses the worker's password", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      // The worker's own password (account 123456789012) is not valid for the target registry.
      await expectRefused(
        copyArgs(source, target, "v1"),
        4,
        `source side: registry ${world.target.host} rejected the ECR password (HTTP 401)`,
        target,
        {
          ECR_SYNC_SOURCE_REGISTRY: world.target.host,
        },
      );
    });

    it("fails with exit 7 naming STS as unavailable when it does not answer the assume-role", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      const closedPort = await freePort();
      const result = await expectRefused(
        copyArgs(source, target, "v1"),
        7,
        "target side: STS is unavailable (sts:AssumeRole --role-arn",
        target,
        {
          ECR_SYNC_STATE_DIR: coldStateDir(),
          AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closedPort}`,
          AWS_MAX_ATTEMPTS: "1",
        },
      );
      expect(result.lines[0]).to.include({ result: "failed" });
      expect(result.lines[0].error).to.include(`--role-arn ${world.targetRoleArn}`);
    });

    it("refuses with exit 6 to move an immutable tag that holds another digest, and calls the same digest unchanged", async () => {
      const { source, target } = await pair("IMMUTABLE");
      const existing = await world.layout.addImage(smallImage());
      await world.pushToTarget(existing, target, "v1");
      await world.pushToSource(existing, source, "v1-rebuilt-from-same");
      const other = await sourceImage(source, "v1");

      const refused = await expectRefused(
        copyArgs(source, target, "v1"),
        6,
        "is immutable and already holds",
        target,
      );
      expect(refused.lines[0]).to.include({ result: "failed", digest: other.digest });
      expect(refused.lines[0].error).to.include(existing.digest);
      expect(await world.target.digestOf(target, "v1")).to.equal(existing.digest);

      // The source tag names what the immutable target tag holds: nothing to move.
      await world.pushToSource(existing, source, "v1");
      const same = await world.run(copyArgs(source, target, "v1", existing.digest));
      expect(same.code, same.stderr).to.equal(0);
      expect(same.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["unchanged", existing.digest],
      ]);
    });
  });

  describe("copy, concurrently", () => {
    it("lets two copies of one image to one tag take turns: one copies, the other finds it unchanged", async () => {
      const { source, target } = await pair();
      const image = await sourceImage(source, "v1");
      const results = await Promise.all([
        world.run(copyArgs(source, target, "v1")),
        world.run(copyArgs(source, target, "v1")),
      ]);
      for (const result of results) expect(result.code, result.stderr).to.equal(0);
      expect(results.map((result) => result.lines[0].result).sort()).to.deep.equal(["copied", "unchanged"]);
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
    });

    it("serializes the events of two pushes to one tag: the target ends at the newer, the older event superseded", async () => {
      const { source, target } = await pair();
      const first = await sourceImage(source, "latest");
      const second = await sourceImage(source, "latest");
      const [older, newer] = await Promise.all([
        world.run(copyArgs(source, target, "latest", first.digest)),
        world.run(copyArgs(source, target, "latest", second.digest)),
      ]);
      for (const result of [older, newer]) expect(result.code, result.stderr).to.equal(0);
      // Whichever ran first copied the newer image; the other found it there.
      expect(older.lines[0]).to.include({
        result: "superseded",
        digest: second.digest,
        event_digest: first.digest,
      });
      expect(["copied", "unchanged"]).to.include(newer.lines[0].result);
      expect(newer.lines[0].digest).to.equal(second.digest);
      expect(await world.target.digestOf(target, "latest")).to.equal(second.digest);
      expect(await listDir(world.lockDir)).to.include(`${target}:latest.lock`);
    });
  });

  describe("reconcile", () => {
    const mapOf = (map: Record<string, string>) => ({ ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map) });
    /** The reconcile's last line, the summary, without its duration (checked to be a number). */
    const summaryOf = (lines: Array<Record<string, unknown>>) => {
      const { duration_s, ...counts } = lines[lines.length - 1];
      expect(duration_s).to.be.a("number").and.to.be.at.least(0);
      const { duration_s: _, ...zero } = reconcileSummary();
      return (given: Record<string, number | boolean>) => expect(counts).to.deep.equal({ ...zero, ...given });
    };
    const images = (lines: Array<Record<string, string>>) =>
      lines.filter((line) => line.result !== "reconcile");

    it("copies every missing or different tag of every mapping; a second run copies nothing", async () => {
      const a = await pair();
      const b = await pair();
      const v1 = await sourceImage(a.source, "v1");
      const v2 = await sourceImage(a.source, "v2");
      const index = await world.layout.addMultiArch(
        [
          { os: "linux", architecture: "amd64" },
          { os: "linux", architecture: "arm64", variant: "v8" },
        ],
        [{ size: 32 * 1024 }],
      );
      await world.pushToSource(index, a.source, "v3");
      const t1 = await sourceImage(b.source, "t1");
      const stale = await world.layout.addImage(smallImage());
      await world.pushToTarget(stale, a.target, "v2");
      await world.pushToTarget(stale, a.target, "target-only");
      const env = mapOf({ [a.source]: a.target, [b.source]: b.target });

      const first = await world.run(["reconcile"], env);
      expect(first.code, first.stderr).to.equal(0);
      const summary = (lines: Array<Record<string, string>>) =>
        lines.map((line) => `${line.result} ${line.target.split("/").pop()} ${line.digest}`).sort();
      summaryOf(first.lines)({ copied: 4 });
      expect(first.lines.filter((line) => line.result === "reconcile")).to.have.length(1);
      for (const line of images(first.lines)) expect(line.copy_s).to.be.a("number");
      expect(summary(images(first.lines))).to.deep.equal(
        [
          `copied ${a.target}:v1 ${v1.digest}`,
          `copied ${a.target}:v2 ${v2.digest}`,
          `copied ${a.target}:v3 ${index.digest}`,
          `copied ${b.target}:t1 ${t1.digest}`,
        ].sort(),
      );
      expect(await world.target.digestOf(a.target, "v2")).to.equal(v2.digest);
      expect(await world.target.digestOf(a.target, "v3")).to.equal(index.digest);
      expect(await world.target.digestOf(a.target, "target-only")).to.equal(stale.digest);

      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const second = await world.run(["reconcile"], env);
      expect(second.code, second.stderr).to.equal(0);
      expect(second.lines.map((line) => line.result)).to.deep.equal([
        "unchanged",
        "unchanged",
        "unchanged",
        "unchanged",
        "reconcile",
      ]);
      summaryOf(second.lines)({ unchanged: 4 });
      expect((await world.source.blobTraffic(sourceMark)).blobDownloads).to.equal(0);
      expect((await world.target.blobTraffic(targetMark)).blobUploads).to.equal(0);
    });

    /**
     * A dry-run reconcile of source → target whose source registry is a proxy in front of the
     * real one that rewrites each tag-list answer with `page` (the request's URL and the real
     * registry's whole list → the page's tags and its Link header, if any); every other request
     * passes unchanged. Returns the run and the tag-list URLs the proxy saw.
     */
    async function dryRunWithTagPages(
      page: (url: URL, tags: string[]) => { tags: string[]; link?: string },
      source: string,
      target: string,
    ) {
      const seen: string[] = [];
      const proxy = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", `http://${request.headers.host}`);
        const isList = /\/tags\/list$/.test(url.pathname);
        if (isList) seen.push(`${url.pathname}${url.search}`);
        const upstream = http.request(
          {
            host: "127.0.0.1",
            port: Number(world.source.host.split(":")[1]),
            method: request.method,
            path: isList ? url.pathname : request.url,
            headers: request.headers,
          },
          (answer) => {
            if (!isList || answer.statusCode !== 200) {
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(response);
              return;
            }
            const chunks: Buffer[] = [];
            answer.on("data", (chunk: Buffer) => chunks.push(chunk));
            answer.on("end", () => {
              const whole = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; tags: string[] };
              const { tags, link } = page(url, whole.tags.sort());
              const body = JSON.stringify({ name: whole.name, tags });
              response.writeHead(200, {
                "Content-Type": "application/json",
                "Content-Length": String(Buffer.byteLength(body)),
                ...(link ? { Link: link } : {}),
              });
              response.end(body);
            });
          },
        );
        upstream.once("error", () => request.socket.destroy());
        request.pipe(upstream);
      });
      await new Promise<void>((resolvePromise) => proxy.listen(0, "127.0.0.1", () => resolvePromise()));
      try {
        const result = await world.run(["reconcile", "--dry-run"], {
          ...mapOf({ [source]: target }),
          ECR_SYNC_SOURCE_REGISTRY: `127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        });
        return { result, pages: seen };
      } finally {
        proxy.closeAllConnections();
        await new Promise<void>((resolvePromise) => proxy.close(() => resolvePromise()));
      }
    }

    it("reads a tag list page by page, following the registry's Link header", async () => {
      const { source, target } = await pair();
      const pushed = await Promise.all(["p1", "p2", "p3", "p4", "p5"].map((tag) => sourceImage(source, tag)));
      // docker-registry 2.8 ignores `n` and `last` on a tag list (distribution paginates tags from
      // 3.0). The proxy pages its answer as the OCI distribution spec says ECR does ("Listing
      // Tags": at most n, then a Link header to the next page, `last` the page's last tag): it
      // cuts the real registry's whole list into pages of 2.
      const { result, pages } = await dryRunWithTagPages(
        (url, tags) => {
          const last = url.searchParams.get("last") ?? "";
          const rest = tags.filter((tag) => last === "" || tag > last);
          const page = rest.slice(0, 2);
          return {
            tags: page,
            link: rest.length > 2 ? `<${url.pathname}?last=${page[1]}&n=2>; rel="next"` : undefined,
          };
        },
        source,
        target,
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(images(result.lines).map((line) => `${line.result} ${line.digest}`)).to.deep.equal(
        pushed.map((image) => `planned ${image.digest}`),
      );
      expect(pages, "three pages of at most 2 tags").to.have.length(3);
      expect(pages[1]).to.match(new RegExp(`^/v2/${source}/tags/list\\?(last=p2&n=2|n=2&last=p2)$`));
    });

    it("finds the next page in any Link header form RFC 8288 allows, and none where there is none", async () => {
      const cases: Array<[string, string]> = [
        ['Link: </v2/a/tags/list?last=x&n=2>; rel="next"', "/v2/a/tags/list?last=x&n=2"],
        [
          'link: </v2/a/tags/list?n=2>; rel="prev", </v2/a/tags/list?last=y&n=2>; rel=next',
          "/v2/a/tags/list?last=y&n=2",
        ],
        [
          'Link: <http://r/v2/a/tags/list?last=z>; title="more"; rel="next last"',
          "http://r/v2/a/tags/list?last=z",
        ],
        ['Link: </v2/a/tags/list?n=2>; rel="prev"', ""],
        ["Content-Type: application/json", ""],
      ];
      for (const [header, expected] of cases) {
        const colon = header.indexOf(":");
        const headers = new Headers([[header.slice(0, colon), header.slice(colon + 1).trim()]]);
        expect(nextLink(headers.get("link")) ?? "", header).to.equal(expected);
      }
    });

    it("refuses a next page of the tag list on another host, where the password would follow (exit 1)", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      // The proxy adds a Link header to another host to the tag list's answer.
      const { result } = await dryRunWithTagPages(
        (url, tags) => ({
          tags,
          link: `<http://elsewhere.invalid/v2/${source}/tags/list?last=v1&n=1000>; rel="next"`,
        }),
        source,
        target,
      );
      expect(result.code, result.stderr).to.equal(1);
      expect(result.stderr).to.include("named a next page of");
      expect(result.stderr).to.include("elsewhere.invalid");
      expect(result.stderr).to.include(": not followed");
    });

    it("prints the plan with --dry-run and writes nothing", async () => {
      const { source, target } = await pair();
      const synced = await sourceImage(source, "synced");
      await world.pushToTarget(synced, target, "synced");
      const missing = await sourceImage(source, "missing");
      const mark = await world.target.mark();

      const result = await world.run(["reconcile", "--dry-run"], mapOf({ [source]: target }));
      expect(result.code, result.stderr).to.equal(0);
      expect(images(result.lines).map((line) => `${line.result} ${line.digest}`)).to.deep.equal([
        `planned ${missing.digest}`,
        `unchanged ${synced.digest}`,
      ]);
      summaryOf(result.lines)({ planned: 1, unchanged: 1, dry_run: true });
      const writes = (await world.target.accessLog())
        .slice(mark)
        .filter((entry) => entry.method !== "GET" && entry.method !== "HEAD");
      expect(writes).to.deep.equal([]);
      expect(await world.target.tags(target)).to.deep.equal(["synced"]);
    });

    it("reports a mapping whose target repository is missing, still reconciles the others, and exits 5", async () => {
      const good = await pair();
      const orphanSource = unique("kuali-orphan");
      const orphanTarget = unique("coeus-orphan");
      await sourceImage(orphanSource, "v1");
      const image = await sourceImage(good.source, "v1");

      const result = await world.run(
        ["reconcile"],
        mapOf({ [orphanSource]: orphanTarget, [good.source]: good.target }),
      );
      expect(result.code).to.equal(5); // its one failure is a missing repository
      const failed = result.lines.find((line) => line.result === "failed");
      expect(failed).to.include({
        source: `${world.source.host}/${orphanSource}`,
        target: `${world.target.host}/${orphanTarget}`,
      });
      expect(failed?.error).to.include(`target repository '${orphanTarget}' does not exist`);
      expect(result.lines.find((line) => line.result === "copied")).to.include({ digest: image.digest });
      expect(await world.target.tags(orphanTarget)).to.deep.equal([]);
      summaryOf(result.lines)({ failed: 1, copied: 1 });
    });

    it("shows an immutable-tag conflict in the --dry-run plan as failed", async () => {
      const { source, target } = await pair("IMMUTABLE");
      const existing = await world.layout.addImage(smallImage());
      await world.pushToTarget(existing, target, "v1");
      const other = await sourceImage(source, "v1");
      const result = await world.run(["reconcile", "--dry-run"], mapOf({ [source]: target }));
      expect(result.code).to.equal(6); // its one failure is the immutable-tag conflict
      expect(images(result.lines)).to.have.length(1);
      expect(result.lines[0]).to.include({ result: "failed", digest: other.digest });
      summaryOf(result.lines)({ failed: 1, dry_run: true });
      expect(result.lines[0].error).to.include("is immutable and already holds");
    });

    it("needs a valid ECR_SYNC_REPOSITORY_MAP (exit 3) and rejects unknown flags (exit 2)", async () => {
      const missing = await world.run(["reconcile"], { ECR_SYNC_REPOSITORY_MAP: undefined });
      expect(missing.code).to.equal(3);
      expect(missing.stderr).to.include("ECR_SYNC_REPOSITORY_MAP is not set");
      const invalid = await world.run(["reconcile"], mapOf({ "kuali-coeus": "Coeus" }));
      expect(invalid.code).to.equal(3);
      expect(invalid.stderr).to.include(
        'ECR_SYNC_REPOSITORY_MAP["kuali-coeus"]: the target "Coeus" is not a valid ECR repository name',
      );
      const notJson = await world.run(["reconcile"], { ECR_SYNC_REPOSITORY_MAP: "kuali-coeus=coeus" });
      expect(notJson.code).to.equal(3);
      const flag = await world.run(["reconcile", "--dryrun"]);
      expect(flag.code).to.equal(2);
      expect(flag.stderr).to.include("reconcile: unknown argument '--dryrun'");
    });
  });

  describe("failures the copier does not expect", () => {
    it("are a failed line and exit 1, logged, and the run's files are removed all the same", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      // A flock that fails in a way flock(1) never should (status 9): the copier cannot know why.
      const dir = await mkdtemp(join(tmpdir(), "ecr-sync-broken-flock-"));
      try {
        await writeFile(join(dir, "flock"), "#!/bin/sh\nexit 9\n");
        await chmod(join(dir, "flock"), 0o755);
        const stateDir = coldStateDir();
        const result = await world.run(["reconcile"], {
          PATH: `${dir}:${process.env.PATH ?? ""}`,
          ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
          ECR_SYNC_STATE_DIR: stateDir,
        });
        expect(result.code, result.stderr).to.equal(1);
        expect(result.stderr).to.match(
          /ecr-sync: error: unexpected failure: flock on \S+ exited with status 9/,
        );
        expect(result.lines.map((entry) => entry.result)).to.deep.equal(["failed", "reconcile"]);
        expect(await listDir(join(stateDir, "runs")), "the run's directory is removed").to.deep.equal([]);
        expect(await listDir(world.scriptTmpDir), "the temp dir is left empty").to.deep.equal([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("failures the copier handles", () => {
    it("stays quiet about the failures it handles, with their own exit codes", async () => {
      const { source, target } = await pair();
      await sourceImage(source, "v1");
      const closedPort = await freePort();
      const missingTarget = unique("coeus-missing");
      const runs: Array<[string, ReturnType<EcrSyncWorld["run"]>, number]> = [
        ["source tag missing", world.run(copyArgs(source, target, "never-pushed")), 5],
        [
          "target repository missing",
          world.run(copyArgs(source, missingTarget, "v1"), {
            ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: missingTarget }),
          }),
          5,
        ],
        [
          "STS unreachable",
          world.run(copyArgs(source, target, "v1"), {
            ECR_SYNC_STATE_DIR: coldStateDir(),
            AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closedPort}`,
            AWS_MAX_ATTEMPTS: "1",
          }),
          7,
        ],
        [
          "source registry refuses the password",
          world.run(copyArgs(source, target, "v1"), { ECR_SYNC_SOURCE_REGISTRY: world.target.host }),
          4,
        ],
        [
          "reconcile with a missing target repository",
          world.run(["reconcile"], {
            ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: unique("coeus-missing") }),
          }),
          5,
        ],
        ["invalid region", world.run(copyArgs(source, target, "v1"), { ECR_SYNC_REGION: "us-east-10" }), 3],
        ["invalid tag", world.run(copyArgs(source, target, "-v1")), 2],
      ];
      for (const [what, run, code] of runs) {
        const result = await run;
        expect(result.code, `${what}: ${result.stderr}`).to.equal(code);
        expect(result.stderr, what).not.to.include("error: unexpected failure");
      }
    });
  });
});

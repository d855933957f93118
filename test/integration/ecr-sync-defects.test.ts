import { expect } from "chai";
import { mkdir, mkdtemp, readdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { faultKit } from "../support/faults";
import { spawnSyncInWorkerRoot, workerToolPath } from "../../local/worker-root";
import { callNames } from "../../local/world";

const EXIT_CONFIG = 3;
const EXIT_UNAVAILABLE = 7;

/**
 * The ten defects a red-team review found in ecr-sync.sh (issue 18), each now a behaviour of the
 * copier shown against real registries: the fault comes from a wrapper on PATH or a proxy in front of
 * a registry (test/support/faults.ts).
 */
describe("ecr-sync under faults", function () {
  this.timeout(90000);
  const kit = faultKit();
  const { pair, trickProxy, wrapperPath } = kit;

  describe("the ten defects of ecr-sync.sh, each a behaviour now", () => {
    /** Whether nobody holds a lock file: flock --nonblock in the worker root takes it at once. */
    const lockIsFree = (file: string) =>
      spawnSyncInWorkerRoot(["flock", "--nonblock", "--exclusive", file, "true"]).status === 0;

    it("1. a registry that stalls mid-copy ends the copy with exit 7 within the bound, and frees the tag's lock", async () => {
      const { target, args, map } = await pair();
      // The target accepts connections but never answers a write carrying data (skopeo's blob
      // uploads and the manifest PUT): reads and the login still answer.
      const stalled = await trickProxy(kit.world.target.host, (method) =>
        method === "PUT" || method === "PATCH" ? { stall: true } : undefined,
      );
      const started = Date.now();
      const result = await kit.world.run(args, {
        ...map,
        ECR_SYNC_TARGET_REGISTRY: stalled,
        ECR_SYNC_COPY_TIMEOUT_SECONDS: "4",
      });
      const seconds = (Date.now() - started) / 1000;
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include(`target side: registry ${stalled} is unavailable`);
      // The copy's bound (4 s, then skopeo is stopped), one probe of each side (15 s at most), slack.
      expect(seconds, "seconds to exit 7").to.be.below(4 + 15 + 15);
      expect(
        lockIsFree(join(map.ECR_SYNC_STATE_DIR, "locks", `${target}:v1.lock`)),
        "the tag's lock",
      ).to.equal(true);
    });

    it("2. a state directory path through a symlink is refused with exit 3, and nothing is written where it points", async () => {
      const root = await mkdtemp(join(kit.scratch, "symlinked-"));
      const elsewhere = join(root, "elsewhere");
      await mkdir(elsewhere, { mode: 0o700 });
      const link = join(root, "ecr-sync");
      await symlink(elsewhere, link);
      const { target, args, map } = await pair();
      const result = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: link });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include(
        `state directory ${link} is a symlink, not a directory: not followed`,
      );
      expect(await readdir(elsewhere), "nothing written where the link points").to.deep.equal([]);
      expect(await kit.world.target.tags(target)).to.deep.equal([]);
    });

    it("3. clearing the state directory during a reconcile: no copy runs unlocked; each is refused with exit 3, and the next run copies", async () => {
      const { source, target, image, map } = await pair("a");
      await kit.world.pushToSource(image, source, "b");
      // During the first copy's skopeo, everything in the state directory is removed: a new copy of
      // the tag would now lock a new file while this one still holds the old.
      const path = await wrapperPath(
        "skopeo",
        [
          `if [ "$1" = copy ] && mkdir '${map.ECR_SYNC_STATE_DIR}.cleared' 2>/dev/null; then`,
          `  '${workerToolPath("skopeo")}' "$@"; code=$?`,
          `  rm -rf '${map.ECR_SYNC_STATE_DIR}/runs' '${map.ECR_SYNC_STATE_DIR}/locks'`,
          "  exit $code",
          "fi",
        ].join("\n"),
      );
      const result = await kit.world.run(["reconcile"], {
        ...map,
        PATH: path,
        ECR_SYNC_RECONCILE_PARALLELISM: "1",
      });
      expect(result.code, result.stderr).to.equal(3);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed", "failed", "reconcile"]);
      expect(result.lines[0].error).to.include("was removed or replaced during the copy");
      expect(result.lines[1].error).to.include("locks was removed during this run");
      expect(await kit.world.target.tags(target)).to.deep.equal(["a"]);

      const next = await kit.world.run(["reconcile"], map);
      expect(next.code, next.stderr).to.equal(0);
      expect(next.lines.map((line) => line.result)).to.deep.equal(["unchanged", "copied", "reconcile"]);
      expect(await kit.world.target.tags(target)).to.deep.equal(["a", "b"]);
    });

    it("4. a manifest answered 200 without Docker-Content-Digest is a failure naming the registry, never superseded", async () => {
      const { target, image, args, map } = await pair();
      const source = await trickProxy(kit.world.source.host, (method, path) =>
        method === "HEAD" && path.includes("/manifests/")
          ? { dropHeaders: ["Docker-Content-Digest"] }
          : undefined,
      );
      for (const run of [args, [...args, "--digest", image.digest]]) {
        const result = await kit.world.run(run, { ...map, ECR_SYNC_SOURCE_REGISTRY: source });
        expect(result.code, result.stderr).to.equal(1);
        expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
        expect(result.lines[0].error).to.include(`source side: registry ${source} answered HTTP 200`);
        expect(result.lines[0].error).to.include("without a valid Docker-Content-Digest header");
      }
      expect(await kit.world.target.tags(target)).to.deep.equal([]);
    });

    it("5. a clock set back 30 days trusts no credential: every run fetches its own, and copies", async () => {
      const { target, image, args, map } = await pair();
      expect((await kit.world.run(args, map)).code).to.equal(0);
      await kit.world.pushToSource(image, map.ECR_SYNC_REPOSITORY_MAP.split('"')[1], "v2");
      const mark = kit.world.awsCalls.mark();
      const result = await kit.world.spawn([...args.slice(0, -1), "v2"], map, {
        prefix: ["faketime", "-f", "-30d"],
      }).result;
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["copied"]);
      expect(callNames(kit.world.awsCalls.since(mark)).sort()).to.deep.equal([
        "ecr DescribeRepositories",
        "ecr GetAuthorizationToken",
        "ecr GetAuthorizationToken",
        "sts AssumeRole",
      ]);
      expect(await kit.world.target.tags(target)).to.deep.equal(["v1", "v2"]);
    });

    it("6. a source blob cut short once is retried; cut short every time, the failure names the source", async () => {
      const { target, image, args, map } = await pair();
      const layer = image.layers[0].digest;
      let cuts = 0;
      const once = await trickProxy(kit.world.source.host, (method, path) =>
        method === "GET" && path.endsWith(`/blobs/${layer}`) && cuts++ === 0
          ? { cutBodyAt: 1024 }
          : undefined,
      );
      const retried = await kit.world.run(args, { ...map, ECR_SYNC_SOURCE_REGISTRY: once });
      expect(retried.code, retried.stderr).to.equal(0);
      expect(retried.lines.map((line) => line.result)).to.deep.equal(["copied"]);
      expect(cuts, "the blob was asked for again after the cut").to.be.at.least(2);

      const other = await pair();
      const always = await trickProxy(kit.world.source.host, (method, path) =>
        method === "GET" && path.endsWith(`/blobs/${other.image.layers[0].digest}`)
          ? { cutBodyAt: 1024 }
          : undefined,
      );
      const failed = await kit.world.run(other.args, { ...other.map, ECR_SYNC_SOURCE_REGISTRY: always });
      expect(failed.code, failed.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(failed.lines[0].error).to.include(`source side: registry ${always}`);
      expect(failed.lines[0].error).to.include(other.image.layers[0].digest);
      expect(await kit.world.target.tags(other.target)).to.deep.equal([]);
      void target;
    });

    it("7. a full state file system is exit 3 with a result line, not a registry failure", async () => {
      const { args, map } = await pair();
      const full = await mkdtemp(join(kit.scratch, "full-"));
      // A 64 KiB tmpfs on the state directory, filled before the copier starts.
      const prefix = [
        "bwrap",
        "--dev-bind",
        "/",
        "/",
        "--size",
        "65536",
        "--tmpfs",
        full,
        "--",
        "sh",
        "-c",
        'dd if=/dev/zero of="$0/fill" bs=4096 count=64 2>/dev/null; exec "$@"',
        full,
      ];
      const result = await kit.world.spawn(args, { ...map, ECR_SYNC_STATE_DIR: full }, { prefix }).result;
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include("the file system is full");
      expect(result.lines[0].error).not.to.include("unavailable");
    });

    it("8. a read-only state directory is exit 3 with a result line", async () => {
      const { args, map } = await pair();
      const readOnly = await mkdtemp(join(kit.scratch, "read-only-"));
      for (const dir of ["locks", "runs"]) await mkdir(join(readOnly, dir), { mode: 0o700 });
      const prefix = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", readOnly, readOnly, "--"];
      const result = await kit.world.spawn(args, { ...map, ECR_SYNC_STATE_DIR: readOnly }, { prefix }).result;
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include("the file system is read-only");
    });

    it("10. any valid --pushed-at works, every time in the first second of 1970 included", async () => {
      const { args, map, image } = await pair();
      // ecr-sync.sh read date's %s%6N digits ("0500000") as a number in $(( )), where a leading 0
      // is octal: .5Z came out wrong and .9Z or .08Z ("0900000", "0080000") are no number at all.
      const times: Array<[string, number]> = [
        ["1970-01-01T00:00:00.5Z", 0.5],
        ["1970-01-01T00:00:00.9Z", 0.9],
        ["1970-01-01T00:00:00.08Z", 0.08],
        ["1970-01-01T00:00:00Z", 0],
      ];
      for (const [pushedAt, epochSeconds] of times) {
        const before = Date.now() / 1000;
        const result = await kit.world.run([...args, "--pushed-at", pushedAt], map);
        const after = Date.now() / 1000;
        expect(result.code, `${pushedAt}: ${result.stderr}`).to.equal(0);
        expect(result.lines, pushedAt).to.have.length(1);
        const line = result.lines[0] as Record<string, unknown>;
        expect(line, pushedAt).to.include({
          result: pushedAt === times[0][0] ? "copied" : "unchanged",
          digest: image.digest,
          pushed_at: pushedAt,
        });
        // Verified between the run's start and end, so the latency is within those (2-decimal rounding aside).
        expect(line.latency_s, pushedAt).to.be.within(
          before - epochSeconds - 0.01,
          after - epochSeconds + 0.01,
        );
      }
    });
    // 9 (bodiless 429 and 403 on the manifest PUT) is above, with the other classifications.
  });
});

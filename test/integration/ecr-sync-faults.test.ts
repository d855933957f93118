import { expect } from "chai";
import { execFile } from "node:child_process";
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { faultKit } from "../support/faults";
import { freePort } from "../../local/ports";

const execFileAsync = promisify(execFile);
const NOBODY = 65534;
/** The user the tests (and so the copier) run as: root under .ci/run, the runner user on GitHub. */
const ME = process.getuid?.() ?? 0;
const EXIT_CONFIG = 3;
const EXIT_AUTH = 4;
const EXIT_NOT_FOUND = 5;
const EXIT_UNAVAILABLE = 7;

/**
 * The copier when the world around it misbehaves: a registry stopped mid-run, STS refusing
 * connections, ECR and registries throttling or failing, and a state directory that someone else
 * prepared. Real servers throughout (docker-registry, moto_server, skopeo); faults come from
 * wrappers on PATH that act just before the real tool runs, and from the proxies in
 * test/support/faults.ts and fault-proxy.ts, test tools in front of the real registry or moto. The
 * ten defects of ecr-sync.sh are in ecr-sync-defects.test.ts.
 */
describe("ecr-sync under faults", function () {
  this.timeout(90000);
  const kit = faultKit();
  const { cleanups, pair, proxyFor, targetThatStopsBeforeTheCopy, trickProxy, unique, writesSince } = kit;

  describe("an unavailable registry or AWS API is not an authentication failure", () => {
    it("exits 7 naming the target registry as unavailable when it stops between the login and the copy", async () => {
      const { args, map } = await pair();
      const { doomed, path, stops } = await targetThatStopsBeforeTheCopy("target-doomed");
      const result = await kit.world.run(args, { ...map, PATH: path, ECR_SYNC_TARGET_REGISTRY: doomed.host });
      expect(stops(), "the wrapper stopped the registry before the real copy").to.equal(1);
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines).to.have.length(1);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include(`target side: registry ${doomed.host} is unavailable`);
      expect(result.lines[0].error).to.include("ECONNREFUSED");
      expect(result.stderr).not.to.match(/rejected the ECR password|ECR_SYNC_TARGET_ROLE_ARN/);
    });

    it("exits 7 naming the target registry when it does not answer the login at all", async () => {
      const { args, map } = await pair();
      const closed = `127.0.0.1:${await freePort()}`;
      const result = await kit.world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: closed });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].error).to.include(
        `target side: registry ${closed} is unavailable (no answer: ECONNREFUSED)`,
      );
      expect(result.stderr).not.to.match(/rejected the ECR password|check that ECR_SYNC_TARGET_ROLE_ARN/);
    });

    it("exits 7 naming STS as unavailable when STS refuses connections", async () => {
      const { target, args, map } = await pair();
      const closedPort = await freePort();
      // Every STS call goes to a closed loopback port (the SDK's service-specific endpoint
      // variable); every other AWS call is untouched.
      const mark = await kit.world.target.mark();
      const result = await kit.world.run(args, {
        ...map,
        AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closedPort}`,
      });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include("target side: STS is unavailable (sts:AssumeRole --role-arn");
      expect(result.lines[0].error).to.include("ECONNREFUSED");
      expect(await writesSince(kit.world.target, mark)).to.deep.equal([]);
      expect(await kit.world.target.tags(target)).to.deep.equal([]);
    });

    it("exits 7 when ECR keeps answering 5xx to describe-repositories, naming ECR", async () => {
      const { args, map } = await pair();
      const proxy = await proxyFor(new URL(kit.world.moto.endpoint).host);
      proxy.inject({
        path: /^\/$/,
        header: ["x-amz-target", /DescribeRepositories/],
        times: 50,
        fault: { status: 500, body: '{"__type":"ServerException","message":"internal error"}' },
      });
      const result = await kit.world.run(args, {
        ...map,
        AWS_ENDPOINT_URL: `http://${proxy.host}`,
        AWS_MAX_ATTEMPTS: "2",
      });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].error).to.include("target side: ECR (us-east-1) is unavailable");
      expect(result.lines[0].error).to.include("ServerException");
      expect(50 - proxy.pendingFaults(), "the SDK's two attempts").to.equal(2);
    });

    it("still exits 4 when STS refuses the role (AccessDenied)", async () => {
      const { args, map } = await pair();
      // moto does not check trust policies: the proxy gives STS's own AccessDenied answer to the
      // AssumeRole call (the only query-protocol call here, the one without an X-Amz-Target).
      const proxy = await proxyFor(new URL(kit.world.moto.endpoint).host);
      proxy.inject({
        path: /^\/$/,
        header: ["x-amz-target", /^$/],
        times: 1,
        fault: {
          status: 403,
          headers: { "Content-Type": "text/xml" },
          body:
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
            "<Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/ecr-sync-worker/i-0 " +
            "is not authorized to perform: sts:AssumeRole on resource: the target role</Message></Error>" +
            "<RequestId>0</RequestId></ErrorResponse>",
        },
      });
      const result = await kit.world.run(args, { ...map, AWS_ENDPOINT_URL: `http://${proxy.host}` });
      expect(result.code, result.stderr).to.equal(EXIT_AUTH);
      expect(result.lines[0].error).to.include("target side: STS refused sts:AssumeRole");
      expect(result.lines[0].error).to.include("AccessDenied");
      expect(proxy.pendingFaults()).to.equal(0);
    });
  });

  describe("throttling is retried with backoff", () => {
    it("copies when both registries answer 429 a few times on the login, the reads, the blobs and the manifest", async () => {
      const { image, target, args, map } = await pair();
      const sourceProxy = await proxyFor(kit.world.source.host);
      const targetProxy = await proxyFor(kit.world.target.host);
      const throttled = { status: 429 };
      targetProxy.inject({ path: /^\/v2\/$/, times: 2, fault: throttled }); // the login check (fetch)
      targetProxy.inject({ path: /\/manifests\//, method: "HEAD", times: 2, fault: throttled }); // the reads (fetch)
      targetProxy.inject({ path: /\/manifests\//, method: "PUT", times: 2, fault: throttled }); // the copy (skopeo)
      sourceProxy.inject({ path: /\/manifests\//, method: "HEAD", times: 1, fault: throttled });
      sourceProxy.inject({ path: /\/blobs\/sha256:/, method: "GET", times: 2, fault: throttled });

      const result = await kit.world.run(args, {
        ...map,
        ECR_SYNC_SOURCE_REGISTRY: sourceProxy.host,
        ECR_SYNC_TARGET_REGISTRY: targetProxy.host,
      });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(await kit.world.target.digestOf(target, "v1")).to.equal(image.digest);
      expect(
        [sourceProxy.pendingFaults(), targetProxy.pendingFaults()],
        "every 429 was answered",
      ).to.deep.equal([0, 0]);
    });

    it("copies when ECR throttles get-login-password and describe-repositories a few times", async () => {
      const { image, args, map } = await pair();
      const proxy = await proxyFor(new URL(kit.world.moto.endpoint).host);
      for (const operation of [/GetAuthorizationToken/, /DescribeRepositories/]) {
        proxy.inject({
          path: /^\/$/,
          header: ["x-amz-target", operation],
          times: 2,
          fault: { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' },
        });
      }
      const result = await kit.world.run(args, { ...map, AWS_ENDPOINT_URL: `http://${proxy.host}` });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(proxy.pendingFaults()).to.equal(0);
    });

    it("exits 7 naming the throttling registry when the 429s outlast the retries", async () => {
      const { target, args, map } = await pair();
      const targetProxy = await proxyFor(kit.world.target.host);
      targetProxy.inject({ path: /^\/v2\/$/, times: 50, fault: { status: 429 } });
      const result = await kit.world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].error).to.include(
        `target side: registry ${targetProxy.host} is unavailable (HTTP 429: still throttling after 3 retries)`,
      );
      expect(50 - targetProxy.pendingFaults(), "one try and 3 retries").to.equal(4);
      expect(await kit.world.target.tags(target)).to.deep.equal([]);
    });
  });

  describe("a copy that fails while both registries answer", () => {
    it("is tried once more (a password turned away once at the manifest's PUT), and the copy goes on", async () => {
      const { image, target, args, map } = await pair();
      const targetProxy = await proxyFor(kit.world.target.host);
      // The registry turns the password away once, at the manifest's PUT: after every read.
      targetProxy.inject({
        path: /\/manifests\//,
        method: "PUT",
        times: 1,
        fault: {
          status: 401,
          headers: { "Content-Type": "application/json", "WWW-Authenticate": 'Basic realm="ecr"' },
          body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
        },
      });
      const result = await kit.world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(result.stderr).to.include("while both registries answer: trying once more");
      expect(targetProxy.pendingFaults()).to.equal(0);
      expect(await kit.world.target.digestOf(target, "v1")).to.equal(image.digest);
    });
  });

  describe("a failed copy is classified by the registries' answers, not by skopeo's text", () => {
    // ecr-sync.sh read exit 4 and 7 from skopeo's last line: a 429 or 403 without a body left it
    // nothing to read, and it exited 1. The copier probes both registries instead.
    const bodiless: Array<[number, number, string]> = [
      [429, EXIT_UNAVAILABLE, "is unavailable (HTTP 429"],
      [403, EXIT_AUTH, "denied access with the ECR password (HTTP 403)"],
      // A repository deleted during the copy: ECR answers its manifest PUT 404 (NAME_UNKNOWN).
      [404, EXIT_NOT_FOUND, "has no repository"],
    ];
    for (const [status, code, text] of bodiless) {
      it(`exits ${code} when the target answers every manifest PUT with a bodiless ${status}`, async () => {
        const { target, args, map } = await pair();
        const targetProxy = await proxyFor(kit.world.target.host);
        targetProxy.inject({ path: /\/manifests\//, method: "PUT", times: 500, fault: { status, body: "" } });
        const result = await kit.world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
        expect(result.code, result.stderr).to.equal(code);
        expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
        expect(result.lines[0].error).to.include(`target side: registry ${targetProxy.host} ${text}`);
        expect(await kit.world.target.tags(target)).to.deep.equal([]);
      });
    }
  });

  describe("the state directory", () => {
    /**
     * Gives `paths` to another user: directly as root (.ci/run), else with passwordless sudo
     * (GitHub's runners), the only ways to make a directory someone else owns.
     */
    async function giveTo(uid: number, ...paths: string[]): Promise<void> {
      if (ME === 0) for (const path of paths) await chown(path, uid, uid);
      else await execFileAsync("sudo", ["-n", "chown", `${uid}:${uid}`, ...paths]);
    }

    /** A private base dir for one test, removed afterwards (what another user owns in it too). */
    async function base(): Promise<string> {
      const dir = await mkdtemp(join(kit.scratch, "state-"));
      cleanups.push(() =>
        ME === 0
          ? rm(dir, { recursive: true, force: true })
          : execFileAsync("sudo", ["-n", "rm", "-rf", dir]),
      );
      return dir;
    }

    /** Every path under `dir` with its mode, owner, size and mtime: to show nothing changed. */
    async function snapshot(dir: string): Promise<string[]> {
      const lines: string[] = [];
      const walk = async (path: string): Promise<void> => {
        const info = await lstat(path);
        lines.push(`${path} ${info.mode.toString(8)} ${info.uid} ${info.size} ${info.mtimeMs}`);
        if (info.isDirectory()) for (const name of (await readdir(path)).sort()) await walk(join(path, name));
      };
      await walk(dir);
      return lines;
    }

    it("creates a fresh path, every missing component mode 0700, and keeps its locks there", async () => {
      const root = await base();
      const stateDir = join(root, "a", "b", "ecr-sync");
      const { target, args, map } = await pair();
      const result = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
      expect(result.code, result.stderr).to.equal(0);
      for (const path of [join(root, "a"), join(root, "a", "b"), stateDir, join(stateDir, "locks")]) {
        const info = await stat(path);
        expect([path, (info.mode & 0o7777).toString(8), info.uid], path).to.deep.equal([path, "700", ME]);
      }
      expect(await readdir(join(stateDir, "locks"))).to.deep.equal([`${target}:v1.lock`]);
    });

    it("refuses a state directory owned by another user, touching nothing inside or outside it", async () => {
      const root = await base();
      const stateDir = join(root, "ecr-sync");
      await mkdir(join(stateDir, "locks"), { recursive: true, mode: 0o700 });
      await writeFile(join(stateDir, "locks", "placed-by-nobody"), "theirs");
      await giveTo(NOBODY, join(stateDir, "locks", "placed-by-nobody"), join(stateDir, "locks"), stateDir);
      const { target, args, map } = await pair();
      const before = await snapshot(root);
      const mark = await kit.world.target.mark();

      const result = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.stderr).to.include(
        `state directory ${stateDir} is owned by uid ${NOBODY}, not by the user running ecr-sync (uid ${ME})`,
      );
      expect(await snapshot(root)).to.deep.equal(before);
      expect(await writesSince(kit.world.target, mark)).to.deep.equal([]);
      expect(await kit.world.target.tags(target)).to.deep.equal([]);
    });

    it("refuses a group-writable state directory, and one below a directory another user owns", async () => {
      const root = await base();
      const groupWritable = join(root, "shared");
      await mkdir(groupWritable);
      await chmod(groupWritable, 0o770);
      const theirs = join(root, "theirs");
      await mkdir(theirs);
      await giveTo(NOBODY, theirs);
      const { args, map } = await pair();
      const before = await snapshot(root);

      const shared = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: groupWritable });
      expect(shared.code, shared.stderr).to.equal(EXIT_CONFIG);
      expect(shared.stderr).to.include(
        `state directory ${groupWritable} has mode 770, writable by group or others`,
      );
      const below = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: join(theirs, "ecr-sync") });
      expect(below.code, below.stderr).to.equal(EXIT_CONFIG);
      expect(below.stderr).to.include(
        `${theirs}, a parent of the state directory, is owned by uid ${NOBODY}`,
      );
      expect(await snapshot(root), "nothing created, nothing changed").to.deep.equal(before);
    });

    it("refuses a relative state directory", async () => {
      const { args, map } = await pair();
      const result = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: "state" });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.stderr).to.include("ECR_SYNC_STATE_DIR='state' is not an absolute path");
    });

    it("refuses a symlink where a lock file goes, leaving the file it points at as it was", async () => {
      const root = await base();
      const stateDir = join(root, "ecr-sync");
      await mkdir(join(stateDir, "locks"), { recursive: true, mode: 0o700 });
      const outside = join(root, "precious");
      await writeFile(outside, "root's data\n");
      const past = new Date("2024-01-02T03:04:05Z");
      await utimes(outside, past, past);
      const { target, args, map } = await pair();
      const lockFile = join(stateDir, "locks", `${target}:v1.lock`);
      await symlink(outside, lockFile);
      const mark = await kit.world.target.mark();

      const result = await kit.world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include(`lock file ${lockFile} is a symlink: not followed`);
      expect(await readFile(outside, "utf8")).to.equal("root's data\n");
      expect((await stat(outside)).mtimeMs).to.equal(past.getTime());
      expect((await lstat(lockFile)).isSymbolicLink()).to.equal(true);
      expect(await writesSince(kit.world.target, mark)).to.deep.equal([]);
    });
  });

  describe("digest reads that answer out of order", () => {
    it("pair each tag with its own answer, whatever order the parallel reads are answered in", async () => {
      const { source, target, image, map } = await pair("a-same");
      const changed = await kit.world.layout.addImage({
        layers: [{ size: 8 * 1024 }],
        label: unique("changed"),
      });
      const missing = await kit.world.layout.addImage({
        layers: [{ size: 8 * 1024 }],
        label: unique("missing"),
      });
      await kit.world.pushToSource(changed, source, "b-changed");
      await kit.world.pushToSource(missing, source, "c-missing");
      await kit.world.pushToTarget(image, target, "a-same");
      await kit.world.pushToTarget(image, target, "b-changed");
      // The target answers its reads in the reverse of the order asked, as a slow first request
      // would: the first tag's HEAD waits until the others have been answered.
      const targetProxy = await trickProxy(kit.world.target.host, (method, path) =>
        method !== "HEAD"
          ? undefined
          : path.endsWith("/manifests/a-same")
            ? { delayMs: 1500 }
            : path.endsWith("/manifests/b-changed")
              ? { delayMs: 750 }
              : undefined,
      );
      // One copy at a time keeps the lines in the tags' order.
      const result = await kit.world.run(["reconcile"], {
        ...map,
        ECR_SYNC_TARGET_REGISTRY: targetProxy,
        ECR_SYNC_RECONCILE_PARALLELISM: "1",
      });
      expect(result.code, result.stderr).to.equal(0);
      expect(
        result.lines.map((line) => [line.result, line.target?.split(":").pop(), line.digest]),
      ).to.deep.equal([
        ["unchanged", "a-same", image.digest],
        ["copied", "b-changed", changed.digest],
        ["copied", "c-missing", missing.digest],
        ["reconcile", undefined, undefined],
      ]);
    });
  });

  describe("reconcile ends with the exit code of its failures", () => {
    it("exits 7, not 1, when the target registry stops before the reconcile's copy", async () => {
      const { source, target } = await pair();
      const { doomed, path, stops } = await targetThatStopsBeforeTheCopy("target-doomed-reconcile");
      const result = await kit.world.run(["reconcile"], {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
        ECR_SYNC_TARGET_REGISTRY: doomed.host,
        PATH: path,
      });
      expect(stops(), "the wrapper stopped the registry before the real copy").to.equal(1);
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines.map((l) => l.result)).to.deep.equal(["failed", "reconcile"]); // the summary last
      expect(result.lines[0].error).to.include(`target side: registry ${doomed.host} is unavailable`);
      expect(result.stderr).to.include("reconcile: 1 image(s) failed");
      expect(result.stderr).not.to.include("unexpected failure");
    });
  });

  describe("a map the stacks would never render is refused before anything is read", () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      [
        "a target holding a newline (which would split into a second mapping)",
        { "kuali-coeus": "coeus\nkuali-coeus-feature coeus" },
        "is not a valid ECR repository name",
      ],
      ["a repository mapped to itself", { "kuali-coeus": "kuali-coeus" }, "maps the repository to itself"],
      [
        "two sources mapped to one target",
        { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus" },
        '"kuali-coeus" and "kuali-coeus-feature" are both mapped to "coeus"; each target takes one source',
      ],
    ];
    for (const [what, map, message] of cases) {
      it(`refuses ${what} (exit 3), for reconcile and for copy`, async () => {
        const mark = await kit.world.target.mark();
        const env = { ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map) };
        const reconcile = await kit.world.run(["reconcile"], env);
        expect(reconcile.code, reconcile.stderr).to.equal(EXIT_CONFIG);
        expect(reconcile.stderr).to.include(message);
        const copy = await kit.world.run(
          ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus", "--tag", "v1"],
          env,
        );
        expect(copy.code, copy.stderr).to.equal(EXIT_CONFIG);
        expect(copy.stderr).to.include(message);
        expect(await kit.world.target.accessLog()).to.have.length(mark);
      });
    }
  });

  describe("what the worker's tools may not tell", () => {
    it("reads a *_WITH_EXCLUSION repository's filters with the SDK and copies a tag they make mutable (no longer exit 3)", async () => {
      const source = unique("kuali-coeus");
      const target = unique("coeus");
      await kit.world.createTargetRepository(target, "IMMUTABLE_WITH_EXCLUSION", ["dev*"]);
      const image = await kit.world.layout.addImage({ layers: [{ size: 8 * 1024 }] });
      await kit.world.pushToSource(image, source, "dev-1");
      // The AWS CLI of Debian 13 (2.23.6) dropped the filters, so ecr-sync.sh refused such a
      // repository with exit 3; the SDK the copier bundles has them.
      const result = await kit.world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", "dev-1"],
        { ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }) },
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(await kit.world.target.tags(target)).to.deep.equal(["dev-1"]);
    });

    it("locks a tag whose repository and tag together are too long for a file name by their digest", async () => {
      const source = unique("kuali-coeus");
      const target = `${unique("coeus")}/${"n".repeat(150)}`;
      const tag = `v${"1".repeat(120)}`;
      await kit.world.createTargetRepository(target);
      const image = await kit.world.layout.addImage({ layers: [{ size: 8 * 1024 }] });
      await kit.world.pushToSource(image, source, tag);
      const result = await kit.world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", tag],
        { ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }) },
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((l) => l.result)).to.deep.equal(["copied"]);
      expect((await readdir(kit.world.lockDir)).filter((f) => /^[0-9a-f]{64}\.lock$/.test(f))).to.have.length(
        1,
      );
    });
  });
});

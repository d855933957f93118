import { expect } from "chai";
import { execFile, spawnSync } from "node:child_process";
import * as http from "node:http";
import { AddressInfo } from "node:net";
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
import { FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { freePort } from "../../local/ports";
import { Registry, startRegistry } from "../../local/registry";
import { spawnSyncInWorkerRoot, workerToolPath } from "../../local/worker-root";
import {
  callNames,
  copyArgs,
  EcrSyncWorld,
  ecrPassword,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";

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
 * wrappers on PATH that act just before the real tool runs, and from test/support/fault-proxy.ts and the
 * small proxies below, test tools in front of the real registry or moto.
 */
describe("ecr-sync under faults", function () {
  this.timeout(90000);
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
    scratch = await mkdtemp(join(world.scriptTmpDir, "..", "faults-"));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  after(async () => {
    await world?.stop();
  });

  /** A mapped pair with one image under `tag`; the env maps it (copy is bound to the mapping). */
  async function pair(tag = "v1") {
    const source = unique("kuali-coeus");
    const target = unique("coeus");
    await world.createTargetRepository(target);
    const image = await world.layout.addImage({ layers: [{ size: 48 * 1024 }, { size: 4 * 1024 }] });
    await world.pushToSource(image, source, tag);
    const args = copyArgs(source, target, tag);
    return {
      source,
      target,
      image,
      args,
      // A state directory of its own, so that no case meets another's locks or run directories.
      map: {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
        ECR_SYNC_STATE_DIR: join(scratch, unique("state")),
      },
    };
  }

  /** A PATH whose `tool` runs `before` (sh) and then execs the real tool with the same arguments. */
  async function wrapperPath(tool: string, before: string): Promise<string> {
    const dir = await mkdtemp(join(scratch, `${tool}-wrapper-`));
    await writeFile(join(dir, tool), `#!/bin/sh\n${before}\nexec '${workerToolPath(tool)}' "$@"\n`);
    await chmod(join(dir, tool), 0o755);
    return `${dir}:${process.env.PATH ?? ""}`;
  }

  /** Write requests (anything but GET and HEAD) a registry received since `mark`. */
  async function writesSince(registry: Registry, mark: number) {
    return (await registry.accessLog())
      .slice(mark)
      .filter((entry) => !["GET", "HEAD"].includes(entry.method));
  }

  /** What trickProxy does to one request: hold it, never answer it, drop headers of its answer, or cut the answer's body short. */
  interface Trick {
    readonly delayMs?: number;
    readonly stall?: boolean;
    readonly dropHeaders?: readonly string[];
    /** Send the answer's headers (its full Content-Length) and this many body bytes, then close the connection. */
    readonly cutBodyAt?: number;
  }

  /**
   * A proxy in front of a registry that forwards every request, and does to each what
   * `trick(method, path)` says (nothing when it says undefined). Returns its host:port.
   */
  async function trickProxy(
    upstream: string,
    trick: (method: string, path: string) => Trick | undefined,
  ): Promise<string> {
    const [host, port] = upstream.split(":");
    const server = http.createServer((request, response) => {
      const what = trick(request.method ?? "GET", request.url ?? "/") ?? {};
      if (what.stall) return;
      setTimeout(() => {
        const forwarded = http.request(
          { host, port: Number(port), method: request.method, path: request.url, headers: request.headers },
          (answer) => {
            const headers = { ...answer.headers };
            for (const name of what.dropHeaders ?? []) delete headers[name.toLowerCase()];
            response.writeHead(answer.statusCode ?? 502, headers);
            if (what.cutBodyAt === undefined) {
              answer.pipe(response);
              return;
            }
            let sent = 0;
            answer.on("data", (chunk: Buffer) => {
              const room = (what.cutBodyAt ?? 0) - sent;
              if (room > 0) response.write(chunk.subarray(0, room));
              sent += chunk.length;
              if (sent >= (what.cutBodyAt ?? 0)) {
                answer.destroy();
                response.socket?.destroy();
              }
            });
          },
        );
        forwarded.once("error", () => request.socket.destroy());
        request.pipe(forwarded);
      }, what.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function proxyFor(upstream: string): Promise<FaultProxy> {
    const proxy = await startFaultProxy(upstream);
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  /**
   * A target registry and a PATH whose skopeo, on `copy`, first asks a control server to stop that
   * registry and waits until it has stopped: the login, the ECR calls and the target reads have
   * all succeeded by then. `stops()` is how many times it did.
   */
  async function targetThatStopsBeforeTheCopy(name: string) {
    const doomed = await startRegistry({ name, users: { AWS: ecrPassword(TARGET_ACCOUNT) } });
    cleanups.push(() => doomed.stop());
    let stopped = 0;
    const control = http.createServer((_request, response) => {
      stopped += 1;
      void doomed.stop().then(() => response.end("stopped"));
    });
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise((resolve) => control.close(resolve)));
    const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}/`;
    const path = await wrapperPath(
      "skopeo",
      `if [ "$1" = copy ]; then '${workerToolPath("curl")}' -fsS -o /dev/null -X POST '${controlUrl}' || exit 99; fi`,
    );
    return { doomed, path, stops: () => stopped };
  }

  describe("an unavailable registry or AWS API is not an authentication failure", () => {
    it("exits 7 naming the target registry as unavailable when it stops between the login and the copy", async () => {
      const { args, map } = await pair();
      const { doomed, path, stops } = await targetThatStopsBeforeTheCopy("target-doomed");
      const result = await world.run(args, { ...map, PATH: path, ECR_SYNC_TARGET_REGISTRY: doomed.host });
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
      const result = await world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: closed });
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
      const mark = await world.target.mark();
      const result = await world.run(args, {
        ...map,
        AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closedPort}`,
      });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include("target side: STS is unavailable (sts:AssumeRole --role-arn");
      expect(result.lines[0].error).to.include("ECONNREFUSED");
      expect(await writesSince(world.target, mark)).to.deep.equal([]);
      expect(await world.target.tags(target)).to.deep.equal([]);
    });

    it("exits 7 when ECR keeps answering 5xx to describe-repositories, naming ECR", async () => {
      const { args, map } = await pair();
      const proxy = await proxyFor(new URL(world.moto.endpoint).host);
      proxy.inject({
        path: /^\/$/,
        header: ["x-amz-target", /DescribeRepositories/],
        times: 50,
        fault: { status: 500, body: '{"__type":"ServerException","message":"internal error"}' },
      });
      const result = await world.run(args, {
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
      const proxy = await proxyFor(new URL(world.moto.endpoint).host);
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
      const result = await world.run(args, { ...map, AWS_ENDPOINT_URL: `http://${proxy.host}` });
      expect(result.code, result.stderr).to.equal(EXIT_AUTH);
      expect(result.lines[0].error).to.include("target side: STS refused sts:AssumeRole");
      expect(result.lines[0].error).to.include("AccessDenied");
      expect(proxy.pendingFaults()).to.equal(0);
    });
  });

  describe("throttling is retried with backoff", () => {
    it("copies when both registries answer 429 a few times on the login, the reads, the blobs and the manifest", async () => {
      const { image, target, args, map } = await pair();
      const sourceProxy = await proxyFor(world.source.host);
      const targetProxy = await proxyFor(world.target.host);
      const throttled = { status: 429 };
      targetProxy.inject({ path: /^\/v2\/$/, times: 2, fault: throttled }); // the login check (fetch)
      targetProxy.inject({ path: /\/manifests\//, method: "HEAD", times: 2, fault: throttled }); // the reads (fetch)
      targetProxy.inject({ path: /\/manifests\//, method: "PUT", times: 2, fault: throttled }); // the copy (skopeo)
      sourceProxy.inject({ path: /\/manifests\//, method: "HEAD", times: 1, fault: throttled });
      sourceProxy.inject({ path: /\/blobs\/sha256:/, method: "GET", times: 2, fault: throttled });

      const result = await world.run(args, {
        ...map,
        ECR_SYNC_SOURCE_REGISTRY: sourceProxy.host,
        ECR_SYNC_TARGET_REGISTRY: targetProxy.host,
      });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
      expect(
        [sourceProxy.pendingFaults(), targetProxy.pendingFaults()],
        "every 429 was answered",
      ).to.deep.equal([0, 0]);
    });

    it("copies when ECR throttles get-login-password and describe-repositories a few times", async () => {
      const { image, args, map } = await pair();
      const proxy = await proxyFor(new URL(world.moto.endpoint).host);
      for (const operation of [/GetAuthorizationToken/, /DescribeRepositories/]) {
        proxy.inject({
          path: /^\/$/,
          header: ["x-amz-target", operation],
          times: 2,
          fault: { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' },
        });
      }
      const result = await world.run(args, { ...map, AWS_ENDPOINT_URL: `http://${proxy.host}` });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(proxy.pendingFaults()).to.equal(0);
    });

    it("exits 7 naming the throttling registry when the 429s outlast the retries", async () => {
      const { target, args, map } = await pair();
      const targetProxy = await proxyFor(world.target.host);
      targetProxy.inject({ path: /^\/v2\/$/, times: 50, fault: { status: 429 } });
      const result = await world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].error).to.include(
        `target side: registry ${targetProxy.host} is unavailable (HTTP 429: still throttling after 3 retries)`,
      );
      expect(50 - targetProxy.pendingFaults(), "one try and 3 retries").to.equal(4);
      expect(await world.target.tags(target)).to.deep.equal([]);
    });
  });

  describe("a copy that fails while both registries answer", () => {
    it("is tried once more (a password turned away once at the manifest's PUT), and the copy goes on", async () => {
      const { image, target, args, map } = await pair();
      const targetProxy = await proxyFor(world.target.host);
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
      const result = await world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(result.stderr).to.include("while both registries answer: trying once more");
      expect(targetProxy.pendingFaults()).to.equal(0);
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
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
        const targetProxy = await proxyFor(world.target.host);
        targetProxy.inject({ path: /\/manifests\//, method: "PUT", times: 500, fault: { status, body: "" } });
        const result = await world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host });
        expect(result.code, result.stderr).to.equal(code);
        expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
        expect(result.lines[0].error).to.include(`target side: registry ${targetProxy.host} ${text}`);
        expect(await world.target.tags(target)).to.deep.equal([]);
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
      const dir = await mkdtemp(join(scratch, "state-"));
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
      const result = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
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
      const mark = await world.target.mark();

      const result = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.stderr).to.include(
        `state directory ${stateDir} is owned by uid ${NOBODY}, not by the user running ecr-sync (uid ${ME})`,
      );
      expect(await snapshot(root)).to.deep.equal(before);
      expect(await writesSince(world.target, mark)).to.deep.equal([]);
      expect(await world.target.tags(target)).to.deep.equal([]);
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

      const shared = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: groupWritable });
      expect(shared.code, shared.stderr).to.equal(EXIT_CONFIG);
      expect(shared.stderr).to.include(
        `state directory ${groupWritable} has mode 770, writable by group or others`,
      );
      const below = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: join(theirs, "ecr-sync") });
      expect(below.code, below.stderr).to.equal(EXIT_CONFIG);
      expect(below.stderr).to.include(
        `${theirs}, a parent of the state directory, is owned by uid ${NOBODY}`,
      );
      expect(await snapshot(root), "nothing created, nothing changed").to.deep.equal(before);
    });

    it("refuses a relative state directory", async () => {
      const { args, map } = await pair();
      const result = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: "state" });
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
      const mark = await world.target.mark();

      const result = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: stateDir });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include(`lock file ${lockFile} is a symlink: not followed`);
      expect(await readFile(outside, "utf8")).to.equal("root's data\n");
      expect((await stat(outside)).mtimeMs).to.equal(past.getTime());
      expect((await lstat(lockFile)).isSymbolicLink()).to.equal(true);
      expect(await writesSince(world.target, mark)).to.deep.equal([]);
    });
  });

  describe("digest reads that answer out of order", () => {
    it("pair each tag with its own answer, whatever order the parallel reads are answered in", async () => {
      const { source, target, image, map } = await pair("a-same");
      const changed = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("changed") });
      const missing = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("missing") });
      await world.pushToSource(changed, source, "b-changed");
      await world.pushToSource(missing, source, "c-missing");
      await world.pushToTarget(image, target, "a-same");
      await world.pushToTarget(image, target, "b-changed");
      // The target answers its reads in the reverse of the order asked, as a slow first request
      // would: the first tag's HEAD waits until the others have been answered.
      const targetProxy = await trickProxy(world.target.host, (method, path) =>
        method !== "HEAD"
          ? undefined
          : path.endsWith("/manifests/a-same")
            ? { delayMs: 1500 }
            : path.endsWith("/manifests/b-changed")
              ? { delayMs: 750 }
              : undefined,
      );
      // One copy at a time keeps the lines in the tags' order.
      const result = await world.run(["reconcile"], {
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
      const result = await world.run(["reconcile"], {
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
        const mark = await world.target.mark();
        const env = { ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map) };
        const reconcile = await world.run(["reconcile"], env);
        expect(reconcile.code, reconcile.stderr).to.equal(EXIT_CONFIG);
        expect(reconcile.stderr).to.include(message);
        const copy = await world.run(
          ["copy", "--source-repository", "kuali-coeus", "--target-repository", "coeus", "--tag", "v1"],
          env,
        );
        expect(copy.code, copy.stderr).to.equal(EXIT_CONFIG);
        expect(copy.stderr).to.include(message);
        expect(await world.target.accessLog()).to.have.length(mark);
      });
    }
  });

  describe("what the worker's tools may not tell", () => {
    it("reads a *_WITH_EXCLUSION repository's filters with the SDK and copies a tag they make mutable (no longer exit 3)", async () => {
      const source = unique("kuali-coeus");
      const target = unique("coeus");
      await world.createTargetRepository(target, "IMMUTABLE_WITH_EXCLUSION", ["dev*"]);
      const image = await world.layout.addImage({ layers: [{ size: 8 * 1024 }] });
      await world.pushToSource(image, source, "dev-1");
      // The AWS CLI of Debian 13 (2.23.6) dropped the filters, so ecr-sync.sh refused such a
      // repository with exit 3; the SDK the copier bundles has them.
      const result = await world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", "dev-1"],
        { ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }) },
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["copied", image.digest],
      ]);
      expect(await world.target.tags(target)).to.deep.equal(["dev-1"]);
    });

    it("locks a tag whose repository and tag together are too long for a file name by their digest", async () => {
      const source = unique("kuali-coeus");
      const target = `${unique("coeus")}/${"n".repeat(150)}`;
      const tag = `v${"1".repeat(120)}`;
      await world.createTargetRepository(target);
      const image = await world.layout.addImage({ layers: [{ size: 8 * 1024 }] });
      await world.pushToSource(image, source, tag);
      const result = await world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", tag],
        { ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }) },
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((l) => l.result)).to.deep.equal(["copied"]);
      expect((await readdir(world.lockDir)).filter((f) => /^[0-9a-f]{64}\.lock$/.test(f))).to.have.length(1);
    });
  });

  describe("the ten defects of ecr-sync.sh, each a behaviour now", () => {
    /** Whether nobody holds a lock file: flock --nonblock in the worker root takes it at once. */
    const lockIsFree = (file: string) =>
      spawnSyncInWorkerRoot(["flock", "--nonblock", "--exclusive", file, "true"]).status === 0;

    it("1. a registry that stalls mid-copy ends the copy with exit 7 within the bound, and frees the tag's lock", async () => {
      const { target, args, map } = await pair();
      // The target accepts connections but never answers a write carrying data (skopeo's blob
      // uploads and the manifest PUT): reads and the login still answer.
      const stalled = await trickProxy(world.target.host, (method) =>
        method === "PUT" || method === "PATCH" ? { stall: true } : undefined,
      );
      const started = Date.now();
      const result = await world.run(args, {
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
      const root = await mkdtemp(join(scratch, "symlinked-"));
      const elsewhere = join(root, "elsewhere");
      await mkdir(elsewhere, { mode: 0o700 });
      const link = join(root, "ecr-sync");
      await symlink(elsewhere, link);
      const { target, args, map } = await pair();
      const result = await world.run(args, { ...map, ECR_SYNC_STATE_DIR: link });
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include(
        `state directory ${link} is a symlink, not a directory: not followed`,
      );
      expect(await readdir(elsewhere), "nothing written where the link points").to.deep.equal([]);
      expect(await world.target.tags(target)).to.deep.equal([]);
    });

    it("3. clearing the state directory during a reconcile: no copy runs unlocked; each is refused with exit 3, and the next run copies", async () => {
      const { source, target, image, map } = await pair("a");
      await world.pushToSource(image, source, "b");
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
      const result = await world.run(["reconcile"], {
        ...map,
        PATH: path,
        ECR_SYNC_RECONCILE_PARALLELISM: "1",
      });
      expect(result.code, result.stderr).to.equal(3);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed", "failed", "reconcile"]);
      expect(result.lines[0].error).to.include("was removed or replaced during the copy");
      expect(result.lines[1].error).to.include("locks was removed during this run");
      expect(await world.target.tags(target)).to.deep.equal(["a"]);

      const next = await world.run(["reconcile"], map);
      expect(next.code, next.stderr).to.equal(0);
      expect(next.lines.map((line) => line.result)).to.deep.equal(["unchanged", "copied", "reconcile"]);
      expect(await world.target.tags(target)).to.deep.equal(["a", "b"]);
    });

    it("4. a manifest answered 200 without Docker-Content-Digest is a failure naming the registry, never superseded", async () => {
      const { target, image, args, map } = await pair();
      const source = await trickProxy(world.source.host, (method, path) =>
        method === "HEAD" && path.includes("/manifests/")
          ? { dropHeaders: ["Docker-Content-Digest"] }
          : undefined,
      );
      for (const run of [args, [...args, "--digest", image.digest]]) {
        const result = await world.run(run, { ...map, ECR_SYNC_SOURCE_REGISTRY: source });
        expect(result.code, result.stderr).to.equal(1);
        expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
        expect(result.lines[0].error).to.include(`source side: registry ${source} answered HTTP 200`);
        expect(result.lines[0].error).to.include("without a valid Docker-Content-Digest header");
      }
      expect(await world.target.tags(target)).to.deep.equal([]);
    });

    it("5. a clock set back 30 days trusts no credential: every run fetches its own, and copies", async () => {
      const { target, image, args, map } = await pair();
      expect((await world.run(args, map)).code).to.equal(0);
      await world.pushToSource(image, map.ECR_SYNC_REPOSITORY_MAP.split('"')[1], "v2");
      const mark = world.awsCalls.mark();
      const result = await world.spawn([...args.slice(0, -1), "v2"], map, {
        prefix: ["faketime", "-f", "-30d"],
      }).result;
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["copied"]);
      expect(callNames(world.awsCalls.since(mark)).sort()).to.deep.equal([
        "ecr DescribeRepositories",
        "ecr GetAuthorizationToken",
        "ecr GetAuthorizationToken",
        "sts AssumeRole",
      ]);
      expect(await world.target.tags(target)).to.deep.equal(["v1", "v2"]);
    });

    it("6. a source blob cut short once is retried; cut short every time, the failure names the source", async () => {
      const { target, image, args, map } = await pair();
      const layer = image.layers[0].digest;
      let cuts = 0;
      const once = await trickProxy(world.source.host, (method, path) =>
        method === "GET" && path.endsWith(`/blobs/${layer}`) && cuts++ === 0
          ? { cutBodyAt: 1024 }
          : undefined,
      );
      const retried = await world.run(args, { ...map, ECR_SYNC_SOURCE_REGISTRY: once });
      expect(retried.code, retried.stderr).to.equal(0);
      expect(retried.lines.map((line) => line.result)).to.deep.equal(["copied"]);
      expect(cuts, "the blob was asked for again after the cut").to.be.at.least(2);

      const other = await pair();
      const always = await trickProxy(world.source.host, (method, path) =>
        method === "GET" && path.endsWith(`/blobs/${other.image.layers[0].digest}`)
          ? { cutBodyAt: 1024 }
          : undefined,
      );
      const failed = await world.run(other.args, { ...other.map, ECR_SYNC_SOURCE_REGISTRY: always });
      expect(failed.code, failed.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(failed.lines[0].error).to.include(`source side: registry ${always}`);
      expect(failed.lines[0].error).to.include(other.image.layers[0].digest);
      expect(await world.target.tags(other.target)).to.deep.equal([]);
      void target;
    });

    it("7. a full state file system is exit 3 with a result line, not a registry failure", async () => {
      const { args, map } = await pair();
      const full = await mkdtemp(join(scratch, "full-"));
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
      const result = await world.spawn(args, { ...map, ECR_SYNC_STATE_DIR: full }, { prefix }).result;
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines.map((line) => line.result)).to.deep.equal(["failed"]);
      expect(result.lines[0].error).to.include("the file system is full");
      expect(result.lines[0].error).not.to.include("unavailable");
    });

    it("8. a read-only state directory is exit 3 with a result line", async () => {
      const { args, map } = await pair();
      const readOnly = await mkdtemp(join(scratch, "read-only-"));
      for (const dir of ["locks", "runs"]) await mkdir(join(readOnly, dir), { mode: 0o700 });
      const prefix = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", readOnly, readOnly, "--"];
      const result = await world.spawn(args, { ...map, ECR_SYNC_STATE_DIR: readOnly }, { prefix }).result;
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
        const result = await world.run([...args, "--pushed-at", pushedAt], map);
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

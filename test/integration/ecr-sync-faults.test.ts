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
import { FaultProxy, startFaultProxy } from "../../local/fault-proxy";
import { freePort } from "../../local/ports";
import { Registry, startRegistry } from "../../local/registry";
import { spawnSyncInWorkerRoot, workerToolPath } from "../../local/worker-root";
import {
  copyArgs,
  EcrSyncWorld,
  ecrPassword,
  SCRIPT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";

const execFileAsync = promisify(execFile);
const NOBODY = 65534;
/** The user the tests (and so the script) run as: root under .ci/run, the runner user on GitHub. */
const ME = process.getuid?.() ?? 0;
const EXIT_CONFIG = 3;
const EXIT_AUTH = 4;
const EXIT_UNAVAILABLE = 7;

/**
 * ec2-scripts/ecr-sync.sh when the world around it misbehaves: a registry stopped mid-run, STS
 * refusing connections, ECR and registries throttling or failing, and a state directory that
 * someone else prepared. Real servers throughout (docker-registry, moto_server, skopeo, curl, the
 * AWS CLI); faults come from wrappers on PATH that act just before the real tool runs, and from
 * local/fault-proxy.ts, a test tool in front of the real registry or moto.
 */
describe("ecr-sync.sh under faults", function () {
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
      // A state directory of its own, so each case starts with an empty credential cache: the
      // faults here are met by the login, which a warm cache skips.
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
      expect(result.lines[0].error).to.include("connection refused");
      expect(result.stderr).not.to.match(/rejected the ECR password|ECR_SYNC_TARGET_ROLE_ARN/);
    });

    it("exits 7 naming the target registry when it does not answer the login at all", async () => {
      const { args, map } = await pair();
      const closed = `127.0.0.1:${await freePort()}`;
      const result = await world.run(args, { ...map, ECR_SYNC_TARGET_REGISTRY: closed });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].error).to.include(
        `target side: registry ${closed} is unavailable (no connection`,
      );
      expect(result.stderr).not.to.match(/rejected the ECR password|check that ECR_SYNC_TARGET_ROLE_ARN/);
    });

    it("exits 7 naming STS as unavailable when STS refuses connections", async () => {
      const { target, args, map } = await pair();
      const closedPort = await freePort();
      // Every `aws sts` call goes to a closed loopback port; every other aws call is untouched.
      const path = await wrapperPath(
        "aws",
        `if [ "$1" = sts ]; then exec '${workerToolPath("aws")}' "$@" --endpoint-url 'http://127.0.0.1:${closedPort}'; fi`,
      );
      const mark = await world.target.mark();
      const result = await world.run(args, { ...map, PATH: path });
      expect(result.code, result.stderr).to.equal(EXIT_UNAVAILABLE);
      expect(result.lines[0].result).to.equal("failed");
      expect(result.lines[0].error).to.include("target side: STS is unavailable (aws sts assume-role");
      expect(result.lines[0].error).to.include(
        `Could not connect to the endpoint URL: "http://127.0.0.1:${closedPort}/"`,
      );
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
      expect(50 - proxy.pendingFaults(), "the CLI's two attempts").to.equal(2);
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
      expect(result.lines[0].error).to.include("target side: STS refused aws sts assume-role");
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
      targetProxy.inject({ path: /^\/v2\/$/, times: 2, fault: throttled }); // the login check (curl)
      targetProxy.inject({ path: /\/manifests\//, method: "HEAD", times: 2, fault: throttled }); // the reads (curl)
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
        `target side: registry ${targetProxy.host} is unavailable (HTTP 429: still throttling after curl's retries)`,
      );
      expect(50 - targetProxy.pendingFaults(), "one try and curl's 3 retries").to.equal(4);
      expect(await world.target.tags(target)).to.deep.equal([]);
    });
  });

  describe("a password refused during the copy", () => {
    it("is renewed once when it came from the cache, and the copy goes on", async () => {
      const { source, target, args, map } = await pair();
      const targetProxy = await proxyFor(world.target.host);
      const env = { ...map, ECR_SYNC_TARGET_REGISTRY: targetProxy.host };
      // The first copy fills the cache with the target registry's password (for the proxy's host).
      expect((await world.run(args, env)).code).to.equal(0);
      const next = await world.layout.addImage({ layers: [{ size: 16 * 1024 }], label: unique("next") });
      await world.pushToSource(next, source, "v2");
      // The registry turns the cached password away once, at the manifest's PUT: after every read.
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
      const result = await world.run(copyArgs(source, target, "v2"), env);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines.map((line) => [line.result, line.digest])).to.deep.equal([["copied", next.digest]]);
      expect(result.stderr).to.include(
        `target side: registry ${targetProxy.host} rejected the ECR password in use (cached or near its end); fetching a new one`,
      );
      expect(targetProxy.pendingFaults()).to.equal(0);
      expect(await world.target.digestOf(target, "v2")).to.equal(next.digest);
    });
  });

  describe("skopeo's failures, as skopeo prints them", () => {
    /** skopeo_failure, sourced from the script, on one stderr line. */
    function classify(line: string): { code: number; message: string } {
      const program = [
        'source "$1"',
        "ECR_SYNC_SOURCE_REGISTRY=127.0.0.1:5000 ECR_SYNC_TARGET_REGISTRY=127.0.0.1:5001",
        'printf "%s\\n" "$2" > "$3"',
        'skopeo_failure "$3"',
      ].join("\n");
      const file = join(scratch, unique("skopeo.err"));
      const run = spawnSyncInWorkerRoot(["bash", "-c", program, "bash", SCRIPT, line, file]);
      return { code: run.status ?? -1, message: run.stdout.trim() };
    }

    // Lines seen from skopeo 1.9.3 here, against docker-registry and local/fault-proxy.ts; the live cases
    // above run the worker root's skopeo 1.18, whose lines for them the same classification reads.
    const cases: Array<[string, number, string]> = [
      [
        'level=fatal msg="trying to reuse blob sha256:7abd at destination: pinging container registry 127.0.0.1:5001: Get \\"http://127.0.0.1:5001/v2/\\": dial tcp 127.0.0.1:5001: connect: connection refused"',
        EXIT_UNAVAILABLE,
        "target side: registry 127.0.0.1:5001 is unavailable",
      ],
      [
        'level=fatal msg="writing manifest: uploading manifest t6 to 127.0.0.1:5001/dst: received unexpected HTTP status: 503 Service Unavailable"',
        EXIT_UNAVAILABLE,
        "target side: registry 127.0.0.1:5001 is unavailable",
      ],
      [
        'level=fatal msg="writing manifest: uploading manifest t8 to 127.0.0.1:5001/dst: toomanyrequests: Rate exceeded"',
        EXIT_UNAVAILABLE,
        "target side: registry 127.0.0.1:5001 is unavailable",
      ],
      [
        'level=fatal msg="writing manifest: Put \\"http://127.0.0.1:5001/v2/dst/manifests/t9\\": EOF"',
        EXIT_UNAVAILABLE,
        "target side: registry 127.0.0.1:5001 is unavailable",
      ],
      [
        'level=fatal msg="reading blob sha256:fbf0: Error fetching blob: invalid status code from registry 503 (Service Unavailable)"',
        EXIT_UNAVAILABLE,
        "source side: registry 127.0.0.1:5000 is unavailable",
      ],
      [
        'level=fatal msg="writing manifest: uploading manifest t12 to 127.0.0.1:5001/dst: unauthorized: authentication required"',
        EXIT_AUTH,
        "target side: registry 127.0.0.1:5001 refused the ECR password",
      ],
      [
        // A 401 whose body is the registry API's UNAUTHORIZED error (local/fault-proxy.ts).
        'level=fatal msg="writing manifest: uploading manifest v2 to 127.0.0.1:5001/dst: unauthorized"',
        EXIT_AUTH,
        "target side: registry 127.0.0.1:5001 refused the ECR password",
      ],
      [
        'level=fatal msg="writing manifest: uploading manifest t13 to 127.0.0.1:5001/dst: denied: requested access to the resource is denied"',
        EXIT_AUTH,
        "target side: registry 127.0.0.1:5001 refused the ECR password",
      ],
      [
        'level=fatal msg="copying system image from manifest list: manifest unknown"',
        1,
        "skopeo copy failed: copying system image",
      ],
    ];
    for (const [line, code, message] of cases) {
      it(`reads "${line.slice(17, 75)}…" as exit ${code}`, () => {
        const result = classify(line);
        expect(result.code, result.message).to.equal(code);
        expect(result.message).to.include(message);
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
    it("pair each tag with its own answer: curl's parallel answers are put back in the order asked", async () => {
      const { source, target, image, map } = await pair("a-same");
      const changed = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("changed") });
      const missing = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("missing") });
      await world.pushToSource(changed, source, "b-changed");
      await world.pushToSource(missing, source, "c-missing");
      await world.pushToTarget(image, target, "a-same");
      await world.pushToTarget(image, target, "b-changed");
      // curl answers every parallel batch in the reverse of the order asked, as a slow first
      // request would: each answer carries its URL, which is all the script may go by.
      const dir = await mkdtemp(join(scratch, "curl-reversed-"));
      await writeFile(
        join(dir, "curl"),
        [
          "#!/bin/sh",
          'case " $* " in',
          `  *" --parallel "*) '${workerToolPath("curl")}' "$@" | tac ;;`,
          `  *) exec '${workerToolPath("curl")}' "$@" ;;`,
          "esac",
          "",
        ].join("\n"),
      );
      await chmod(join(dir, "curl"), 0o755);
      // One copy at a time keeps the lines in the tags' order.
      const result = await world.run(["reconcile"], {
        ...map,
        PATH: `${dir}:${process.env.PATH ?? ""}`,
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
        "maps two sources to one target (kuali-coeus and kuali-coeus-feature -> coeus)",
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
    it("refuses (exit 3) when the AWS CLI drops a *_WITH_EXCLUSION repository's filters, instead of guessing", async () => {
      const source = unique("kuali-coeus");
      const target = unique("coeus");
      await world.createTargetRepository(target, "IMMUTABLE_WITH_EXCLUSION", ["dev*"]);
      const image = await world.layout.addImage({ layers: [{ size: 8 * 1024 }] });
      await world.pushToSource(image, source, "dev-1");
      // The worker's own CLI: Debian 13's awscli 2.23.6 has no model for the filters (ECR added them
      // later) and drops them from the answer, though moto returns them.
      const result = await world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", "dev-1"],
        { ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }) },
      );
      expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
      expect(result.lines[0].error).to.include(
        `target repository '${target}' is IMMUTABLE_WITH_EXCLUSION but the AWS CLI returned no exclusion filters: this CLI (aws-cli/2.23.6) predates them`,
      );
      expect(await world.target.tags(target)).to.deep.equal([]);
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
});

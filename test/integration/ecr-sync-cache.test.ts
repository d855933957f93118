import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { spawnSyncInWorkerRoot } from "../../local/worker-root";
import { BuiltImage } from "../../local/oci";
import {
  AwsCall,
  callNames,
  copierBundle,
  copyArgs,
  ecrPassword,
  EcrSyncWorld,
  recordingPath,
  RunResult,
  ScriptProcess,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";
import { lockName } from "../../ec2-scripts/copier/lock";

/**
 * What a run of the copier costs and what it keeps, against the real servers. The bash copier
 * kept a credential cache between runs (STATE_DIR/cache) to avoid starting the AWS CLI; the
 * TypeScript copier keeps nothing between runs: each run assumes the target role and fetches both
 * ECR passwords with the SDK (a few milliseconds each), renews them by the monotonic clock during
 * a long reconcile, and writes them only into its own run directory (skopeo's auth files), removed
 * when it ends. Here: the AWS calls a copy makes (counted by the recorder in front of moto), a
 * burst, a run killed mid-transfer, passwords off every command line, and a reconcile's
 * parallelism. Every interleaving is forced by a wrapper that waits for the state it needs.
 */

const EXIT_CONFIG = 3;

const base64 = (text: string) => Buffer.from(text).toString("base64");
/** The password moto's ECR hands out for an account, as auth files hold it: base64 "AWS:…". */
const authOf = (account: string) => base64(`AWS:${ecrPassword(account)}`);
/** Every form a password could leak in: plain, and base64 "AWS:…" as auth files and headers carry it. */
const SECRETS = [SOURCE_ACCOUNT, TARGET_ACCOUNT].flatMap((account) => [
  ecrPassword(account),
  authOf(account),
]);

/** The AWS calls of one copy: the role, a password per side, the target repository. */
const ONE_COPY = [
  "ecr DescribeRepositories",
  "ecr GetAuthorizationToken",
  "ecr GetAuthorizationToken",
  "sts AssumeRole",
];

/** The calls' names, sorted (the SDK makes them side by side). */
const sortedNames = (calls: readonly AwsCall[]) => callNames(calls).sort();

/** `promise`, or a failure naming `what` after `seconds`: a wait that fails the test instead of hanging. */
async function within<T>(seconds: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `file` exists; rejects if `run` ends first (it never got there). */
async function fileAppears(file: string, run: ScriptProcess): Promise<void> {
  let ended: RunResult | undefined;
  void run.result.then((result) => (ended = result));
  for (;;) {
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      return;
    if (ended)
      throw new Error(`the run ended (exit ${ended.code}) before ${file} appeared:\n${ended.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The live (not zombie) processes of process group `group`, with their command lines. */
async function processGroup(group: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const statLine = await readFile(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
      const [state, , pgrp] = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) !== group || state === "Z") continue;
      const cmdline = (await readFile(`/proc/${name}/cmdline`, "utf8")).split("\0").join(" ").trim();
      found.push({ pid: Number(name), cmdline });
    } catch {
      // The process ended while it was read.
    }
  }
  return found;
}

/** Resolves once `run`'s copy is held mid-transfer by `proxy`; fails if the run ends first. */
function stalledMidTransfer(proxy: { readonly stalled: Promise<void> }, run: ScriptProcess): Promise<void> {
  return within(
    60,
    "the copy reaching the transfer of a layer",
    Promise.race([
      proxy.stalled,
      run.result.then((r) => {
        throw new Error(`the run ended (exit ${r.code}) before the transfer:\n${r.stderr}`);
      }),
    ]),
  );
}

/** Whether `pid` has ended but is not reaped yet (state Z); false once it is gone. */
function isZombie(pid: number): boolean {
  try {
    const statLine = readFileSync(`/proc/${pid}/stat`, "utf8");
    return statLine.slice(statLine.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** Every regular file below `root` (symlinks not followed), except below `excluded` directories. */
async function filesBelow(root: string, excluded: ReadonlySet<string>): Promise<string[]> {
  if (excluded.has(root)) return [];
  const info = await lstat(root).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [root];
  if (!info.isDirectory()) return [];
  const names = await readdir(root).catch(() => [] as string[]);
  const nested = await Promise.all(names.map((name) => filesBelow(join(root, name), excluded)));
  return nested.flat();
}

/** "FILE holds SECRET" for each of `files` that holds one of SECRETS. */
async function secretsIn(files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    const content = await readFile(file).catch(() => undefined);
    if (!content) continue;
    for (const secret of SECRETS) if (content.includes(secret)) found.push(`${file} holds ${secret}`);
  }
  return found;
}

/**
 * A proxy in front of a registry that forwards everything, except that the first blob download
 * gets its headers and first KiB and then nothing more: the client is mid-transfer, held there
 * until its connection closes. `stalled` resolves when that happens.
 */
async function startStallingProxy(upstream: string) {
  const [upstreamHost, upstreamPort] = upstream.split(":");
  let stall!: () => void;
  const stalled = new Promise<void>((resolve) => (stall = resolve));
  let held = false;
  const server = http.createServer((request, response) => {
    const forwarded = http.request(
      {
        host: upstreamHost,
        port: Number(upstreamPort),
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        const blob = request.method === "GET" && /\/blobs\/sha256:/.test(request.url ?? "");
        if (!blob || answer.statusCode !== 200 || held) {
          answer.pipe(response);
          return;
        }
        held = true;
        answer.once("data", (chunk: Buffer) => {
          response.write(chunk.subarray(0, 1024));
          answer.destroy();
          stall();
        });
      },
    );
    forwarded.once("error", () => request.socket.destroy());
    response.once("error", () => undefined);
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stalled,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("ecr-sync: what a run costs and keeps", function () {
  this.timeout(120000);
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  /** Every ECR_SYNC_STATE_DIR given out: a running copier's run directory holds passwords on purpose. */
  const stateDirs = new Set<string>();

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
    scratch = await mkdtemp(join(world.scriptTmpDir, "..", "cache-"));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  after(async () => {
    await world?.stop();
  });

  /** A state directory that does not exist yet (the copier creates it). */
  function freshStateDir(): string {
    const dir = join(scratch, unique("state"));
    stateDirs.add(dir);
    return dir;
  }

  // The OCI layout's index.json is rewritten on every push: pushes take turns.
  let pushes: Promise<unknown> = Promise.resolve();
  function push(image: BuiltImage, repository: string, tag: string): Promise<void> {
    const pushed = pushes.then(() => world.pushToSource(image, repository, tag));
    pushes = pushed.catch(() => undefined);
    return pushed;
  }

  const newImage = () => world.layout.addImage({ layers: [{ size: 48 * 1024 }, { size: 4 * 1024 }] });

  /**
   * A mapped pair whose source holds one image under each of `tags` (the same one, or with
   * `distinct` one each), an empty state directory, and a PATH that records every skopeo and flock
   * command line. `take()` gives the lines recorded since the last take(), `env` what every run of
   * the pair needs.
   */
  async function pair(tags: readonly string[], { distinct = false } = {}) {
    const source = unique("kuali-coeus");
    const target = unique("coeus");
    await world.createTargetRepository(target);
    const image = await newImage();
    const images: Record<string, BuiltImage> = {};
    for (const tag of tags) {
      images[tag] = distinct && tag !== tags[0] ? await newImage() : image;
      await push(images[tag], source, tag);
    }
    const stateDir = freshStateDir();
    const log = join(scratch, unique("calls.log"));
    const path = await recordingPath(join(scratch, unique("recording")), log);
    let seen = 0;
    return {
      source,
      target,
      image,
      images,
      stateDir,
      path,
      env: {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
        ECR_SYNC_STATE_DIR: stateDir,
        PATH: path,
      },
      copy: (tag: string) => copyArgs(source, target, tag),
      async take(): Promise<string[]> {
        const lines = (await readFile(log, "utf8").catch(() => "")).split("\n").filter((line) => line !== "");
        const fresh = lines.slice(seen);
        seen = lines.length;
        return fresh;
      },
    };
  }

  /** A PATH whose `tool` is the sh script `body`, where $real is the `tool` that `path` runs. */
  async function hook(path: string, tool: string, body: string): Promise<string> {
    const real = spawnSyncInWorkerRoot(["sh", "-c", 'command -v "$1"', "sh", tool], {
      env: { PATH: path },
    }).stdout.trim();
    if (real === "") throw new Error(`${tool} is not on ${path}`);
    const dir = await mkdtemp(join(scratch, `${tool}-hook-`));
    await writeFile(join(dir, tool), `#!/bin/sh\nreal='${real}'\n${body}\n`);
    await chmod(join(dir, tool), 0o755);
    return `${dir}:${path}`;
  }

  function expectCopied(result: RunResult, digest: string, what = "the copy"): void {
    expect(result.code, `${what}: ${result.stderr}`).to.equal(0);
    expect(
      result.lines.map((line) => [line.result, line.digest]),
      what,
    ).to.deep.equal([["copied", digest]]);
  }

  describe("AWS calls", () => {
    it("a copy assumes the role, fetches a password per side and describes the target repository, once each; the next run the same", async () => {
      const p = await pair(["v1"]);
      const mark = world.awsCalls.mark();
      expectCopied(await world.run(p.copy("v1"), p.env), p.image.digest, "the first copy");
      expect(sortedNames(world.awsCalls.since(mark)), "AWS calls of the first copy").to.deep.equal(ONE_COPY);
      const roleKeys = world.awsCalls.since(mark).filter((call) => call.operation !== "AssumeRole");
      expect(
        new Set(roleKeys.map((call) => call.accessKeyId)).size,
        "the worker's key and the role's",
      ).to.equal(2);

      const again = world.awsCalls.mark();
      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const unchanged = await world.run(p.copy("v1"), p.env);
      expect(unchanged.code, unchanged.stderr).to.equal(0);
      expect(unchanged.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["unchanged", p.image.digest],
      ]);
      expect(sortedNames(world.awsCalls.since(again)), "nothing kept from the run before").to.deep.equal(
        ONE_COPY,
      );
      const pulled = await world.source.blobTraffic(sourceMark);
      const pushed = await world.target.blobTraffic(targetMark);
      expect([pulled.blobDownloadBytes, pushed.blobUploadBytes], "layer bytes moved").to.deep.equal([0, 0]);
      expect(await readdir(join(p.stateDir, "runs")), "no run directory left").to.deep.equal([]);
      expect(await readdir(p.stateDir), "nothing but locks and runs in the state directory").to.deep.equal([
        "locks",
        "runs",
      ]);
    });

    it("8 copies started at once: each makes its own calls, and every tag arrives", async function () {
      this.timeout(180000);
      const tags = Array.from({ length: 8 }, (_, i) => `burst-${i}`);
      // One image each: docker-registry 2.8 answers 500 now and then when several clients push the
      // same blob into one repository at once (ECR does not).
      const p = await pair(tags, { distinct: true });
      const mark = world.awsCalls.mark();
      const results = await Promise.all(tags.map((tag) => world.run(p.copy(tag), p.env)));
      results.forEach((result, i) => expectCopied(result, p.images[tags[i]].digest, tags[i]));
      expect(sortedNames(world.awsCalls.since(mark))).to.deep.equal(tags.flatMap(() => ONE_COPY).sort());
      expect(await world.target.tags(p.target)).to.deep.equal([...tags].sort());
    });
  });

  describe("a run killed with SIGKILL to its process group mid-transfer", () => {
    it("leaves no password outside the state directory, and the next run removes its files and succeeds", async () => {
      const p = await pair(["v1"]);
      const proxy = await startStallingProxy(world.source.host);
      cleanups.push(() => proxy.stop());
      const env = { ...p.env, ECR_SYNC_SOURCE_REGISTRY: proxy.host };
      const tmpBefore = new Set(await readdir("/tmp"));
      const varTmpBefore = new Set(await readdir("/var/tmp"));

      const run = world.spawn(p.copy("v1"), env, { detached: true });
      await stalledMidTransfer(proxy, run);
      const group = await processGroup(run.pid);
      expect(group.map((process) => process.cmdline).join("\n")).to.match(/skopeo copy /);
      // The copier's own pid names its run directory; bwrap, which started it in the worker root, leads the group.
      const scriptPid = group.find((process) => process.cmdline.startsWith(`node ${copierBundle()} `))?.pid;
      expect(scriptPid, "the copier's process in the group").to.be.a("number");
      process.kill(-run.pid, "SIGKILL");
      const killed = await within(30, "the killed run's end", run.result);
      expect(killed.code, "killed, not ended").to.equal(-1);
      expect(killed.lines).to.deep.equal([]);
      // ...and the copier's own process reaped, not a zombie: in the worker root its parent was bwrap,
      // killed with it, so this machine's init reaps it, and until then its pid is alive to kill -0
      // (the next run would rightly pass its directory over).
      await within(
        30,
        "every process of the killed group ending, the copier's reaped",
        (async () => {
          while ((await processGroup(run.pid)).length > 0 || existsSync(`/proc/${scriptPid}`))
            await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
      );

      // Everywhere a run may write outside its STATE_DIR: TMPDIR and HOME (the world's directory,
      // which holds the scratch directories), and what is new in /tmp and /var/tmp. Every state
      // directory is left out: a killed run's directory holds its auth files until the next run. The test tools' own push auth
      // directories (local/oci.ts, ecr-sync-auth-*) are left out too, and so are the worlds of test
      // files running alongside (ecr-sync-world-*, ecr-sync-twin-*: their own copiers' state
      // directories hold auth files on purpose): none of them is this copier's.
      const worldDir = dirname(world.scriptTmpDir);
      const newIn = async (dir: string, before: Set<string>) =>
        (await readdir(dir))
          .filter(
            (name) =>
              !before.has(name) &&
              !["ecr-sync-auth-", "ecr-sync-copier-", "ecr-sync-world-", "ecr-sync-twin-"].some((prefix) =>
                name.startsWith(prefix),
              ),
          )
          .map((name) => join(dir, name));
      const roots = [
        worldDir,
        ...(await newIn("/tmp", tmpBefore)),
        ...(await newIn("/var/tmp", varTmpBefore)),
      ];
      const files = (await Promise.all(roots.map((root) => filesBelow(root, stateDirs)))).flat();
      expect(files.length, "files searched").to.be.above(0);
      expect(await secretsIn(files), "passwords outside the state directory").to.deep.equal([]);

      const runsDir = join(p.stateDir, "runs");
      const left = await readdir(runsDir);
      expect(left.map((name) => name.replace(/\.[A-Za-z0-9]{6}$/, ".XXXXXX"))).to.deep.equal([
        `${scriptPid}.XXXXXX`,
      ]);
      // The search would have seen a password: the dead run's files hold one, inside STATE_DIR.
      expect(await secretsIn(await filesBelow(join(runsDir, left[0]), new Set()))).not.to.deep.equal([]);

      const next = await world.run(p.copy("v1"), env);
      expectCopied(next, p.image.digest, "the next run");
      expect(next.stderr).to.include(`removed ${join(runsDir, left[0])}: left by a run that was killed`);
      expect(await readdir(runsDir)).to.deep.equal([]);
    });
  });

  describe("the copier alone killed with SIGKILL mid-transfer (the OOM killer, kill -9 of its pid)", () => {
    it("takes its skopeo with it, so no orphan writes the tag after its lock is gone; the next copy brings the newer image", async () => {
      const p = await pair(["v1"]);
      const proxy = await startStallingProxy(world.source.host);
      cleanups.push(() => proxy.stop());
      const env = { ...p.env, ECR_SYNC_SOURCE_REGISTRY: proxy.host };
      const run = world.spawn(p.copy("v1"), env, { detached: true });
      cleanups.push(async () => {
        try {
          process.kill(-run.pid, "SIGKILL");
        } catch {
          // The group has ended.
        }
      });
      await stalledMidTransfer(proxy, run);
      const group = await processGroup(run.pid);
      const copier = group.find((process) => process.cmdline.startsWith(`node ${copierBundle()} `))?.pid;
      const skopeo = group
        .filter((process) => / copy --command-timeout /.test(process.cmdline))
        .map((p) => p.pid);
      expect(copier, "the copier's process in the group").to.be.a("number");
      expect(skopeo, "its skopeo, mid-transfer").not.to.deep.equal([]);

      process.kill(copier as number, "SIGKILL");
      // Held by the stalled transfer, an orphaned skopeo would live until its --command-timeout.
      await within(
        15,
        "skopeo ending with the copier",
        (async () => {
          while (skopeo.some((pid) => existsSync(`/proc/${pid}/cmdline`) && !isZombie(pid)))
            await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
      );

      const newer = await newImage();
      await push(newer, p.source, "v1");
      expectCopied(await world.run(p.copy("v1"), p.env), newer.digest, "the next copy");
      expect(await world.target.digestOf(p.target, "v1")).to.equal(newer.digest);
    });
  });

  describe("a skopeo that outlives its copier (killed before setpriv set its parent-death signal)", () => {
    it("keeps the tag's lock until it ends: no other copy of the tag can write meanwhile", async () => {
      const p = await pair(["v1"]);
      const proxy = await startStallingProxy(world.source.host);
      cleanups.push(() => proxy.stop());
      // The race made certain: this setpriv sets no parent-death signal, as if the copier had died
      // before the real one could.
      const path = await hook(p.path, "setpriv", '[ "$1" = --pdeathsig ] && shift 2\nexec "$@"');
      const env = { ...p.env, PATH: path, ECR_SYNC_SOURCE_REGISTRY: proxy.host };
      const run = world.spawn(p.copy("v1"), env, { detached: true });
      cleanups.push(async () => {
        try {
          process.kill(-run.pid, "SIGKILL");
        } catch {
          // The group has ended.
        }
      });
      await stalledMidTransfer(proxy, run);
      const group = await processGroup(run.pid);
      const copier = group.find((process) => process.cmdline.startsWith(`node ${copierBundle()} `))?.pid;
      const skopeo = group
        .filter((process) => / copy --command-timeout /.test(process.cmdline))
        .map((x) => x.pid);
      expect(copier, "the copier's process in the group").to.be.a("number");
      expect(skopeo, "its skopeo, mid-transfer").not.to.deep.equal([]);
      process.kill(copier as number, "SIGKILL");
      await within(
        15,
        "the copier's end",
        (async () => {
          while (existsSync(`/proc/${copier}/cmdline`) && !isZombie(copier as number))
            await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
      );
      const lockFile = join(p.stateDir, "locks", `${lockName(p.target, "v1")}.lock`);
      const tryLock = () =>
        spawnSyncInWorkerRoot(["flock", "--exclusive", "--nonblock", lockFile, "true"], {
          env: { PATH: p.path },
        }).status;
      expect(
        skopeo.every((pid) => existsSync(`/proc/${pid}/cmdline`)),
        "skopeo outlived its copier",
      ).to.equal(true);
      expect(tryLock(), "the tag's lock while the orphaned skopeo lives").to.equal(1);
      for (const pid of skopeo) process.kill(pid, "SIGKILL");
      await within(
        15,
        "the orphaned skopeo's end",
        (async () => {
          while (skopeo.some((pid) => existsSync(`/proc/${pid}/cmdline`) && !isZombie(pid)))
            await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
      );
      expect(tryLock(), "the tag's lock once it has ended").to.equal(0);
    });
  });

  describe("no password on a command line or in the output", () => {
    it("during two copies: not in any recorded skopeo or flock argv, any /proc/*/cmdline of the run, stdout or stderr", async () => {
      const p = await pair(["v1", "v2"]);
      for (const [what, tag] of [
        ["first", "v1"],
        ["second", "v2"],
      ]) {
        const flags = await mkdtemp(join(scratch, `${what}-`));
        // skopeo copy waits until the test has read every command line of the run (60 s at most).
        const path = await hook(
          p.path,
          "skopeo",
          [
            `if [ "$1" = copy ]; then`,
            `  : >'${flags}/blocked'`,
            "  i=0",
            `  while [ ! -e '${flags}/release' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done`,
            "fi",
            'exec "$real" "$@"',
          ].join("\n"),
        );
        const calls = world.awsCalls.mark();
        const run = world.spawn(p.copy(tag), { ...p.env, PATH: path }, { detached: true });
        await within(60, `the ${what} copy reaching skopeo copy`, fileAppears(join(flags, "blocked"), run));
        const commandLines = (await processGroup(run.pid)).map((process) => process.cmdline);
        await writeFile(join(flags, "release"), "");
        const result = await run.result;
        expectCopied(result, p.image.digest, `the ${what} copy`);
        expect(sortedNames(world.awsCalls.since(calls)), what).to.deep.equal(ONE_COPY);

        expect(commandLines.join("\n"), `${what}: the run's processes`).to.include(
          `node ${copierBundle()} copy `,
        );
        expect(commandLines.join("\n"), `${what}: the run's processes`).to.match(/skopeo copy /);
        const recorded = await p.take();
        expect(
          recorded.filter((line) => line.startsWith("skopeo copy ")),
          what,
        ).to.have.length(1);
        expect(
          recorded.filter((line) => line.startsWith("flock ")),
          what,
        ).to.have.length(1);
        for (const secret of SECRETS) {
          expect(recorded.join("\n"), `${what}: recorded command lines`).not.to.include(secret);
          expect(commandLines.join("\n"), `${what}: /proc/*/cmdline`).not.to.include(secret);
          expect(result.stdout + result.stderr, `${what}: output`).not.to.include(secret);
        }
      }
    });
  });

  describe("reconcile copies missing tags in parallel", function () {
    this.timeout(180000);

    it("4 at a time: 12 missing tags all arrive, one whole JSON object a line, the summary counts them", async () => {
      const tags = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, "0")}`);
      const p = await pair(tags, { distinct: true }); // one image each, as in the burst
      const flags = await mkdtemp(join(scratch, "parallel-"));
      await mkdir(join(flags, "inflight"));
      // Each copy notes how many are in flight as it starts; the first ones wait until 4 are
      // (60 s at most: then it marks the timeout and none waits any more): the overlap is forced.
      const path = await hook(
        p.path,
        "skopeo",
        [
          `if [ "$1" != copy ]; then exec "$real" "$@"; fi`,
          `: >'${flags}/inflight/'$$`,
          `ls '${flags}/inflight' | wc -l >>'${flags}/counts'`,
          "i=0",
          `while [ ! -e '${flags}/overlapped' ] && [ ! -e '${flags}/timeout' ] && [ $i -lt 600 ]; do`,
          `  if [ "$(ls '${flags}/inflight' | wc -l)" -ge 4 ]; then : >'${flags}/overlapped'; break; fi`,
          "  sleep 0.1",
          "  i=$((i + 1))",
          "done",
          `[ -e '${flags}/overlapped' ] || : >'${flags}/timeout'`,
          '"$real" "$@"',
          "status=$?",
          `rm -f '${flags}/inflight/'$$`,
          "exit $status",
        ].join("\n"),
      );
      const result = await world.run(["reconcile"], {
        ...p.env,
        PATH: path,
        ECR_SYNC_RECONCILE_PARALLELISM: "4",
      });
      expect(result.code, result.stderr).to.equal(0);
      expect(await stat(join(flags, "timeout")).catch(() => undefined), "4 copies were in flight").to.equal(
        undefined,
      );
      const counts = (await readFile(join(flags, "counts"), "utf8")).trim().split("\n").map(Number);
      expect(counts, "one count per copy").to.have.length(12);
      expect(Math.max(...counts), "copies in flight at once, at most").to.equal(4);

      expect(result.stdout.endsWith("\n"), "the last line is whole").to.equal(true);
      const lines = result.stdout.slice(0, -1).split("\n");
      expect(lines).to.have.length(13);
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(
        parsed.every((line) => typeof line === "object" && line !== null && !Array.isArray(line)),
      ).to.equal(true);
      const images = parsed.slice(0, -1);
      expect(images.map((line) => line.result)).to.deep.equal(tags.map(() => "copied"));
      expect(images.map((line) => String(line.target).split(":").pop()).sort()).to.deep.equal(tags);
      expect(parsed.at(-1)).to.include({
        result: "reconcile",
        copied: 12,
        unchanged: 0,
        superseded: 0,
        failed: 0,
        unsupported: 0,
        planned: 0,
      });
      for (const tag of tags)
        expect(await world.target.digestOf(p.target, tag), tag).to.equal(p.images[tag].digest);
    });

    for (const value of ["0", "17", "x"]) {
      it(`refuses ECR_SYNC_RECONCILE_PARALLELISM=${value} with exit 3, naming the variable, before any AWS call`, async () => {
        const p = await pair(["v1"]);
        const mark = world.awsCalls.mark();
        const result = await world.run(["reconcile"], { ...p.env, ECR_SYNC_RECONCILE_PARALLELISM: value });
        expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
        expect(result.stderr).to.include(
          `ECR_SYNC_RECONCILE_PARALLELISM='${value}' is not a number of copies at a time from 1 to 16`,
        );
        expect(result.lines).to.deep.equal([]);
        expect(await p.take()).to.deep.equal([]);
        expect(callNames(world.awsCalls.since(mark)), "AWS calls").to.deep.equal([]);
      });
    }
  });
});

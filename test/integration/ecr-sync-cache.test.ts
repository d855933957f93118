import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { spawnSyncInWorkerRoot } from "../../local/worker-root";
import { FaultProxy, startFaultProxy } from "../../local/fault-proxy";
import { BuiltImage } from "../../local/oci";
import { requireTools } from "../../local/registry";
import {
  copyArgs,
  SCRIPT,
  ecrPassword,
  EcrSyncWorld,
  recordingPath,
  RunResult,
  ScriptProcess,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";

/**
 * ec2-scripts/ecr-sync.sh's credential cache (STATE_DIR/cache) against the real servers: what a
 * warm, a cold and an expired cache cost in `aws` processes (counted by a recording wrapper on
 * PATH), a burst that renews once, a reconcile that outlives its role session, entries that must
 * not be trusted, passwords a registry refuses, a run killed mid-transfer, and a repository deleted
 * while its description is cached. Time moves with libfaketime (the `faketime` program), every
 * interleaving is forced by a wrapper that waits for the state it needs, never by a sleep.
 */

const execFileAsync = promisify(execFile);
/** The user the tests (and so the script) run as: root under .ci/run, the runner user on GitHub. */
const ME = process.getuid?.() ?? 0;
const NOBODY = 65534;
const EXIT_CONFIG = 3;
const EXIT_AUTH = 4;
const EXIT_NOT_FOUND = 5;
/** The script's CREDENTIAL_MARGIN_SECONDS: an entry is used until this long before it expires. */
const MARGIN_SECONDS = 600;
const CACHE_FORMAT = "ecr-sync-cache-1";
const REGION = "us-east-1";

const base64 = (text: string) => Buffer.from(text).toString("base64");
/** The password moto's ECR hands out for an account, as the cache and auth files hold it: base64 "AWS:…". */
const authOf = (account: string) => base64(`AWS:${ecrPassword(account)}`);
/** Every form a password could leak in: plain, and base64 "AWS:…" as auth files and headers carry it. */
const SECRETS = [SOURCE_ACCOUNT, TARGET_ACCOUNT].flatMap((account) => [
  ecrPassword(account),
  authOf(account),
]);

/** The `aws` processes of a cold copy: the role, a password per side, the target repository. */
const COLD = {
  "sts assume-role": 1,
  "ecr get-authorization-token": 2,
  "ecr describe-repositories": 1,
};

/** `aws SERVICE COMMAND` lines of a recording (local/world.ts recordingPath), counted by command. */
function awsCounts(lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    const words = line.split(" ");
    if (words[0] !== "aws") continue;
    const command = `${words[1]} ${words[2]}`;
    counts[command] = (counts[command] ?? 0) + 1;
  }
  return counts;
}

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

describe("ecr-sync.sh: the credential cache", function () {
  this.timeout(120000);
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  /** Every ECR_SYNC_STATE_DIR given out: each holds passwords on purpose (its cache). */
  const stateDirs = new Set<string>();

  before(async function () {
    this.timeout(60000);
    await requireTools("faketime");
    world = await startEcrSyncWorld();
    scratch = await mkdtemp(join(world.scriptTmpDir, "..", "cache-"));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  after(async () => {
    await world?.stop();
  });

  /** A state directory that does not exist yet (the script creates it): an empty cache. */
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
   * `distinct` one each), an empty state directory, and a PATH that records every aws, curl and
   * skopeo command line. `take()` gives the lines recorded since the last take(), `env` what every
   * run of the pair needs.
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
  type Pair = Awaited<ReturnType<typeof pair>>;

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

  /**
   * The script under libfaketime with its clock `offset` ahead ("+2h"); monotonic clocks stay real.
   * Through the `faketime` program, not LD_PRELOAD alone: libfaketime 0.9.10 sets FAKETIME_SHARED
   * with setenv while it starts, which in bash is bash's own setenv; bash then looks every variable
   * up in a table it has not filled yet, so FAKETIME_NO_CACHE is lost and bash's clock
   * (EPOCHSECONDS) stays real for the first 10 s. Given FAKETIME_SHARED by `faketime`, it sets none.
   */
  const clockAhead = (offset: string) => ({
    prefix: ["faketime", "-f", offset],
    env: { FAKETIME_DONT_FAKE_MONOTONIC: "1" },
  });
  /** The script's clock read from `file` ("+0", then "+2h" written by a wrapper) at every reading. */
  const clockFromFile = (file: string) => ({
    prefix: ["faketime", "-f", "+0", "env", "-u", "FAKETIME"],
    env: { FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" },
  });

  const entryFile = (stateDir: string, name: string) => join(stateDir, "cache", name);
  const describeEntry = (repository: string) => `describe.${repository.replace(/\//g, "+")}`;
  const ENTRIES = ["role", "password.source", "password.target", "describe"] as const;
  type EntryKind = (typeof ENTRIES)[number];
  const entryName = (p: Pair, kind: EntryKind) => (kind === "describe" ? describeEntry(p.target) : kind);

  async function readEntry(stateDir: string, name: string): Promise<string[]> {
    return (await readFile(entryFile(stateDir, name), "utf8")).replace(/\n$/, "").split("\t");
  }

  async function writeEntry(stateDir: string, name: string, fields: readonly string[]): Promise<void> {
    await writeFile(entryFile(stateDir, name), `${fields.join("\t")}\n`, { mode: 0o600 });
  }

  /**
   * What is wrong with entry `kind` of `p`'s cache (none: []): it must be a regular file of this
   * user, mode 0600, in the cache's format, for this role, region and registry, and fresh.
   */
  async function entryProblems(p: Pair, kind: EntryKind): Promise<string[]> {
    const name = entryName(p, kind);
    const problems: string[] = [];
    const info = await lstat(entryFile(p.stateDir, name));
    if (!info.isFile()) problems.push(`${name}: not a regular file`);
    if (info.uid !== ME) problems.push(`${name}: owned by uid ${info.uid}`);
    if ((info.mode & 0o777) !== 0o600) problems.push(`${name}: mode ${(info.mode & 0o777).toString(8)}`);
    const fields = await readEntry(p.stateDir, name);
    const now = Date.now() / 1000;
    const expected: Record<EntryKind, Array<string | ((value: string) => boolean)>> = {
      role: [CACHE_FORMAT, world.targetRoleArn, REGION, (expiry) => Number(expiry) > now + MARGIN_SECONDS],
      "password.source": [
        CACHE_FORMAT,
        world.source.host,
        "worker",
        REGION,
        (expiry) => Number(expiry) > now + MARGIN_SECONDS,
        authOf(SOURCE_ACCOUNT),
      ],
      "password.target": [
        CACHE_FORMAT,
        world.target.host,
        world.targetRoleArn,
        REGION,
        (expiry) => Number(expiry) > now + MARGIN_SECONDS,
        authOf(TARGET_ACCOUNT),
      ],
      describe: [
        CACHE_FORMAT,
        p.target,
        world.targetRoleArn,
        REGION,
        (expiry) => Number(expiry) > now,
        "MUTABLE",
      ],
    };
    expected[kind].forEach((want, i) => {
      const ok = typeof want === "function" ? want(fields[i] ?? "") : fields[i] === want;
      if (!ok) problems.push(`${name}: field ${i} is '${fields[i]}'`);
    });
    return problems;
  }

  function expectCopied(result: RunResult, digest: string, what = "the copy"): void {
    expect(result.code, `${what}: ${result.stderr}`).to.equal(0);
    expect(
      result.lines.map((line) => [line.result, line.digest]),
      what,
    ).to.deep.equal([["copied", digest]]);
  }

  describe("a warm cache starts no aws process", () => {
    it("takes one assume-role, two get-authorization-token and one describe cold, then none for the same or another tag", async () => {
      const p = await pair(["v1", "v2"]);
      const cold = await world.run(p.copy("v1"), p.env);
      expectCopied(cold, p.image.digest, "the cold copy");
      expect(awsCounts(await p.take()), "aws processes of the cold copy").to.deep.equal(COLD);
      for (const kind of ENTRIES) expect(await entryProblems(p, kind), kind).to.deep.equal([]);

      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const unchanged = await world.run(p.copy("v1"), p.env);
      expect(unchanged.code, unchanged.stderr).to.equal(0);
      expect(unchanged.lines.map((line) => [line.result, line.digest])).to.deep.equal([
        ["unchanged", p.image.digest],
      ]);
      const warm = await p.take();
      expect(awsCounts(warm), "aws processes of the unchanged copy").to.deep.equal({});
      expect(
        warm.filter((line) => line.startsWith("curl ")),
        "it did read the registries",
      ).not.to.be.empty;
      const pulled = await world.source.blobTraffic(sourceMark);
      const pushed = await world.target.blobTraffic(targetMark);
      expect([pulled.blobDownloadBytes, pushed.blobUploadBytes], "layer bytes moved").to.deep.equal([0, 0]);

      const another = await world.run(p.copy("v2"), p.env);
      expectCopied(another, p.image.digest, "the copy of another tag");
      expect(awsCounts(await p.take()), "aws processes of the copy of another tag").to.deep.equal({});
      expect(await world.target.digestOf(p.target, "v2")).to.equal(p.image.digest);
    });
  });

  describe("expiry", () => {
    it("renews what has expired by the script's clock: the description after 5 minutes, everything within 10 minutes of the role's end", async () => {
      const p = await pair(["v1", "v2", "v3", "v4"]);
      expectCopied(await world.run(p.copy("v1"), p.env), p.image.digest, "the cold copy");
      expect(awsCounts(await p.take()), "cold").to.deep.equal(COLD);

      // moto's role sessions last an hour and the passwords are capped by it (the source's by
      // SOURCE_PASSWORD_MAX_SECONDS, an hour too); the description lives 5 minutes.
      const steps: Array<[string, string, Record<string, number>]> = [
        ["+30m", "v2", { "ecr describe-repositories": 1 }],
        ["+55m", "v3", COLD],
        ["+2h", "v4", COLD],
      ];
      for (const [offset, tag, expected] of steps) {
        const clock = clockAhead(offset);
        const result = await world.spawn(p.copy(tag), { ...p.env, ...clock.env }, { prefix: clock.prefix })
          .result;
        expectCopied(result, p.image.digest, `the copy at ${offset}`);
        expect(awsCounts(await p.take()), `aws processes at ${offset}`).to.deep.equal(expected);
        expect(await world.target.digestOf(p.target, tag)).to.equal(p.image.digest);
      }
    });
  });

  describe("a burst", function () {
    this.timeout(180000);

    it("of 8 cold copies renews once: one assume-role and two get-authorization-token in all, and every tag arrives", async () => {
      const tags = Array.from({ length: 8 }, (_, i) => `burst-${i}`);
      // One image each: docker-registry 2.8 answers 500 now and then when several clients push the
      // same blob into one repository at once (ECR does not), and skopeo does not retry a 5xx.
      const p = await pair(tags, { distinct: true });
      // The directories exist, the cache is empty: the race to create them has its own test.
      for (const dir of ["locks", "cache", "runs"])
        await mkdir(join(p.stateDir, dir), { recursive: true, mode: 0o700 });
      await chmod(p.stateDir, 0o700);
      const flags = await mkdtemp(join(scratch, "burst-"));
      // The first assume-role (made under the cache lock) waits until the other 7 runs are blocked
      // on that lock (waiters on its inode in /proc/locks), at most 60 s; it writes how it ended.
      const path = await hook(
        p.path,
        "aws",
        [
          `if [ "$1 $2" = "sts assume-role" ] && mkdir '${flags}/first' 2>/dev/null; then`,
          `  inode="$(stat -c %i '${p.stateDir}/cache/renew.lock')" || exit 98`,
          "  waited=timeout i=0",
          "  while [ $i -lt 600 ]; do",
          '    n="$(grep -Ec "^[0-9]+: +-> FLOCK .* [0-9a-f]+:[0-9a-f]+:${inode} " /proc/locks || true)"',
          '    if [ "$n" -ge 7 ]; then waited="blocked $n"; break; fi',
          "    sleep 0.1",
          "    i=$((i + 1))",
          "  done",
          `  echo "\${waited}" >'${flags}/waited'`,
          "fi",
          'exec "$real" "$@"',
        ].join("\n"),
      );
      const results = await Promise.all(tags.map((tag) => world.run(p.copy(tag), { ...p.env, PATH: path })));
      expect((await readFile(join(flags, "waited"), "utf8")).trim(), "the first renewal waited for").to.equal(
        "blocked 7",
      );
      results.forEach((result, i) => {
        expect(result.code, `${tags[i]}: ${result.stderr}`).to.equal(0);
        expect(
          result.lines.map((line) => [line.result, line.digest]),
          tags[i],
        ).to.deep.equal([["copied", p.images[tags[i]].digest]]);
      });
      expect(awsCounts(await p.take()), "aws processes of all 8").to.deep.equal(COLD);
      expect(await world.target.tags(p.target)).to.deep.equal([...tags].sort());
    });

    it("into a state directory that does not exist yet: a run that loses the race to create it uses the one that won", async () => {
      const p = await pair(["v1"]);
      // `mkdir` of the state directory first makes it as another run would (a burst at boot, /run
      // being a tmpfs), then runs the script's own mkdir, which then finds it there.
      const path = await hook(
        p.path,
        "mkdir",
        [
          "for last; do :; done",
          `if [ "\${last:-}" = '${p.stateDir}' ]; then "$real" -m 0700 -- '${p.stateDir}'; fi`,
          'exec "$real" "$@"',
        ].join("\n"),
      );
      const result = await world.run(p.copy("v1"), { ...p.env, PATH: path });
      expectCopied(result, p.image.digest);
      expect((await stat(p.stateDir)).mode & 0o777).to.equal(0o700);
    });
  });

  describe("a reconcile that outlives its role session", function () {
    this.timeout(180000);

    it("assumes the role again before the next tag once the clock is past the session's end, and copies every tag", async () => {
      const tags = ["a", "b", "c", "d"];
      const p = await pair(tags);
      const clockFile = join(scratch, unique("clock"));
      await writeFile(clockFile, "+0\n");
      const flags = await mkdtemp(join(scratch, "clock-"));
      // The first copy moves the script's clock 2 h on, past the 1 h session and both passwords.
      const path = await hook(
        p.path,
        "skopeo",
        [
          `if [ "$1" = copy ] && mkdir '${flags}/moved' 2>/dev/null; then echo +2h >'${clockFile}'; fi`,
          'exec "$real" "$@"',
        ].join("\n"),
      );
      const clock = clockFromFile(clockFile);
      const result = await world.spawn(
        ["reconcile"],
        { ...p.env, ...clock.env, PATH: path, ECR_SYNC_RECONCILE_PARALLELISM: "1" },
        { prefix: clock.prefix },
      ).result;
      expect(result.code, result.stderr).to.equal(0);
      expect(
        result.lines.filter((line) => line.result === "copied").map((line) => line.target.split(":").pop()),
      ).to.deep.equal(tags);
      expect(result.lines.at(-1)).to.include({ result: "reconcile", copied: 4, failed: 0 });
      for (const tag of tags)
        expect(await world.target.digestOf(p.target, tag), tag).to.equal(p.image.digest);

      // What each copy started with: the calls since the copy before it.
      const segments: string[][] = [[]];
      for (const line of await p.take()) {
        if (line.startsWith("skopeo copy ")) segments.push([]);
        else if (line.startsWith("aws ")) segments.at(-1)?.push(line);
      }
      expect(segments.map(awsCounts)).to.deep.equal([
        COLD, // the login, before the first copy
        // After the jump: the role and both passwords, all past their end.
        { "sts assume-role": 1, "ecr get-authorization-token": 2 },
        // moto issues each session by the real clock, an hour from now: to a clock 2 h ahead each
        // new one has ended already, and so has the target password it caps. Every later tag
        // renews them once more (none starts without); the source password, kept an hour by the
        // script's own clock, stays.
        { "sts assume-role": 1, "ecr get-authorization-token": 1 },
        { "sts assume-role": 1, "ecr get-authorization-token": 1 },
        {},
      ]);
    });
  });

  describe("entries that cannot be trusted are ignored and replaced", () => {
    /** How one kind of entry is spoiled: a new content (or owner), and the aws calls that replace it. */
    interface Spoiler {
      readonly what: string;
      readonly kinds: readonly EntryKind[];
      spoil(p: Pair, kind: EntryKind, fields: string[]): Promise<void>;
      readonly calls: Record<string, number>;
      readonly warning?: string;
    }
    const expiryField: Record<EntryKind, number> = {
      role: 3,
      "password.source": 4,
      "password.target": 4,
      describe: 4,
    };
    const regionField: Record<EntryKind, number> = {
      role: 2,
      "password.source": 3,
      "password.target": 3,
      describe: 3,
    };
    const OTHER_ROLE = `arn:aws:iam::${TARGET_ACCOUNT}:role/someone-else`;
    const spoilers: Spoiler[] = [
      {
        what: "corrupt (random bytes)",
        kinds: ENTRIES,
        spoil: (p, kind) => writeFile(entryFile(p.stateDir, entryName(p, kind)), randomBytes(96)),
        calls: COLD,
        warning: `not an entry of ${CACHE_FORMAT} (corrupt)`,
      },
      {
        what: "expired (an expiry a minute ago)",
        kinds: ENTRIES,
        spoil: (p, kind, fields) => {
          fields[expiryField[kind]] = String(Math.floor(Date.now() / 1000) - 60);
          return writeEntry(p.stateDir, entryName(p, kind), fields);
        },
        calls: COLD,
      },
      {
        what: "for another role",
        kinds: ["role", "password.target", "describe"],
        spoil: (p, kind, fields) => {
          fields[kind === "role" ? 1 : 2] = OTHER_ROLE;
          return writeEntry(p.stateDir, entryName(p, kind), fields);
        },
        calls: { "sts assume-role": 1, "ecr get-authorization-token": 1, "ecr describe-repositories": 1 },
      },
      {
        what: "for another region",
        kinds: ENTRIES,
        spoil: (p, kind, fields) => {
          fields[regionField[kind]] = "eu-west-1";
          return writeEntry(p.stateDir, entryName(p, kind), fields);
        },
        calls: COLD,
      },
      {
        what: "for another registry",
        kinds: ["password.source", "password.target"],
        spoil: (p, kind, fields) => {
          fields[1] = "127.0.0.1:1";
          return writeEntry(p.stateDir, entryName(p, kind), fields);
        },
        calls: { "ecr get-authorization-token": 2 },
      },
      {
        what: "owned by another user (otherwise valid)",
        kinds: ENTRIES,
        spoil: (p, kind) => giveTo(NOBODY, entryFile(p.stateDir, entryName(p, kind))),
        calls: COLD,
        warning: "not a regular file owned by uid",
      },
    ];

    /**
     * Gives `paths` to another user: directly as root (.ci/run), else with passwordless sudo
     * (GitHub's runners), the only ways to make a file someone else owns.
     */
    async function giveTo(uid: number, ...paths: string[]): Promise<void> {
      if (ME === 0) for (const path of paths) await chown(path, uid, uid);
      else await execFileAsync("sudo", ["-n", "chown", `${uid}:${uid}`, ...paths]);
    }

    for (const spoiler of spoilers) {
      it(`${spoiler.what}: ${spoiler.kinds.join(", ")}`, async () => {
        const p = await pair(["v1", "v2"]);
        expectCopied(await world.run(p.copy("v1"), p.env), p.image.digest, "the cold copy");
        await p.take();
        const before: Record<string, string[]> = {};
        for (const kind of spoiler.kinds) {
          before[kind] = await readEntry(p.stateDir, entryName(p, kind));
          await spoiler.spoil(p, kind, [...before[kind]]);
        }

        const result = await world.run(p.copy("v2"), p.env);
        expectCopied(result, p.image.digest);
        expect(awsCounts(await p.take()), "the aws calls that replaced them").to.deep.equal(spoiler.calls);
        if (spoiler.warning) expect(result.stderr).to.include(spoiler.warning);
        for (const kind of ENTRIES) expect(await entryProblems(p, kind), kind).to.deep.equal([]);
        for (const kind of spoiler.kinds)
          if (kind === "role" || kind === "describe")
            expect(await readEntry(p.stateDir, entryName(p, kind)), `${kind} renewed`).not.to.deep.equal(
              before[kind],
            );
      });
    }
  });

  describe("a cache cleared while a run holds a tag's lock", () => {
    it("is made again by the next renewal, which locks it, not the tag's lock on a reused descriptor", async () => {
      // The script's own functions, sourced (as test/unit/contracts.test.ts does): a renewal
      // before the tag's lock (its descriptor is then free again), the tag's lock taken (it gets
      // that descriptor number), the cache directory removed as the runbook's "clearing it" does,
      // and a renewal under the tag's lock. Called under || as the script calls them.
      const stateDir = join(scratch, unique("state"));
      const program = [
        'source "$1"',
        "prepare_state_dir; prepare; start_run",
        "lock_cache || exit 90; first=${CACHE_LOCK_FD}; unlock_cache",
        // The tag's lock on the number the cache's lock had, as a later open is given it.
        'tag=${first}; eval "exec ${tag}<>\\"\\${LOCK_DIR}/t.lock\\""; flock "${tag}"',
        'echo "reused=$([[ ${tag} == "${first}" ]] && echo yes || echo no)"',
        'rm -rf -- "${CACHE_DIR}"',
        'lock_cache || echo "lock_cache failed: ${ERROR}"',
        "unlock_cache || true",
        '[[ -d "${CACHE_DIR}" ]] && echo "cache made again: $(stat -c %a "${CACHE_DIR}")"',
        'if flock --nonblock "${LOCK_DIR}/t.lock" true; then echo "tag lock lost"; else echo "tag lock held"; fi',
      ].join("\n");
      const run = spawnSyncInWorkerRoot(["bash", "-c", program, "bash", SCRIPT], {
        env: { PATH: process.env.PATH ?? "", ECR_SYNC_STATE_DIR: stateDir },
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout.trim().split("\n")).to.deep.equal([
        "reused=yes",
        "cache made again: 700",
        "tag lock held",
      ]);
    });
  });

  describe("a password the registry rejects", () => {
    const WRONG = base64("AWS:wrong");
    /** A password entry that is well formed and fresh, for `registry`, but holds a wrong password. */
    async function wrongPassword(p: Pair, side: "source" | "target", registry: string): Promise<void> {
      const identity = side === "source" ? "worker" : world.targetRoleArn;
      const expiry = String(Math.floor(Date.now() / 1000) + 1800);
      await writeEntry(p.stateDir, `password.${side}`, [
        CACHE_FORMAT,
        registry,
        identity,
        REGION,
        expiry,
        WRONG,
      ]);
    }
    const hostOf = (side: "source" | "target") => (side === "source" ? world.source.host : world.target.host);

    for (const side of ["source", "target"] as const) {
      it(`on the ${side} side is fetched once more and the copy succeeds`, async () => {
        const p = await pair(["v1", "v2"]);
        expectCopied(await world.run(p.copy("v1"), p.env), p.image.digest, "the cold copy");
        await p.take();
        await wrongPassword(p, side, hostOf(side));

        const result = await world.run(p.copy("v2"), p.env);
        expectCopied(result, p.image.digest);
        expect(result.stderr).to.include(
          `${side} side: registry ${hostOf(side)} rejected the ECR password in use (cached or near its end); fetching a new one`,
        );
        expect(awsCounts(await p.take())).to.deep.equal({ "ecr get-authorization-token": 1 });
        expect(await entryProblems(p, `password.${side}`)).to.deep.equal([]);
      });
    }

    it("is fetched once more for reconcile's tag listing (source) and batch reads (target), and every tag arrives", async () => {
      const p = await pair(["a", "b", "c"]);
      expectCopied(await world.run(p.copy("a"), p.env), p.image.digest, "the cold copy");
      await p.take();
      await wrongPassword(p, "source", world.source.host);
      await wrongPassword(p, "target", world.target.host);

      const result = await world.run(["reconcile"], p.env);
      expect(result.code, result.stderr).to.equal(0);
      expect(
        result.lines.slice(0, -1).map((line) => `${line.result} ${line.target.split(":").pop()}`),
      ).to.have.members(["unchanged a", "copied b", "copied c"]);
      expect(result.lines.at(-1)).to.include({ result: "reconcile", copied: 2, unchanged: 1, failed: 0 });
      for (const side of ["source", "target"] as const)
        expect(result.stderr).to.include(
          `${side} side: registry ${hostOf(side)} rejected the ECR password in use`,
        );
      const calls = await p.take();
      expect(awsCounts(calls)).to.deep.equal({ "ecr get-authorization-token": 2 });
      // The listing was refused, and repeated with the new password.
      expect(calls.filter((line) => line.startsWith("curl ") && line.includes("/tags/list?"))).to.have.length(
        2,
      );
      expect(await world.target.tags(p.target)).to.deep.equal(["a", "b", "c"]);
      for (const side of ["source", "target"] as const)
        expect(await entryProblems(p, `password.${side}`), side).to.deep.equal([]);
    });

    for (const side of ["source", "target"] as const) {
      it(`that the ${side} registry rejects again after renewal fails with exit 4 naming the ${side} side`, async () => {
        const p = await pair(["v1", "v2"]);
        expectCopied(await world.run(p.copy("v1"), p.env), p.image.digest, "the cold copy");
        await p.take();
        // A registry that refuses every password: the one the cache holds and the one fetched now.
        const proxy: FaultProxy = await startFaultProxy(hostOf(side));
        cleanups.push(() => proxy.stop());
        proxy.inject({ path: /./, times: 10000, fault: { status: 401 } });
        await wrongPassword(p, side, proxy.host);
        const registryVariable = side === "source" ? "ECR_SYNC_SOURCE_REGISTRY" : "ECR_SYNC_TARGET_REGISTRY";

        const result = await world.run(p.copy("v2"), { ...p.env, [registryVariable]: proxy.host });
        expect(result.code, result.stderr).to.equal(EXIT_AUTH);
        expect(result.lines).to.have.length(1);
        expect(result.lines[0].result).to.equal("failed");
        expect(result.lines[0].error).to.include(
          `${side} side: registry ${proxy.host} rejected the ECR password (HTTP 401)`,
        );
        expect(awsCounts(await p.take()), "fetched once more, once").to.deep.equal({
          "ecr get-authorization-token": 1,
        });
      });
    }
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
      await within(
        60,
        "the copy reaching the transfer of a layer",
        Promise.race([
          proxy.stalled,
          run.result.then((r) => {
            throw new Error(`the run ended (exit ${r.code}) before the transfer:\n${r.stderr}`);
          }),
        ]),
      );
      const group = await processGroup(run.pid);
      expect(group.map((process) => process.cmdline).join("\n")).to.match(/skopeo copy /);
      // The script's own pid names its run directory; bwrap, which started it in the worker root, leads the group.
      const scriptPid = group.find((process) => process.cmdline.startsWith(`bash ${SCRIPT} `))?.pid;
      expect(scriptPid, "the script's process in the group").to.be.a("number");
      process.kill(-run.pid, "SIGKILL");
      const killed = await within(30, "the killed run's end", run.result);
      expect(killed.code, "killed, not ended").to.equal(-1);
      expect(killed.lines).to.deep.equal([]);
      // ...and the script's own process reaped, not a zombie: in the worker root its parent was bwrap,
      // killed with it, so this machine's init reaps it, and until then its pid is alive to kill -0
      // (the next run would rightly pass its directory over).
      await within(
        30,
        "every process of the killed group ending, the script's reaped",
        (async () => {
          while ((await processGroup(run.pid)).length > 0 || existsSync(`/proc/${scriptPid}`))
            await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
      );

      // Everywhere a run may write outside its STATE_DIR: TMPDIR and HOME (the world's directory,
      // which holds the scratch directories), and what is new in /tmp and /var/tmp. Every state
      // directory is left out: each holds its cache on purpose. The test tools' own push auth
      // directories (local/oci.ts, ecr-sync-auth-*) are left out too: a suite running alongside
      // may have one there for a moment, and none of them is the script's.
      const worldDir = dirname(world.scriptTmpDir);
      const newIn = async (dir: string, before: Set<string>) =>
        (await readdir(dir))
          .filter((name) => !before.has(name) && !name.startsWith("ecr-sync-auth-"))
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

  describe("no password on a command line or in the output", () => {
    it("during a cold and a warm copy: not in any recorded aws, curl or skopeo argv, any /proc/*/cmdline of the run, stdout or stderr", async () => {
      const p = await pair(["v1", "v2"]);
      for (const [what, tag] of [
        ["cold", "v1"],
        ["warm", "v2"],
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
        const run = world.spawn(p.copy(tag), { ...p.env, PATH: path }, { detached: true });
        await within(60, `the ${what} copy reaching skopeo copy`, fileAppears(join(flags, "blocked"), run));
        const commandLines = (await processGroup(run.pid)).map((process) => process.cmdline);
        await writeFile(join(flags, "release"), "");
        const result = await run.result;
        expectCopied(result, p.image.digest, `the ${what} copy`);

        expect(commandLines.join("\n"), `${what}: the run's processes`).to.match(/ecr-sync\.sh copy /);
        expect(commandLines.join("\n"), `${what}: the run's processes`).to.match(/skopeo copy /);
        const recorded = await p.take();
        expect(
          recorded.filter((line) => line.startsWith("skopeo copy ")),
          what,
        ).to.have.length(1);
        expect(
          recorded.filter((line) => line.startsWith("curl ")),
          what,
        ).not.to.be.empty;
        expect(awsCounts(recorded), what).to.deep.equal(what === "cold" ? COLD : {});
        for (const secret of SECRETS) {
          expect(recorded.join("\n"), `${what}: recorded command lines`).not.to.include(secret);
          expect(commandLines.join("\n"), `${what}: /proc/*/cmdline`).not.to.include(secret);
          expect(result.stdout + result.stderr, `${what}: output`).not.to.include(secret);
        }
      }
    });
  });

  describe("a repository deleted while its description is cached", () => {
    it("fails the push with the clear 'does not exist' message and exit 5, and drops the description", async () => {
      const p = await pair(["v1"]);
      const other = await newImage();
      await push(other, p.source, "v2");
      // ECR refuses a push to a repository that is gone; docker-registry would accept it.
      const proxy = await startFaultProxy(world.target.host);
      cleanups.push(() => proxy.stop());
      const env = { ...p.env, ECR_SYNC_TARGET_REGISTRY: proxy.host };
      expectCopied(await world.run(p.copy("v1"), env), p.image.digest, "the cold copy");
      await p.take();
      await world.awsInTarget(["ecr", "delete-repository", "--repository-name", p.target, "--force"]);
      const nameUnknown = {
        status: 404,
        body: JSON.stringify({
          errors: [
            {
              code: "NAME_UNKNOWN",
              message: `The repository with name '${p.target}' does not exist in the registry with id '${TARGET_ACCOUNT}'`,
            },
          ],
        }),
      };
      proxy.inject({ path: /\/blobs\/uploads\//, method: "POST", times: 100, fault: nameUnknown });
      proxy.inject({ path: /\/manifests\//, method: "PUT", times: 100, fault: nameUnknown });

      const result = await world.run(p.copy("v2"), env);
      expect(result.code, result.stderr).to.equal(EXIT_NOT_FOUND);
      expect(result.lines).to.have.length(1);
      expect(result.lines[0]).to.include({ result: "failed", digest: other.digest });
      expect(result.lines[0].error).to.include(
        `target repository '${p.target}' does not exist in the target account's ECR`,
      );
      expect(proxy.pendingFaults(), "the push was refused").to.be.below(200);
      const calls = await p.take();
      // The description came from the cache; ECR was asked again only after the push failed.
      expect(awsCounts(calls)).to.deep.equal({ "ecr describe-repositories": 1 });
      const order = calls.filter((line) => /^(skopeo copy|aws ecr describe-repositories) /.test(line));
      expect(order.map((line) => line.split(" ").slice(0, 2).join(" "))).to.deep.equal([
        "skopeo copy",
        "aws ecr",
      ]);
      expect(await stat(entryFile(p.stateDir, describeEntry(p.target))).catch(() => undefined)).to.equal(
        undefined,
      );
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
        const result = await world.run(["reconcile"], { ...p.env, ECR_SYNC_RECONCILE_PARALLELISM: value });
        expect(result.code, result.stderr).to.equal(EXIT_CONFIG);
        expect(result.stderr).to.include(
          `ECR_SYNC_RECONCILE_PARALLELISM='${value}' is not a number of copies at a time from 1 to 16`,
        );
        expect(result.lines).to.deep.equal([]);
        expect(await p.take()).to.deep.equal([]);
      });
    }
  });
});

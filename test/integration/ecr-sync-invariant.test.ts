import { expect } from "chai";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  copyArgs,
  ecrPassword,
  EcrSyncWorld,
  listDir,
  recordingPath,
  RunResult,
  callNames,
  copierBundle,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
} from "../../local/world";
import { BuiltImage } from "../../local/oci";
import { workerToolPath } from "../../local/worker-root";

/**
 * The copier's invariant (ec2-scripts/copier/copy.ts, decide.ts): a target tag only ever moves to the
 * digest the source tag names at the moment of the copy, read under that tag's lock. Each
 * interleaving is forced, never hoped for: a `skopeo` wrapper on PATH runs a push (and its own
 * event-driven copy) to completion before the reconcile's first real copy starts, or holds a copy
 * until the push's own copy waits on the tag's lock, and events are delivered one after another in
 * every order. Then the input the copier must not trust: a pair
 * outside the mapping, tags no image reference can carry, exclusion filters next to files that
 * match them.
 */
describe("ecr-sync: a tag never moves backwards, whatever the input", function () {
  this.timeout(300000);
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
    scratch = await mkdtemp(join(tmpdir(), "ecr-sync-invariant-"));
  });

  after(async () => {
    await world?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const mapOf = (source: string, target: string) => ({
    ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
  });

  async function pair() {
    const source = unique("kuali-coeus");
    const target = unique("coeus");
    await world.createTargetRepository(target);
    return { source, target };
  }

  // The OCI layout's index.json is rewritten on every push: pushes take turns (the copies do not).
  let pushes: Promise<unknown> = Promise.resolve();
  function push(repository: string, tag: string): Promise<BuiltImage> {
    const pushed = pushes.then(async () => {
      const image = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("build") });
      await world.pushToSource(image, repository, tag);
      return image;
    });
    pushes = pushed.catch(() => undefined);
    return pushed;
  }

  const copy = (
    source: string,
    target: string,
    tag: string,
    digest: string,
    env: Record<string, string> = {},
  ): Promise<RunResult> =>
    world.run(copyArgs(source, target, tag, digest), { ...mapOf(source, target), ...env });

  /**
   * A PATH whose `skopeo`, on the first `skopeo copy` of the run (the reconcile's first copy),
   * pushes `image` to source/repository:tag straight from the OCI layout (a real push to the
   * source registry) and, when `thenCopy` is set, runs the push event's `ecr-sync copy --digest`
   * to completion; only then does it exec the real skopeo. Later calls (the nested copy's
   * included) go straight to the real skopeo. The nested copy's output lands in DIR/nested.*.
   */
  async function pushDuringFirstCopy(a: {
    image: BuiltImage;
    source: string;
    target: string;
    tag: string;
    thenCopy: boolean;
  }): Promise<{ path: string; dir: string }> {
    const dir = join(scratch, unique("bin"));
    await mkdir(dir);
    const refName = unique("late-push");
    await world.layout.name(a.image, refName);
    const skopeo = workerToolPath("skopeo");
    const nestedCopy = a.thenCopy
      ? [
          `node '${copierBundle()}' copy --source-repository '${a.source}' --target-repository '${a.target}'` +
            ` --tag '${a.tag}' --digest '${a.image.digest}' >'${dir}/nested.out' 2>'${dir}/nested.err'`,
          `echo $? >'${dir}/nested.code'`,
        ]
      : [];
    const wrapper = [
      "#!/bin/sh",
      `if [ "$1" = copy ] && mkdir '${dir}/pushed' 2>/dev/null; then`,
      `  '${skopeo}' copy --quiet --all --preserve-digests --dest-tls-verify=false` +
        ` --dest-creds 'AWS:${ecrPassword(SOURCE_ACCOUNT)}'` +
        ` 'oci:${world.layout.dir}:${refName}' 'docker://${world.source.host}/${a.source}:${a.tag}' || exit 97`,
      ...nestedCopy.map((line) => `  ${line}`),
      "fi",
      `exec '${skopeo}' "$@"`,
      "",
    ].join("\n");
    await writeFile(join(dir, "skopeo"), wrapper);
    await chmod(join(dir, "skopeo"), 0o755);
    return { path: `${dir}:${process.env.PATH ?? ""}`, dir };
  }

  describe("a push during a reconcile", () => {
    /**
     * A reconcile of a-first and b-later (sorted, a-first is copied first) during whose first copy
     * b-later is pushed anew (and, `thenCopy`, that push's event copied). One copy at a time, so the
     * push lands after the plan read b-later and before b-later's own copy reads it under its lock
     * (with the default four, both copies start together).
     */
    async function reconcileWithPushDuringFirstCopy(thenCopy: boolean) {
      const { source, target } = await pair();
      await push(source, "a-first");
      const planned = await push(source, "b-later");
      const late = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("late") });
      const { path, dir } = await pushDuringFirstCopy({
        image: late,
        source,
        target,
        tag: "b-later",
        thenCopy,
      });
      const result = await world.run(["reconcile"], {
        ...mapOf(source, target),
        PATH: path,
        ECR_SYNC_RECONCILE_PARALLELISM: "1",
      });
      return { source, target, planned, late, dir, result };
    }

    it("is not undone: its own event-driven copy stands, and the reconcile reports the tag superseded", async () => {
      const { source, target, planned, late, dir, result } = await reconcileWithPushDuringFirstCopy(true);
      expect(result.code, result.stderr).to.equal(0);
      expect((await readFile(join(dir, "nested.code"), "utf8")).trim(), "the push event's copy").to.equal(
        "0",
      );
      expect(JSON.parse(await readFile(join(dir, "nested.out"), "utf8"))).to.include({
        result: "copied",
        digest: late.digest,
      });
      expect(await world.source.digestOf(source, "b-later")).to.equal(late.digest);
      expect(await world.target.digestOf(target, "b-later"), "the target tag after the reconcile").to.equal(
        late.digest,
      );
      const line = result.lines.find((entry) => entry.target.endsWith(":b-later"));
      expect(line).to.include({ result: "superseded", digest: late.digest, planned_digest: planned.digest });
      expect(line?.reason).to.include("already holds");
    });

    it("whose event is late: the reconcile copies what the tag names now, and the late event finds it unchanged", async () => {
      const { source, target, planned, late, result } = await reconcileWithPushDuringFirstCopy(false);
      expect(result.code, result.stderr).to.equal(0);
      expect(await world.target.digestOf(target, "b-later")).to.equal(late.digest);
      expect(result.lines.find((entry) => entry.target.endsWith(":b-later"))).to.include({
        result: "superseded",
        digest: late.digest,
        planned_digest: planned.digest,
      });

      const event = await copy(source, target, "b-later", late.digest);
      expect(event.code, event.stderr).to.equal(0);
      expect(event.lines.map((entry) => [entry.result, entry.digest])).to.deep.equal([
        ["unchanged", late.digest],
      ]);
    });
  });

  describe("two copies of one tag at once", () => {
    /**
     * A PATH whose `skopeo`, on the first `skopeo copy` (copy A's, made under the tag's lock after
     * A read the source tag), pushes `image` to source/repository:tag, starts that push event's
     * `ecr-sync copy --digest` (copy B) in the background, and waits until B is blocked on
     * `lockFile` (a waiter on its inode in /proc/locks) or has ended, at most 20 s; only then does
     * it exec the real skopeo for A. It writes how the wait ended (blocked, ended, timeout) to
     * DIR/waited and B's output to DIR/nested.*. B starts with every descriptor above 2 closed:
     * it must not inherit A's open lock file, whose lock would then outlive A.
     */
    async function raceDuringFirstCopy(a: {
      image: BuiltImage;
      source: string;
      target: string;
      tag: string;
      lockFile: string;
    }): Promise<{ path: string; dir: string }> {
      const dir = join(scratch, unique("bin"));
      await mkdir(dir);
      const refName = unique("racing-push");
      await world.layout.name(a.image, refName);
      const skopeo = workerToolPath("skopeo");
      const wrapper = [
        "#!/bin/bash",
        `if [ "$1" = copy ] && mkdir '${dir}/pushed' 2>/dev/null; then`,
        `  '${skopeo}' copy --quiet --all --preserve-digests --dest-tls-verify=false` +
          ` --dest-creds 'AWS:${ecrPassword(SOURCE_ACCOUNT)}'` +
          ` 'oci:${world.layout.dir}:${refName}' 'docker://${world.source.host}/${a.source}:${a.tag}' || exit 97`,
        "  (",
        '    for fd in /proc/self/fd/*; do if [ "${fd##*/}" -gt 2 ]; then eval "exec ${fd##*/}>&-"; fi; done',
        `    node '${copierBundle()}' copy --source-repository '${a.source}' --target-repository '${a.target}'` +
          ` --tag '${a.tag}' --digest '${a.image.digest}' >'${dir}/nested.out' 2>'${dir}/nested.err'`,
        // Written whole, then renamed: whoever sees nested.code sees B's exit status in it.
        `    echo $? >'${dir}/nested.code.part' && mv '${dir}/nested.code.part' '${dir}/nested.code'`,
        "  ) </dev/null >/dev/null 2>&1 &",
        `  inode="$(stat -L -c %i '${a.lockFile}')" || exit 98`,
        "  waited=timeout",
        "  for _ in $(seq 200); do # 200 × 0.1 s: 20 s at most",
        '    if grep -Eq "^[0-9]+: -> FLOCK .* [0-9a-f]+:[0-9a-f]+:${inode} " /proc/locks; then',
        "      waited=blocked",
        "      break",
        "    fi",
        `    if [ -e '${dir}/nested.code' ]; then`,
        "      waited=ended",
        "      break",
        "    fi",
        "    sleep 0.1",
        "  done",
        `  echo "\${waited}" >'${dir}/waited'`,
        "fi",
        `exec '${skopeo}' "$@"`,
        "",
      ].join("\n");
      await writeFile(join(dir, "skopeo"), wrapper);
      await chmod(join(dir, "skopeo"), 0o755);
      return { path: `${dir}:${process.env.PATH ?? ""}`, dir };
    }

    /** DIR/nested.code once copy B has ended: polled, at most `seconds`. */
    async function nestedCode(dir: string, seconds: number): Promise<string> {
      for (let waited = 0; ; waited += 100) {
        const code = await readFile(join(dir, "nested.code"), "utf8").catch(() => undefined);
        if (code !== undefined) return code.trim();
        if (waited >= seconds * 1000) throw new Error(`copy B did not end within ${seconds} s`);
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
      }
    }

    it("take turns on the tag's lock: a push during a copy, and its own copy, are not undone by the copy that read first", async () => {
      const { source, target } = await pair();
      const tag = "release";
      const d1 = await push(source, tag);
      const d2 = await world.layout.addImage({ layers: [{ size: 8 * 1024 }], label: unique("racing") });
      const lockFile = join(world.lockDir, `${target}:${tag}.lock`);
      const { path, dir } = await raceDuringFirstCopy({ image: d2, source, target, tag, lockFile });

      const a = await copy(source, target, tag, d1.digest, { PATH: path });
      const bCode = await nestedCode(dir, 30);
      const b = (await readFile(join(dir, "nested.out"), "utf8")).trim();
      const bErr = await readFile(join(dir, "nested.err"), "utf8");

      expect(await world.source.digestOf(source, tag), "the source tag after the push").to.equal(d2.digest);
      expect(
        await world.target.digestOf(target, tag),
        `the target tag after both copies (copy A's ${d1.digest} would be a move back)`,
      ).to.equal(d2.digest);
      expect((await readFile(join(dir, "waited"), "utf8")).trim(), "how A's skopeo waited for B").to.equal(
        "blocked",
      );
      expect(a.code, a.stderr).to.equal(0);
      expect(a.lines.map((line) => [line.result, line.digest])).to.deep.equal([["copied", d1.digest]]);
      expect(bCode, bErr).to.equal("0");
      const bLines = b.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(bLines).to.have.length(1);
      expect(bLines[0]).to.include({
        result: "copied",
        source: `${world.source.host}/${source}:${tag}`,
        target: `${world.target.host}/${target}:${tag}`,
        digest: d2.digest,
      });
      expect(bLines[0].copy_s).to.be.a("number"); // the copy's own time, lock taken to verified
    });
  });

  describe("push events out of order", () => {
    const NAMES = ["A", "B", "C"] as const;
    type Name = (typeof NAMES)[number];
    const permutations = (items: readonly Name[]): Name[][] =>
      items.length <= 1
        ? [[...items]]
        : items.flatMap((item, i) =>
            permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
          );
    type Step = { push: Name } | { event: Name };

    /** Pushes A, B, C in that order and delivers one `copy --digest` per push as `steps` says. */
    async function play(steps: Step[]): Promise<string[]> {
      const { source, target } = await pair();
      const tag = "release";
      const images = new Map<Name, BuiltImage>();
      const rank = (digest: string | undefined) =>
        digest === undefined ? -1 : NAMES.findIndex((name) => images.get(name)?.digest === digest);
      const problems: string[] = [];
      let sourceNow: Name | undefined;
      let held = -1;
      for (const step of steps) {
        if ("push" in step) {
          images.set(step.push, await push(source, tag));
          sourceNow = step.push;
          continue;
        }
        const digest = images.get(step.event)?.digest ?? "";
        const what = `event ${step.event} (source at ${sourceNow})`;
        const result = await copy(source, target, tag, digest);
        const line = result.lines[0] ?? {};
        const now = await world.target.digestOf(target, tag);
        if (result.code !== 0) problems.push(`${what}: exit ${result.code}: ${result.stderr}`);
        if (rank(now) < held) problems.push(`${what}: target moved back to ${rank(now)} from ${held}`);
        if (now !== images.get(sourceNow!)?.digest)
          problems.push(`${what}: target not at the source's digest`);
        held = rank(now);
        if (step.event === sourceNow) {
          if (!["copied", "unchanged"].includes(line.result) || line.digest !== digest)
            problems.push(`${what}: fresh event reported ${JSON.stringify(line)}`);
        } else if (
          line.result !== "superseded" ||
          line.digest !== images.get(sourceNow!)?.digest ||
          line.event_digest !== digest
        ) {
          problems.push(`${what}: stale event reported ${JSON.stringify(line)}`);
        }
      }
      if ((await world.target.digestOf(target, tag)) !== images.get("C")?.digest)
        problems.push("the target does not end at C");
      return problems;
    }

    const describeSteps = (steps: Step[]) =>
      steps.map((step) => ("push" in step ? `push ${step.push}` : `event ${step.event}`)).join(", ");

    it("delivered after the source reached C, in each of the 6 orders, end at C; every stale event exits 0, superseded", async () => {
      const orders = permutations(NAMES);
      expect(orders).to.have.length(6);
      const plays = orders.map((order) => [
        ...NAMES.map((name): Step => ({ push: name })),
        ...order.map((name): Step => ({ event: name })),
      ]);
      const outcomes = await Promise.all(plays.map(play));
      expect(
        outcomes.flatMap((problems, i) =>
          problems.map((problem) => `${describeSteps(plays[i])}: ${problem}`),
        ),
      ).to.deep.equal([]);
    });

    it("interleaved with the pushes (each event as soon as its order allows), in each of the 6 orders, never move back", async () => {
      const plays = permutations(NAMES).map((order) => {
        const steps: Step[] = [];
        let next = 0;
        for (const name of NAMES) {
          steps.push({ push: name });
          while (next < order.length && NAMES.indexOf(order[next]) <= NAMES.indexOf(name))
            steps.push({ event: order[next++] });
        }
        return steps;
      });
      const outcomes = await Promise.all(plays.map(play));
      expect(
        outcomes.flatMap((problems, i) =>
          problems.map((problem) => `${describeSteps(plays[i])}: ${problem}`),
        ),
      ).to.deep.equal([]);
    });

    it("for a source tag that no longer exists: superseded, nothing written, exit 0", async () => {
      const { source, target } = await pair();
      const tag = "gone";
      const image = await push(source, tag);
      const held = await push(source, "other");
      await world.pushToTarget(held, target, tag);
      // distribution 2.8 cannot delete a tag over its API: a tag is a directory in its storage.
      await rm(
        join(world.source.storageDir, "docker/registry/v2/repositories", source, "_manifests/tags", tag),
        { recursive: true },
      );
      expect(await world.source.digestOf(source, tag)).to.equal(undefined);
      const mark = await world.target.mark();

      const result = await copy(source, target, tag, image.digest);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines).to.have.length(1);
      expect(result.lines[0]).to.include({
        result: "superseded",
        digest: held.digest,
        event_digest: image.digest,
      });
      expect(result.lines[0].reason).to.include("no longer exists");
      expect(await world.target.digestOf(target, tag)).to.equal(held.digest);
      const writes = (await world.target.accessLog())
        .slice(mark)
        .filter(
          (entry) => entry.path.startsWith(`/v2/${target}/`) && !["GET", "HEAD"].includes(entry.method),
        );
      expect(writes).to.deep.equal([]);
    });
  });

  describe("copy stays inside the mapping", () => {
    it("refuses a pair the map does not hold with exit 2, naming the pair and the map's entry, before any AWS call or registry request", async () => {
      const production = await pair();
      const feature = { source: unique("kuali-coeus-feature"), target: unique("coeus-feature") };
      await world.createTargetRepository(feature.target);
      await push(feature.source, "v1");
      const unmapped = unique("kuali-research-pdf");
      await push(unmapped, "v1");
      const map = {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({
          [production.source]: production.target,
          [feature.source]: feature.target,
        }),
      };
      const log = join(scratch, unique("calls.log"));
      const path = await recordingPath(join(scratch, unique("recording-bin")), log);
      const copyArgs = (source: string, target: string) => [
        "copy",
        ...["--source-repository", source, "--target-repository", target, "--tag", "v1"],
      ];
      const sourceMark = await world.source.mark();
      const targetMark = await world.target.mark();
      const awsMark = world.awsCalls.mark();

      const crossed = await world.run(copyArgs(feature.source, production.target), { ...map, PATH: path });
      expect(crossed.code, crossed.stderr).to.equal(2);
      expect(crossed.stderr).to.include(
        `copy: ${feature.source} -> ${production.target} is outside ECR_SYNC_REPOSITORY_MAP: it maps '${feature.source}' to '${feature.target}'`,
      );
      const stray = await world.run(copyArgs(unmapped, production.target), { ...map, PATH: path });
      expect(stray.code, stray.stderr).to.equal(2);
      expect(stray.stderr).to.include(
        `copy: ${unmapped} -> ${production.target} is outside ECR_SYNC_REPOSITORY_MAP: it has no entry for '${unmapped}'`,
      );
      expect(stray.stderr).to.include(feature.source);

      for (const result of [crossed, stray]) expect(result.lines).to.deep.equal([]);
      const calls = await readFile(log, "utf8").catch(() => "");
      expect(calls, "skopeo and flock calls").to.equal("");
      expect(callNames(world.awsCalls.since(awsMark)), "AWS calls").to.deep.equal([]);
      expect((await world.source.accessLog()).slice(sourceMark), "source registry requests").to.deep.equal(
        [],
      );
      expect((await world.target.accessLog()).slice(targetMark), "target registry requests").to.deep.equal(
        [],
      );
      expect(await world.target.tags(production.target)).to.deep.equal([]);
      expect(await listDir(world.scriptTmpDir)).to.deep.equal([]);

      // The same wrapper sees the calls of a copy the map allows: the absence above is not blindness.
      const allowed = await world.run(copyArgs(feature.source, feature.target), { ...map, PATH: path });
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect(await readFile(log, "utf8")).to.match(/^skopeo copy /m);
      expect(callNames(world.awsCalls.since(awsMark))).to.include("sts AssumeRole");
    });

    it("needs ECR_SYNC_REPOSITORY_MAP for copy too (exit 3)", async () => {
      const { source, target } = await pair();
      const result = await world.run(
        ["copy", "--source-repository", source, "--target-repository", target, "--tag", "v1"],
        { ECR_SYNC_REPOSITORY_MAP: undefined },
      );
      expect(result.code, result.stderr).to.equal(3);
      expect(result.stderr).to.include("ECR_SYNC_REPOSITORY_MAP is not set: copy and reconcile need");
    });
  });

  describe("tags the copier cannot express", () => {
    /** A tag as distribution stores it: a directory whose current/link holds the digest. */
    async function tagInSourceStorage(repository: string, tag: string, digest: string): Promise<void> {
      const dir = join(
        world.source.storageDir,
        "docker/registry/v2/repositories",
        repository,
        "_manifests/tags",
        tag,
      );
      await mkdir(join(dir, "current"), { recursive: true });
      await writeFile(join(dir, "current", "link"), digest);
      await mkdir(join(dir, "index", "sha256", digest.slice(7)), { recursive: true });
      await writeFile(join(dir, "index", "sha256", digest.slice(7), "link"), digest);
    }

    it("reports a tag longer than 128 characters as unsupported, once, and the reconcile still exits 0", async () => {
      const { source, target } = await pair();
      const image = await push(source, "v1");
      // ECR accepts up to 300 characters; the registry (like every image reference) refuses more
      // than 128 on push, so the tag is written into its storage. 200 fits a file name.
      const long = `build-${"x".repeat(194)}`;
      await tagInSourceStorage(source, long, image.digest);

      for (const args of [["reconcile", "--dry-run"], ["reconcile"]]) {
        const result = await world.run(args, mapOf(source, target));
        expect(result.code, `${args.join(" ")}: ${result.stderr}`).to.equal(0);
        const unsupported = result.lines.filter((line) => line.result === "unsupported");
        expect(unsupported, args.join(" ")).to.have.length(1);
        expect(unsupported[0]).to.deep.equal({
          result: "unsupported",
          source: `${world.source.host}/${source}:${long}`,
          target: `${world.target.host}/${target}:${long}`,
          reason:
            "the tag has 200 characters: ECR accepts up to 300, but an image reference carries at most 128, so it cannot be copied (push the image under a shorter tag as well)",
        });
        expect(
          result.lines.filter((line) => line.result === "failed"),
          args.join(" "),
        ).to.deep.equal([]);
      }
      expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
      expect(await world.target.tags(target)).to.deep.equal(["v1"]);
    });

    it("still fails the reconcile (exit 6, the conflict's code) on an immutable-tag conflict next to an unsupported tag", async () => {
      const { source, target } = await pair();
      const pinned = { source: unique("kuali-coeus"), target: unique("coeus-immutable") };
      await world.createTargetRepository(pinned.target, "IMMUTABLE");
      const image = await push(source, "v1");
      await tagInSourceStorage(source, `t${"1".repeat(150)}`, image.digest);
      const held = await push(pinned.source, "held");
      await world.pushToTarget(held, pinned.target, "v1");
      await push(pinned.source, "v1");

      const result = await world.run(["reconcile"], {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target, [pinned.source]: pinned.target }),
      });
      expect(result.code, result.stderr).to.equal(6);
      // The last line is the reconcile's summary of the others.
      expect(result.lines.map((line) => line.result).sort()).to.deep.equal(
        ["copied", "copied", "failed", "unsupported", "reconcile"].sort(),
      );
      expect(result.lines.at(-1)).to.include({ result: "reconcile", copied: 2, failed: 1, unsupported: 1 });
      expect(result.lines.find((line) => line.result === "failed")?.error).to.include(
        "is immutable and already holds",
      );
    });
  });

  describe("mutability read literally", () => {
    // ECR's filter grammar is ^[0-9a-zA-Z._*-]{1,128}$: '*' is its only wildcard and the only
    // character it admits that a bash glob treats specially; '.' is literal to both.
    const FILTERS = ["dev*", "release.*", "*-hotfix"];
    const TAGS = ["dev", "dev-feature", "release.3", "release-x", "prod", "2-hotfix"];
    // Files that the filters match as globs, so that any pathname expansion would change them.
    const FILES = ["dev", "dev1", "release.2", "release-x", "1-hotfix"];
    const excluded = (tag: string) => ["dev", "dev-feature", "release.3", "2-hotfix"].includes(tag);

    it("gives the same decisions for IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION from / and from a directory of matching files", async () => {
      const globDir = join(scratch, unique("cwd"));
      await mkdir(globDir);
      for (const file of FILES) await writeFile(join(globDir, file), "");
      const image = await world.layout.addImage({ layers: [{ size: 4 * 1024 }], label: unique("new") });
      const held = await world.layout.addImage({ layers: [{ size: 4 * 1024 }], label: unique("held") });
      const sources = { immutable: unique("kuali-coeus"), mutable: unique("kuali-coeus") };
      for (const source of Object.values(sources))
        for (const tag of TAGS) await world.pushToSource(image, source, tag);

      async function outcome(cwd: string): Promise<string[]> {
        const targets = { immutable: unique("coeus-iwe"), mutable: unique("coeus-mwe") };
        await world.createTargetRepository(targets.immutable, "IMMUTABLE_WITH_EXCLUSION", FILTERS);
        await world.createTargetRepository(targets.mutable, "MUTABLE_WITH_EXCLUSION", FILTERS);
        for (const target of Object.values(targets))
          for (const tag of TAGS) await world.pushToTarget(held, target, tag);
        // The SDK reads imageTagMutabilityExclusionFilters (the AWS CLI of Debian 13 did not).
        const env = {
          ECR_SYNC_REPOSITORY_MAP: JSON.stringify({
            [sources.immutable]: targets.immutable,
            [sources.mutable]: targets.mutable,
          }),
        };
        const lines: string[] = [];
        for (const kind of ["immutable", "mutable"] as const) {
          const args = ["--source-repository", sources[kind], "--target-repository", targets[kind]];
          const copied = await world.run(["copy", ...args, "--tag", "dev-feature"], env, cwd);
          lines.push(`copy ${kind} dev-feature: exit ${copied.code} ${copied.lines[0]?.result}`);
        }
        const reconciled = await world.run(["reconcile"], env, cwd);
        lines.push(`reconcile: exit ${reconciled.code}`);
        for (const line of reconciled.lines.filter((l) => l.result !== "reconcile")) {
          const kind = line.target.includes("coeus-iwe") ? "immutable" : "mutable";
          lines.push(`reconcile ${kind} ${line.target.split(":").pop()}: ${line.result}`);
        }
        return lines.sort();
      }

      const fromRoot = await outcome("/");
      const fromGlobDir = await outcome(globDir);
      expect(fromGlobDir, "from a directory holding files named like the filters").to.deep.equal(fromRoot);
      const expected = [
        "copy immutable dev-feature: exit 0 copied",
        "copy mutable dev-feature: exit 6 failed",
        // Every failed image failed for one reason, an immutable-tag conflict: the reconcile exits 6.
        "reconcile: exit 6",
        ...TAGS.map((tag) => {
          // IMMUTABLE_WITH_EXCLUSION: the filters name the mutable tags; MUTABLE_WITH_EXCLUSION the immutable.
          const immutableSide = tag === "dev-feature" ? "unchanged" : excluded(tag) ? "copied" : "failed";
          return `reconcile immutable ${tag}: ${immutableSide}`;
        }),
        ...TAGS.map((tag) => `reconcile mutable ${tag}: ${excluded(tag) ? "failed" : "copied"}`),
      ].sort();
      expect(fromRoot).to.deep.equal(expected);
    });
  });
});

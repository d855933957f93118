/**
 * Referrers travel with their images (ec2-scripts/copier/referrers.ts): real registries, an image
 * signed with Debian 13's cosign (a local key, attached by subject: OCI 1.1) and given an SBOM with
 * the worker root's `oras attach`. docker-registry 2.8 has no referrers API, so everything here goes
 * through the referrers tag schema (`sha256-HEX`), on both sides, as oras and cosign keep it.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { BuiltArtifact } from "../../local/oci";
import { waitFor } from "../../local/ports";
import { COSIGN_SIGNATURE, createSigner, Signer } from "../../local/twin/sign";
import { referrersTag } from "../../common/naming";
import { lockName } from "../../ec2-scripts/copier/lock";
import { inWorkerRoot, workerToolPath } from "../../local/worker-root";
import { ReferrersFront, startReferrersFront } from "../support/referrers-front";
import {
  copyArgs,
  EcrSyncWorld,
  ecrPassword,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../../local/world";

/** Whether a process waits for a flock on `file` (a "->" line for its inode in /proc/locks). */
function waitsOn(file: string): boolean {
  if (!existsSync(file)) return false;
  const inode = statSync(file).ino;
  return readFileSync("/proc/locks", "utf8")
    .split("\n")
    .some((line) => /^\d+: -> FLOCK /.test(line) && line.split(/\s+/).some((f) => f.endsWith(`:${inode}`)));
}

/** A registry as the tools reach it: a test registry, or a front on one. */
type Endpoint = { readonly host: string };

const SBOM_TYPE = "application/spdx+json";
/** As the documents export it (the stack's ecr-sync:copyReferrers, default true). */
const ON = { ECR_SYNC_COPY_REFERRERS: "true" };

describe("referrers (signatures, SBOMs) travel with their images", function () {
  this.timeout(120000);
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  let signer: Signer;
  /** Each registry's (or front's) account: whose ECR password logs in there. */
  const accounts = new Map<string, string>();

  before(async function () {
    this.timeout(60000);
    [world, scratch] = await Promise.all([
      startEcrSyncWorld(),
      mkdtemp(join(tmpdir(), "ecr-sync-referrers-")),
    ]);
    accounts.set(world.source.host, SOURCE_ACCOUNT);
    accounts.set(world.target.host, TARGET_ACCOUNT);
    signer = await createSigner(join(scratch, "cosign"), (host) => ({
      username: "AWS",
      password: ecrPassword(accounts.get(host)!),
    }));
  });

  after(async () => {
    await world?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /**
   * Runs a tool to its end without blocking this process: the stand-in fronts below answer from
   * it. Fails the test with the tool's stderr unless it exits 0.
   */
  async function run(argv: string[], cwd = scratch, env: Record<string, string> = {}): Promise<string> {
    const result = await exec(argv, cwd, env);
    expect(result.status, `${argv.slice(argv.indexOf("--") + 1).join(" ")}\n${result.stderr}`).to.equal(0);
    return result.stdout;
  }

  function exec(
    argv: string[],
    cwd: string,
    env: Record<string, string>,
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        argv[0],
        argv.slice(1),
        {
          cwd,
          encoding: "utf8",
          env: {
            PATH: process.env.PATH,
            HOME: scratch,
            ...env,
          },
        },
        (error, stdout, stderr) =>
          resolve({
            status: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
            stdout,
            stderr,
          }),
      );
    });
  }

  /** A docker config (what cosign and oras log in with) for one registry host. */
  const configOf = (registry: Endpoint): string => {
    const file = join(scratch, `auth-${registry.host.replace(/[^0-9A-Za-z]/g, "-")}.json`);
    const auth = Buffer.from(`AWS:${ecrPassword(accounts.get(registry.host)!)}`).toString("base64");
    writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth } } }));
    return file;
  };

  /** cosign sign by subject (OCI 1.1) with the run's key, as npm start signs (local/twin/sign.ts). */
  const sign = (registry: Endpoint, repository: string, digest: string) =>
    signer.sign(registry.host, repository, digest);

  /** cosign verify with the run's key, offline: undefined when it verified, else cosign's words. */
  const verify = (registry: Endpoint, repository: string, digest: string) =>
    signer.verify(registry.host, repository, digest);

  /** The worker root's oras, with the registry's login. */
  const oras = (registry: Endpoint, args: string[]) =>
    run(inWorkerRoot(["oras", ...args, "--plain-http", "--registry-config", configOf(registry)]));

  /** Attaches a small SBOM to `digest`; returns the SBOM manifest's digest. */
  async function attachSbom(registry: Endpoint, repository: string, digest: string): Promise<string> {
    // oras attach takes a path relative to its working folder (the scratch folder) only.
    const file = `sbom-${++counter}.spdx.json`;
    await writeFile(
      join(scratch, file),
      JSON.stringify({ spdxVersion: "SPDX-2.3", name: `sbom ${counter}` }),
    );
    const out = await oras(registry, [
      "attach",
      "--artifact-type",
      SBOM_TYPE,
      `${registry.host}/${repository}@${digest}`,
      `${file}:application/spdx+json`,
    ]);
    const attached = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(out)?.[1];
    expect(attached, out).to.be.a("string");
    return attached!;
  }

  /** The referrers of `digest` as `oras discover` lists them: digest → artifact type. */
  async function discovered(
    registry: Endpoint,
    repository: string,
    digest: string,
  ): Promise<Record<string, string>> {
    const listing = JSON.parse(
      await oras(registry, ["discover", "--format", "json", `${registry.host}/${repository}@${digest}`]),
    ) as { manifests?: Array<{ digest: string; artifactType: string }> };
    return Object.fromEntries((listing.manifests ?? []).map((m) => [m.digest, m.artifactType]));
  }

  /**
   * A new mapped pair (the target repository made) whose source holds `v1`, an image (or a
   * two-platform index) signed through `signer` (the source registry, or a front on it).
   */
  async function signedImage({
    label = "ref",
    signer = world.source as Endpoint,
    index = false,
  } = {}): Promise<{
    source: string;
    target: string;
    image: BuiltArtifact;
  }> {
    const source = `kuali-coeus-${label}-${++counter}`;
    const target = `coeus-${label}-${counter}`;
    world.mapRepository(source, target);
    await world.createTargetRepository(target);
    const image = index
      ? await world.layout.addMultiArch(
          [
            { os: "linux", architecture: "amd64" },
            { os: "linux", architecture: "arm64", variant: "v8" },
          ],
          [{ size: 4096 }],
          source,
        )
      : await world.layout.addImage({ layers: [{ size: 4096 }], label: source });
    await world.pushToSource(image, source, "v1");
    await sign(signer, source, image.digest);
    return { source, target, image };
  }

  const referrerLines = (lines: Array<Record<string, string>>) => lines.filter((line) => "referrer" in line);

  it("a copy brings the image's cosign signature and its SBOM under the same digests, and cosign verify passes against the target", async () => {
    const { source, target, image } = await signedImage();
    const sbom = await attachSbom(world.source, source, image.digest);
    const inSource = await discovered(world.source, source, image.digest);
    expect(Object.values(inSource).sort()).to.deep.equal([SBOM_TYPE, COSIGN_SIGNATURE].sort());
    expect(
      await verify(world.target, target, image.digest),
      "no signature in the target before the copy",
    ).to.be.a("string");

    const result = await world.run(copyArgs(source, target, "v1"), ON);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.lines[0]).to.include({ result: "copied", digest: image.digest });
    expect(referrerLines(result.lines)).to.have.deep.members(
      Object.entries(inSource).map(([digest, artifactType]) => ({
        result: "copied",
        source: `${world.source.host}/${source}:v1`,
        target: `${world.target.host}/${target}:v1`,
        referrer: digest,
        subject: image.digest,
        artifact_type: artifactType,
      })),
    );
    expect(await discovered(world.target, target, image.digest)).to.deep.equal(inSource);
    expect(inSource).to.have.property(sbom, SBOM_TYPE);
    expect(await verify(world.target, target, image.digest)).to.equal(undefined);
    // No tag but the image's and the referrers tag the target has no API for.
    expect((await world.target.tags(target)).sort()).to.deep.equal(
      [`${image.digest.replace(":", "-")}`, "v1"].sort(),
    );
  });

  it("a second copy sends no referrer again, and prints no referrer line", async () => {
    const { source, target, image } = await signedImage();
    await attachSbom(world.source, source, image.digest);
    expect((await world.run(copyArgs(source, target, "v1"), ON)).code).to.equal(0);
    const mark = await world.target.mark();
    const again = await world.run(copyArgs(source, target, "v1"), ON);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.lines.map((line) => line.result)).to.deep.equal(["unchanged"]);
    const writes = (await world.target.accessLog())
      .slice(mark)
      .filter((entry) => entry.method !== "GET" && entry.method !== "HEAD");
    expect(writes, "nothing written to the target").to.deep.equal([]);
  });

  it("a referrer attached after the copy (a nested one: a signature of the SBOM) is healed by the next reconcile, the image left as it is", async () => {
    const { source, target, image } = await signedImage();
    // A second tag of the same image: its referrers are compared and healed once, not per tag.
    await world.pushToSource(image, source, "latest");
    expect((await world.run(copyArgs(source, target, "v1"), ON)).code).to.equal(0);
    expect((await world.run(copyArgs(source, target, "latest"), ON)).code).to.equal(0);
    const sbom = await attachSbom(world.source, source, image.digest);
    await sign(world.source, source, sbom);

    const reconcile = await world.run(["reconcile"], {
      ...ON,
      ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
    });
    expect(reconcile.code, reconcile.stderr).to.equal(0);
    const lines = referrerLines(reconcile.lines);
    expect(lines.map((line) => [line.subject, line.artifact_type])).to.have.deep.members([
      [image.digest, SBOM_TYPE],
      [sbom, COSIGN_SIGNATURE],
    ]);
    expect(
      reconcile.lines.find(
        (line) => line.target === `${world.target.host}/${target}:v1` && !("referrer" in line),
      ),
    ).to.include({
      result: "unchanged",
    });
    expect(reconcile.lines.at(-1)).to.include({
      result: "reconcile",
      copied: 0,
      unchanged: 2,
      referrers_copied: 2,
    });
    expect(await discovered(world.target, target, sbom)).to.deep.equal(
      await discovered(world.source, source, sbom),
    );
    expect(await verify(world.target, target, sbom), "the SBOM's signature verifies in the target").to.equal(
      undefined,
    );
  });

  it("two tags of one image copied at once copy each referrer once: the second waits on the image's referrers lock", async () => {
    const { source, target, image } = await signedImage();
    await world.pushToSource(image, source, "latest");
    // The first `oras cp` (copy A's, under the image's referrers lock) waits for `go` once it says `held`.
    const dir = await mkdtemp(join(scratch, "oras-gate-"));
    await writeFile(
      join(dir, "oras"),
      [
        "#!/bin/sh",
        `if [ "$1" = cp ] && mkdir '${dir}/first' 2>/dev/null; then`,
        `  : >'${dir}/held'`,
        `  while [ ! -e '${dir}/go' ]; do sleep 0.1; done`,
        "fi",
        `exec '${workerToolPath("oras")}' "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const gated = { ...ON, PATH: `${dir}:${process.env.PATH ?? ""}` };
    const a = world.spawn(copyArgs(source, target, "v1"), gated);
    await waitFor("copy A's oras held at the gate", async () => existsSync(join(dir, "held")), 30000);
    const b = world.spawn(copyArgs(source, target, "latest"), gated);
    const lock = join(world.lockDir, `${lockName(target, referrersTag(image.digest))}.lock`);
    await waitFor("copy B waiting on the image's referrers lock", async () => waitsOn(lock), 30000);
    await writeFile(join(dir, "go"), "");
    const [ranA, ranB] = await Promise.all([a.result, b.result]);
    expect(ranA.code, ranA.stderr).to.equal(0);
    expect(ranB.code, ranB.stderr).to.equal(0);
    expect(ranB.lines[0]).to.include({ result: "copied", digest: image.digest });
    const copied = [...ranA.lines, ...ranB.lines].filter((line) => "referrer" in line);
    expect(
      copied.map((line) => [line.result, line.target]),
      "one copy of the signature, by A",
    ).to.deep.equal([["copied", `${world.target.host}/${target}:v1`]]);
  });

  it("a push of a referrers tag (sha256-HEX) copies its image's referrers, never the tag as an image; before the image is in the target, nothing", async () => {
    const { source, target, image } = await signedImage();
    const referrersTag = image.digest.replace(":", "-");
    const early = await world.run(copyArgs(source, target, referrersTag), ON);
    expect(early.code, early.stderr).to.equal(0);
    expect(early.lines, "no line: nothing copied").to.deep.equal([]);
    expect(early.stderr).to.include(`has no ${image.digest}, so its referrers wait for that image's copy`);
    expect(await world.target.tags(target)).to.deep.equal([]);
    // The image arrives alone (as with referrers off); then the signature's referrers-tag push.
    const alone = await world.run(copyArgs(source, target, "v1"), { ECR_SYNC_COPY_REFERRERS: "false" });
    expect(alone.code, alone.stderr).to.equal(0);
    const late = await world.run(copyArgs(source, target, referrersTag), ON);
    expect(late.code, late.stderr).to.equal(0);
    expect(late.lines.map((line) => [line.result, line.subject, line.artifact_type])).to.deep.equal([
      ["copied", image.digest, COSIGN_SIGNATURE],
    ]);
    expect(await discovered(world.target, target, image.digest)).to.deep.equal(
      await discovered(world.source, source, image.digest),
    );
  });

  it("with ECR_SYNC_COPY_REFERRERS=false only the image travels; unset, its referrers do", async () => {
    const { source, target, image } = await signedImage();
    const off = await world.run(copyArgs(source, target, "v1"), { ECR_SYNC_COPY_REFERRERS: "false" });
    expect(off.code, off.stderr).to.equal(0);
    expect(off.lines.map((line) => line.result)).to.deep.equal(["copied"]);
    expect(await discovered(world.target, target, image.digest)).to.deep.equal({});
    const unset = await world.run(copyArgs(source, target, "v1"), { ECR_SYNC_COPY_REFERRERS: undefined });
    expect(unset.code, unset.stderr).to.equal(0);
    expect(unset.lines.map((line) => [line.result, line.artifact_type])).to.deep.equal([
      ["unchanged", undefined],
      ["copied", COSIGN_SIGNATURE],
    ]);
    expect(await discovered(world.target, target, image.digest)).to.deep.equal(
      await discovered(world.source, source, image.digest),
    );
  });

  it("a referrer that cannot be copied fails the run with its own line and exit code, and leaves the image copied", async () => {
    const { source, target, image } = await signedImage();
    const sbom = await attachSbom(world.source, source, image.digest);
    // The SBOM's file is gone from the source's storage: its manifest lists a blob it cannot serve.
    const sbomBlob = (
      JSON.parse(
        spawnSync(
          "curl",
          [
            "-sf",
            "-u",
            `AWS:${ecrPassword(SOURCE_ACCOUNT)}`,
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            `http://${world.source.host}/v2/${source}/manifests/${sbom}`,
          ],
          { encoding: "utf8" },
        ).stdout,
      ) as { layers: Array<{ digest: string }> }
    ).layers[0].digest;
    const hex = sbomBlob.split(":")[1];
    await unlink(
      join(world.source.storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data"),
    );

    const result = await world.run(copyArgs(source, target, "v1"), ON);
    expect(result.code, result.stderr).to.equal(1);
    expect(result.lines[0]).to.include({ result: "copied", digest: image.digest });
    const failed = referrerLines(result.lines).filter((line) => line.result === "failed");
    expect(failed).to.have.length(1);
    expect(failed[0]).to.include({ referrer: sbom, subject: image.digest, artifact_type: SBOM_TYPE });
    expect(failed[0].error).to.match(/oras cp of .* failed while both registries answer: oras: /);
    expect(await world.target.digestOf(target, "v1")).to.equal(image.digest);
    // The signature, which could be copied, was.
    expect(Object.values(await discovered(world.target, target, image.digest))).to.include(COSIGN_SIGNATURE);
  });

  describe("where the registries have the referrers API (a stand-in front on each: test/support/referrers-front.ts)", () => {
    let source: ReferrersFront;
    let target: ReferrersFront;
    let refusing: ReferrersFront;

    before(async () => {
      [source, target, refusing] = await Promise.all([
        startReferrersFront(world.source.host),
        startReferrersFront(world.target.host),
        startReferrersFront(world.target.host, { refuseIndexSubjects: true }),
      ]);
      accounts.set(source.host, SOURCE_ACCOUNT);
      accounts.set(target.host, TARGET_ACCOUNT);
      accounts.set(refusing.host, TARGET_ACCOUNT);
    });
    after(async () => {
      await Promise.all([source, target, refusing].map((front) => front?.stop()));
    });

    const through = (front: ReferrersFront) => ({
      ECR_SYNC_SOURCE_REGISTRY: source.host,
      ECR_SYNC_TARGET_REGISTRY: front.host,
      ...ON,
    });

    it("lists referrers by the API and pushes them with no referrers tag; cosign verify passes against the target", async () => {
      const {
        source: repository,
        target: targetRepository,
        image,
      } = await signedImage({ label: "api", signer: source });
      const sbom = await attachSbom(source, repository, image.digest);
      expect(
        await world.source.tags(repository),
        "the API answered: no referrers tag in the source",
      ).to.deep.equal(["v1"]);

      const result = await world.run(copyArgs(repository, targetRepository, "v1"), through(target));
      expect(result.code, result.stderr).to.equal(0);
      expect(
        referrerLines(result.lines).map((line) => [line.result, line.artifact_type]),
      ).to.have.deep.members([
        ["copied", COSIGN_SIGNATURE],
        ["copied", SBOM_TYPE],
      ]);
      expect(source.listings).to.include(`${repository}@${image.digest}`);
      expect(await world.target.tags(targetRepository), "no referrers tag in the target").to.deep.equal([
        "v1",
      ]);
      expect(await discovered(target, targetRepository, image.digest)).to.have.property(sbom, SBOM_TYPE);
      expect(await verify(target, targetRepository, image.digest)).to.equal(undefined);
    });

    it("a referrer the target refuses with 405 (ECR, for some referrers of an image index) is unsupported: its own line, the index copied, exit 0", async () => {
      const {
        source: repository,
        target: targetRepository,
        image: index,
      } = await signedImage({ label: "405", signer: source, index: true });

      const result = await world.run(copyArgs(repository, targetRepository, "v1"), through(refusing));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.lines[0]).to.include({ result: "copied", digest: index.digest });
      const [line] = referrerLines(result.lines);
      expect(line).to.include({
        result: "unsupported",
        subject: index.digest,
        artifact_type: COSIGN_SIGNATURE,
      });
      expect(line.reason).to.match(/HTTP 405 .*containers-roadmap#2783.*the image is copied without it/);
      expect(await world.target.digestOf(targetRepository, "v1")).to.equal(index.digest);
    });
  });
});

import { join } from "node:path";
import { EXIT, ExitCode } from "../../common/result-lines";
import { Aws } from "./aws";
import { Clock } from "./clock";
import { Config } from "./config";
import { Copy, decideLocked, decideVerified, Images, ManifestRead, Origin, Report } from "./decide";
import { asFailure, Failure } from "./failure";
import { HeldLock, lockFile, lockName } from "./lock";
import { log } from "./log";
import { LIMITS } from "./limits";
import { isTagImmutable, TagPolicy } from "./mutability";
import { PROBE_LIMITS, RegistryClient } from "./registry";
import { Results } from "./results";
import { Known, Referrer, referrerGraph } from "./referrers";
import { referrersSubject, referrersTag } from "../../common/naming";
import { runCopyTool, runSkopeoCopy } from "./skopeo";
import { RunDir, StateDir } from "./state";
import { trace, traced } from "./trace";

/**
 * One image, under its target tag's lock: read the source tag, read the target tag, decide
 * (decide.ts), copy by the digest read there, verify. Copies of one tag take turns on the lock, so
 * each sees what the one before it did; the copy names the source by digest, so a push landing
 * during the copy cannot slip in unread (its own copy waits for this lock).
 */
export class Copier {
  private sequence = 0;

  constructor(
    private readonly config: Config,
    private readonly aws: Aws,
    readonly source: RegistryClient,
    readonly target: RegistryClient,
    private readonly state: StateDir,
    private readonly run: RunDir,
    private readonly results: Results,
    private readonly clock: Clock,
  ) {}

  images(sourceRepository: string, targetRepository: string, tag: string): Images {
    return {
      source: `${this.config.sourceRegistry}/${sourceRepository}:${tag}`,
      target: `${this.config.targetRegistry}/${targetRepository}:${tag}`,
    };
  }

  /** Starts waiting for the target tag's lock (copyImage takes it, or starts it itself). */
  lockTag(targetRepository: string, tag: string, signal?: AbortSignal): Promise<HeldLock> {
    const file = join(this.state.lockDir, `${lockName(targetRepository, tag)}.lock`);
    return traced(`lock ${targetRepository}:${tag}`, () =>
      lockFile(file, this.state.path, undefined, signal),
    );
  }

  /**
   * Prints the image's one line and returns its exit code. `locking`: the tag's lock, asked for
   * earlier (lockTag) by a caller that had other work to do meanwhile; everything this reads and
   * writes still happens only once it is held.
   */
  async copyImage(
    sourceRepository: string,
    targetRepository: string,
    tag: string,
    policy: TagPolicy,
    origin: Origin,
    hint?: string,
    locking?: { readonly lock: Promise<HeldLock>; readonly since: number },
  ): Promise<ExitCode> {
    const images = this.images(sourceRepository, targetRepository, tag);
    const waited = locking?.since ?? this.clock.monotonic();
    let lock;
    try {
      lock = await (locking?.lock ?? this.lockTag(targetRepository, tag));
    } catch (error) {
      return this.report(images, undefined, { do: "report", result: "failed", ...failedFields(error, hint) });
    }
    const lockedAt = this.clock.monotonic();
    try {
      // A long wait for the lock can outlast the margin the credentials were checked with: their
      // token() renews whatever is now within it (nothing, usually).
      if (lockedAt - waited > 2000)
        await Promise.all([this.aws.sourcePassword.token(), this.aws.targetPassword.token()]);
      return await this.copyLocked(
        lock,
        images,
        sourceRepository,
        targetRepository,
        tag,
        policy,
        origin,
        hint,
        lockedAt,
      );
    } catch (error) {
      return this.report(images, lockedAt, { do: "report", result: "failed", ...failedFields(error, hint) });
    } finally {
      lock.release();
    }
  }

  private async copyLocked(
    lock: HeldLock,
    images: Images,
    sourceRepository: string,
    targetRepository: string,
    tag: string,
    policy: TagPolicy,
    origin: Origin,
    hint: string | undefined,
    lockedAt: number,
  ): Promise<ExitCode> {
    // Both reads at once (one round trip, not two, under the lock); the target's answer is ignored,
    // as if never asked, when the source's alone decides (a failed read, or a missing tag to copy).
    const [source, targetRead] = await Promise.all([
      this.source.manifestDigest(sourceRepository, tag, `reading ${images.source}`),
      this.target.manifestDigest(targetRepository, tag, `reading ${images.target}`),
    ]);
    const target: ManifestRead =
      source.kind === "failed" || (source.kind === "missing" && origin === "tag")
        ? { kind: "missing" }
        : targetRead;
    const decision = decideLocked({
      images,
      origin,
      hint,
      source,
      target,
      immutable: isTagImmutable(policy, tag),
    });
    if (decision.do === "report")
      return this.withReferrers(images, lockedAt, decision, sourceRepository, targetRepository, tag, source);
    lock.assertHeld("before the copy");
    log(`copying ${this.config.sourceRegistry}/${sourceRepository}@${decision.digest} to ${images.target}`);
    const failure = await this.copyBytes(sourceRepository, targetRepository, tag, decision, lock);
    if (failure !== undefined) {
      return this.report(images, lockedAt, {
        do: "report",
        result: "failed",
        code: failure.code,
        error: failure.message,
        digest: decision.digest,
      });
    }
    const after = await this.target.manifestDigest(
      targetRepository,
      tag,
      `checking ${images.target} after the copy`,
    );
    lock.assertHeld("during the copy");
    return this.withReferrers(
      images,
      lockedAt,
      decideVerified({ images, origin, hint, copy: decision, target: after }),
      sourceRepository,
      targetRepository,
      tag,
      source,
    );
  }

  /**
   * The image's line, then, when the target tag holds the image (copied or unchanged), its
   * referrers the target lacks (healReferrers), still under the tag's lock. A referrer never moves
   * a tag; one that fails fails the run with its own line, and leaves the image as it is.
   */
  private async withReferrers(
    images: Images,
    lockedAt: number,
    report: Report,
    sourceRepository: string,
    targetRepository: string,
    tag: string,
    source: ManifestRead,
  ): Promise<ExitCode> {
    const code = this.report(images, lockedAt, report);
    if (!this.config.copyReferrers || code !== EXIT.ok || report.digest === undefined) return code;
    if (report.result !== "copied" && report.result !== "unchanged") return code;
    // The image's line is out: whatever goes wrong now is the referrers', on a line of their own.
    try {
      // The source's HEAD under the lock gave the image's media type (no GET for a single manifest).
      const mediaType =
        source.kind === "found" && source.digest === report.digest ? source.mediaType : undefined;
      return await this.healReferrers(sourceRepository, targetRepository, tag, report.digest, { mediaType });
    } catch (error) {
      return this.referrersFailed(images, report.digest, error);
    }
  }

  /** One `failed` line for the referrers of `subject` as a whole (read or lock failed); its exit code. */
  private referrersFailed(images: Images, subject: string, error: unknown): ExitCode {
    const failure = asFailure(error);
    this.results.referrer("failed", images, { subject, error: failure.message });
    return failure.code;
  }

  /**
   * The referrers of image `digest` (under `tag`, which names it in the result lines): compared
   * without a lock (reads only), and, when the target lacks one (attached after the image was
   * copied, or its event lost), copied under the lock of the image's referrers tag name
   * (`sha256-HEX`). Every run that copies an image's referrers takes that one lock, after its
   * image tag's if it holds one: two tags of one image, a reconcile and a referrers-tag push never
   * copy the same referrer at once (nor rewrite a target's referrers tag at once). The tag may
   * move meanwhile: the referrers of `digest` are still that image's, and copying them moves no tag.
   */
  async healReferrers(
    sourceRepository: string,
    targetRepository: string,
    tag: string,
    digest: string,
    known: Known = {},
  ): Promise<ExitCode> {
    const images = this.images(sourceRepository, targetRepository, tag);
    const graph = await referrerGraph(this.source, sourceRepository, digest, known);
    if (graph instanceof Failure) return this.referrersFailed(images, digest, graph);
    const reads = await this.target.manifestDigests(
      targetRepository,
      graph.map((referrer) => referrer.digest),
      (reference) => `reading ${targetRepository}@${reference}`,
    );
    if (reads.every((read) => read.kind === "found")) return EXIT.ok;
    let lock: HeldLock;
    try {
      lock = await this.lockTag(targetRepository, referrersTag(digest));
    } catch (error) {
      return this.referrersFailed(images, digest, error);
    }
    try {
      // The graph read above: a referrer attached since then comes with the next reconcile.
      return await this.copyReferrers(sourceRepository, targetRepository, images, graph, lock);
    } catch (error) {
      return this.referrersFailed(images, digest, error);
    } finally {
      lock.release();
    }
  }

  /**
   * A push of a referrers tag (`sha256-HEX`: a client attached a referrer in a registry that had no
   * referrers API): the tag is not an image and is never copied as one; the referrers of the image
   * it names are, when the target has that image. When the target lacks the image, they travel
   * with its copy.
   */
  async copyReferrersTag(sourceRepository: string, targetRepository: string, tag: string): Promise<ExitCode> {
    const subject = referrersSubject(tag);
    const images = this.images(sourceRepository, targetRepository, tag);
    const present = await this.target.manifestDigest(
      targetRepository,
      subject,
      `reading ${this.config.targetRegistry}/${targetRepository}@${subject}`,
    );
    if (present.kind === "failed") return this.referrersFailed(images, subject, present.failure);
    if (present.kind === "missing") {
      log(
        `${images.source} is a referrers tag; ${this.config.targetRegistry}/${targetRepository} has no ${subject}, so its referrers wait for that image's copy`,
      );
      return EXIT.ok;
    }
    return this.healReferrers(sourceRepository, targetRepository, tag, subject, {
      mediaType: present.mediaType,
    });
  }

  /**
   * Copies each referrer of `graph` the target lacks (read again under the lock: another copy may
   * have brought it); the exit code of the first that failed.
   */
  private async copyReferrers(
    sourceRepository: string,
    targetRepository: string,
    images: Images,
    graph: readonly Referrer[],
    lock: HeldLock,
  ): Promise<ExitCode> {
    let code: ExitCode = EXIT.ok;
    for (const referrer of graph) {
      const present = await this.target.manifestDigest(
        targetRepository,
        referrer.digest,
        `reading ${targetRepository}@${referrer.digest}`,
      );
      if (present.kind === "found") continue;
      lock.assertHeld("before copying a referrer");
      const failure =
        present.kind === "failed"
          ? present.failure
          : await this.copyReferrer(sourceRepository, targetRepository, referrer, lock);
      const fields = {
        referrer: referrer.digest,
        subject: referrer.subject,
        artifact_type: referrer.artifactType,
      };
      if (failure === undefined) this.results.referrer("copied", images, fields);
      else if (failure instanceof Unsupported)
        this.results.referrer("unsupported", images, { ...fields, reason: failure.reason });
      else {
        this.results.referrer("failed", images, { ...fields, error: failure.message });
        if (code === EXIT.ok) code = failure.code;
      }
    }
    return code;
  }

  /**
   * oras cp SOURCE@REFERRER to the target repository, by digest (no tag moves; where the target has
   * no referrers API, oras updates its referrers tag). A failure is classified by probing, as a
   * skopeo copy's is: the referrer's manifest PUT by its digest, which ECR refuses with 405 for a
   * subject it does not take (aws/containers-roadmap#2783).
   */
  private async copyReferrer(
    sourceRepository: string,
    targetRepository: string,
    referrer: Referrer,
    lock: HeldLock,
  ): Promise<Failure | Unsupported | undefined> {
    const source = `${this.config.sourceRegistry}/${sourceRepository}@${referrer.digest}`;
    const target = `${this.config.targetRegistry}/${targetRepository}`;
    const n = ++this.sequence;
    const outcome = await runCopyTool(
      "oras",
      [
        "cp",
        "--from-registry-config",
        this.run.writeFile(
          `source.${n}.auth.json`,
          authFile(this.source.host, await this.aws.sourcePassword.token()),
        ),
        "--to-registry-config",
        this.run.writeFile(
          `target.${n}.auth.json`,
          authFile(this.target.host, await this.aws.targetPassword.token()),
        ),
        ...(this.config.tlsVerify ? [] : ["--from-plain-http", "--to-plain-http"]),
        source,
        target,
      ],
      { timeoutSeconds: this.config.copyTimeoutSeconds, lockFd: lock.fd },
      () => this.clock.monotonic(),
    );
    this.run.remove(`source.${n}.auth.json`, `target.${n}.auth.json`);
    const after = await this.target.manifestDigest(
      targetRepository,
      referrer.digest,
      `checking ${target}@${referrer.digest}`,
    );
    if (outcome.ok && after.kind === "found") return undefined;
    if (after.kind === "failed") return after.failure;
    const probed = await this.probe(sourceRepository, targetRepository, referrer.digest, "a referrer");
    if (probed instanceof Failure) return probed;
    if (probed === 405) {
      return new Unsupported(
        `registry ${this.target.host} refuses this referrer of ${referrer.subject} (HTTP 405 to its manifest; ECR refuses some referrers whose subject is an image index, aws/containers-roadmap#2783): the image is copied without it`,
      );
    }
    return new Failure(
      outcome.timedOut ? EXIT.unavailable : EXIT.failed,
      outcome.timedOut
        ? `oras cp of ${source} to ${target} did not finish within ${this.config.copyTimeoutSeconds} s (ECR_SYNC_COPY_TIMEOUT_SECONDS): stopped; registry ${this.source.host} or ${this.target.host} stalled; not a credentials problem: run again once they answer`
        : `oras cp of ${source} to ${target} failed while both registries answer: oras: ${outcome.lastLine}`,
    );
  }

  private report(images: Images, lockedAt: number | undefined, report: Report): ExitCode {
    if (report.result === "superseded" && report.reason) log(report.reason);
    this.results.image(
      report.result,
      { ...images, lockedAt },
      {
        digest: report.digest,
        error: report.error,
        reason: report.reason,
        ...(report.staleField !== undefined && report.staleDigest !== undefined
          ? { [report.staleField]: report.staleDigest }
          : {}),
      },
    );
    return report.code;
  }

  /**
   * skopeo copy SOURCE@DIGEST to TARGET:TAG; undefined when it succeeded, else the failure, its
   * class found by probing both registries (probeFailure). When both look healthy, the copy is
   * tried again (a connection cut short once: the blobs already sent are not sent again); when it
   * fails again, the source's blobs are read whole to find one it serves cut short.
   */
  private async copyBytes(
    sourceRepository: string,
    targetRepository: string,
    tag: string,
    copy: Copy,
    lock: HeldLock,
  ): Promise<Failure | undefined> {
    const sourceImage = `${this.config.sourceRegistry}/${sourceRepository}@${copy.digest}`;
    const targetImage = `${this.config.targetRegistry}/${targetRepository}:${tag}`;
    let lastLine = "";
    for (let attempt = 1; attempt <= LIMITS.copyAttempts; attempt++) {
      const n = ++this.sequence;
      trace("skopeo copy start");
      const outcome = await runSkopeoCopy(
        {
          source: sourceImage,
          target: targetImage,
          sourceAuthFile: this.run.writeFile(
            `source.${n}.auth.json`,
            authFile(this.source.host, await this.aws.sourcePassword.token()),
          ),
          targetAuthFile: this.run.writeFile(
            `target.${n}.auth.json`,
            authFile(this.target.host, await this.aws.targetPassword.token()),
          ),
          tlsVerify: this.config.tlsVerify,
          timeoutSeconds: this.config.copyTimeoutSeconds,
          lockFd: lock.fd,
        },
        () => this.clock.monotonic(),
      );
      trace("skopeo copy end");
      this.run.remove(`source.${n}.auth.json`, `target.${n}.auth.json`);
      if (outcome.ok) return undefined;
      lastLine = outcome.lastLine;
      const probed = await this.probeFailure(sourceRepository, targetRepository, copy.digest);
      if (probed !== undefined) return probed;
      if (outcome.timedOut) {
        return new Failure(
          EXIT.unavailable,
          `skopeo copy of ${sourceImage} to ${targetImage} did not finish within ${this.config.copyTimeoutSeconds} s (ECR_SYNC_COPY_TIMEOUT_SECONDS): stopped; registry ${this.source.host} or ${this.target.host} stalled; not a credentials problem: run again once they answer`,
        );
      }
      if (attempt < LIMITS.copyAttempts)
        log(`skopeo copy failed (${lastLine}) while both registries answer: trying once more`);
    }
    const blob = await this.findCutShortBlob(sourceRepository, copy.digest);
    if (blob !== undefined) return blob;
    return new Failure(
      EXIT.failed,
      `skopeo copy of ${sourceImage} to ${targetImage} failed while both registries answer: skopeo: ${lastLine}`,
    );
  }

  /**
   * Which side failed a copy, from the registries' answers now (HTTP status, or none), never from
   * skopeo's text: the source manifest by digest, the target's login, then the target's write path,
   * a PUT of that same manifest by its digest (a write skopeo was about to make; it moves no tag).
   * undefined when every answer is healthy.
   */
  private async probeFailure(
    sourceRepository: string,
    targetRepository: string,
    digest: string,
  ): Promise<Failure | undefined> {
    const probed = await this.probe(sourceRepository, targetRepository, digest, "its manifest");
    return probed instanceof Failure ? probed : undefined;
  }

  /**
   * probeFailure's reads and write, for a manifest (`what`: "its manifest", "a referrer"): the side
   * answering badly as a Failure, else the status the target gave the PUT (a referrer's 405 means
   * something to its caller).
   */
  private async probe(
    sourceRepository: string,
    targetRepository: string,
    digest: string,
    what: string,
  ): Promise<Failure | number> {
    const reading = `reading ${this.config.sourceRegistry}/${sourceRepository}@${digest} after a failed copy`;
    const manifest = await this.source.manifest(sourceRepository, digest, reading);
    if (manifest instanceof Failure) return manifest;
    if (manifest === undefined) {
      return new Failure(
        EXIT.failed,
        `source side: registry ${this.source.host} no longer has ${sourceRepository}@${digest} (HTTP 404): deleted during the copy`,
      );
    }
    const login = await this.target.request("/v2/", {}, undefined, PROBE_LIMITS);
    if (login.status !== 200) return this.target.failure(login, "at GET /v2/ after a failed copy");
    const put = await this.target.putManifestByDigest(targetRepository, digest, manifest);
    // 404 to a manifest PUT is NAME_UNKNOWN (OCI distribution spec: a repository the registry
    // does not have; ECR's RepositoryNotFoundException): the repository went during the copy.
    if (put.status === 404) {
      return new Failure(
        EXIT.notFound,
        `target side: registry ${this.target.host} has no repository ${targetRepository} (HTTP 404 writing ${what} after a failed copy): it was deleted, or never made; create it (npm run -s status -- --repositories prints the command) and run again`,
      );
    }
    if ([0, 401, 403, 429].includes(put.status) || put.status >= 500) {
      return this.target.failure(put, `writing to ${targetRepository} after a failed copy`);
    }
    return put.status;
  }

  /** The first blob of the image the source serves cut short or changed (an index's platforms included). */
  private async findCutShortBlob(repository: string, digest: string): Promise<Failure | undefined> {
    const blobs = new Set<string>();
    const manifests = [digest];
    for (let i = 0; i < manifests.length && i < 64; i++) {
      const manifest = await this.source.manifest(
        repository,
        manifests[i],
        `reading ${repository}@${manifests[i]}`,
      );
      if (!manifest || manifest instanceof Failure) return manifest instanceof Failure ? manifest : undefined;
      const parsed = JSON.parse(manifest.body.toString()) as {
        manifests?: Array<{ digest: string }>;
        config?: { digest: string };
        layers?: Array<{ digest: string }>;
      };
      for (const child of parsed.manifests ?? []) manifests.push(child.digest);
      for (const blob of [parsed.config, ...(parsed.layers ?? [])]) if (blob?.digest) blobs.add(blob.digest);
    }
    for (const blob of blobs) {
      const failure = await this.source.checkBlob(repository, blob, `reading ${repository}'s blob ${blob}`);
      if (failure !== undefined) return failure;
    }
    return undefined;
  }
}

/** A referrer the target registry refuses for what it is: reported, not a failure. */
class Unsupported {
  constructor(readonly reason: string) {}
}

function authFile(host: string, token: string): string {
  return `${JSON.stringify({ auths: { [host]: { auth: token } } })}\n`;
}

function failedFields(
  error: unknown,
  hint: string | undefined,
): { code: ExitCode; error: string; digest?: string } {
  const failure = asFailure(error);
  return { code: failure.code, error: failure.message, digest: hint };
}

import { EXIT, ExitCode, ImageResult } from "../../common/result-lines";
import { Failure } from "./failure";

/**
 * The copier's decisions as pure functions over what the registries answered: no I/O, so each is
 * a table test (test/unit/copier-decide.test.ts). The invariant they keep: a target tag only ever
 * moves to the digest the source tag names now (read under the tag's lock); a digest from outside
 * (a push event's, a reconcile's plan) is only a hint, and when the tag no longer names it the
 * result is `superseded`.
 */

/** What a registry answered for one manifest: its digest, no such manifest, or a failure. */
export type ManifestRead =
  | {
      readonly kind: "found";
      readonly digest: string;
      /** The registry's Content-Type for it, without parameters ("" when it gave none). */
      readonly mediaType?: string;
    }
  | { readonly kind: "missing" }
  | { readonly kind: "failed"; readonly failure: Failure };

/** Where the digest a copy set out with came from: none (copy without --digest), a push event, a reconcile's plan. */
export type Origin = "tag" | "event" | "plan";

/** A result line to print, with the exit code it stands for. */
export interface Report {
  readonly do: "report";
  readonly result: ImageResult;
  readonly code: ExitCode;
  readonly digest?: string;
  readonly error?: string;
  /** superseded: the stale digest, as event_digest (a push event's) or planned_digest (a plan's). */
  readonly staleField?: "event_digest" | "planned_digest";
  readonly staleDigest?: string;
  readonly reason?: string;
}

/** Copy the source by `digest` (the one the tag names now) to the target tag. */
export interface Copy {
  readonly do: "copy";
  readonly digest: string;
  /** The hint was stale: the line after the copy is superseded, not copied. */
  readonly stale: boolean;
}

/** The names a line and its messages use: SOURCE_REGISTRY/REPO:TAG and TARGET_REGISTRY/REPO:TAG. */
export interface Images {
  readonly source: string;
  readonly target: string;
}

export interface LockedInput {
  readonly images: Images;
  readonly origin: Origin;
  /** The digest this run set out to copy (a push event's or a plan's); none for origin "tag". */
  readonly hint?: string;
  readonly source: ManifestRead;
  readonly target: ManifestRead;
  /** Whether the target tag is immutable (isTagImmutable of the repository's policy). */
  readonly immutable: boolean;
}

const failed = (code: ExitCode, error: string, digest?: string): Report => ({
  do: "report",
  result: "failed",
  code,
  error,
  digest,
});

function superseded(
  origin: Origin,
  hint: string | undefined,
  digest: string | undefined,
  reason: string,
): Report {
  return {
    do: "report",
    result: "superseded",
    code: EXIT.ok,
    digest,
    staleField: origin === "event" ? "event_digest" : "planned_digest",
    staleDigest: hint,
    reason,
  };
}

export const conflictMessage = (target: string, current: string, digest: string): string =>
  `${target} is immutable and already holds ${current}: not overwritten (push ${digest} under a new tag, or delete the old image)`;

/** Under the tag's lock: both tags read; what to do. */
export function decideLocked(input: LockedInput): Report | Copy {
  const { images, origin, hint, source, target } = input;
  if (source.kind === "failed") return failed(source.failure.code, source.failure.message, hint);
  if (source.kind === "missing" && origin === "tag") {
    return failed(EXIT.notFound, `source image ${images.source} does not exist`);
  }
  const digest = source.kind === "found" ? source.digest : undefined;
  if (target.kind === "failed") return failed(target.failure.code, target.failure.message, digest ?? hint);
  const current = target.kind === "found" ? target.digest : undefined;
  if (digest === undefined) {
    return superseded(
      origin,
      hint,
      current,
      `${images.source} no longer exists: nothing to copy (ecr-sync never deletes a tag), ${images.target} left as it is`,
    );
  }
  const stale = origin !== "tag" && digest !== hint;
  if (current === digest) {
    return stale
      ? superseded(
          origin,
          hint,
          current,
          `${images.source} has moved on to ${digest}, which ${images.target} already holds: not rolling it back to ${hint}`,
        )
      : { do: "report", result: "unchanged", code: EXIT.ok, digest };
  }
  if (current !== undefined && input.immutable) {
    return failed(EXIT.conflict, conflictMessage(images.target, current, digest), digest);
  }
  return { do: "copy", digest, stale };
}

export interface VerifyInput {
  readonly images: Images;
  readonly origin: Origin;
  readonly hint?: string;
  readonly copy: Copy;
  /** The target tag read after the copy. */
  readonly target: ManifestRead;
}

/** After the copy: the target tag must hold the digest copied. */
export function decideVerified(input: VerifyInput): Report {
  const { images, copy, target } = input;
  if (target.kind === "failed") return failed(target.failure.code, target.failure.message, copy.digest);
  if (target.kind !== "found" || target.digest !== copy.digest) {
    const found = target.kind === "found" ? target.digest : "";
    const status = target.kind === "found" ? 200 : 404;
    return failed(
      EXIT.failed,
      `after the copy ${images.target} resolves to '${found}' (HTTP ${status}), not ${copy.digest}`,
      copy.digest,
    );
  }
  if (copy.stale) {
    return superseded(
      input.origin,
      input.hint,
      copy.digest,
      `${images.source} has moved on to ${copy.digest}: copied that to ${images.target}, not ${input.hint}`,
    );
  }
  return { do: "report", result: "copied", code: EXIT.ok, digest: copy.digest };
}

export interface PlanInput {
  readonly images: Images;
  readonly source: ManifestRead;
  readonly target: ManifestRead;
  readonly immutable: boolean;
  readonly dryRun: boolean;
}

/** A reconcile's tag, from its up-front (unlocked) reads: a line now, or a copy under the lock. */
export function decidePlanned(input: PlanInput): Report | { readonly do: "lock"; readonly digest: string } {
  const { images, source, target } = input;
  if (source.kind === "missing") {
    return superseded(
      "plan",
      undefined,
      target.kind === "found" ? target.digest : undefined,
      `${images.source} was deleted since the listing: nothing to copy (ecr-sync never deletes a tag)`,
    );
  }
  if (source.kind === "failed") return failed(source.failure.code, source.failure.message);
  if (target.kind === "found" && target.digest === source.digest) {
    return { do: "report", result: "unchanged", code: EXIT.ok, digest: source.digest };
  }
  if (target.kind === "failed") return failed(target.failure.code, target.failure.message, source.digest);
  if (!input.dryRun) return { do: "lock", digest: source.digest };
  if (target.kind === "found" && input.immutable) {
    return failed(EXIT.conflict, conflictMessage(images.target, target.digest, source.digest), source.digest);
  }
  return { do: "report", result: "planned", code: EXIT.ok, digest: source.digest };
}

/**
 * A reconcile's exit code: 0 without failures; the code of its failures when they all share one
 * (so the alert sends on-call the right way); otherwise 1.
 */
export function reconcileExitCode(failureCodes: readonly ExitCode[]): ExitCode {
  if (failureCodes.length === 0) return EXIT.ok;
  return failureCodes.every((code) => code === failureCodes[0]) ? failureCodes[0] : EXIT.failed;
}

/**
 * The copier's output contract, one definition for the copier (ec2-scripts/copier), the stacks
 * (alarms, dashboard) and the tests: the result lines it prints on stdout, one JSON object per
 * image and a summary after a reconcile, and its exit codes. `ecr-sync --help` describes them for
 * people; this is the same contract for programs.
 */

/** The result of one image. */
export const IMAGE_RESULTS = [
  "copied",
  "unchanged",
  "superseded",
  "planned",
  "unsupported",
  "failed",
] as const;
export type ImageResult = (typeof IMAGE_RESULTS)[number];

/** The result of a reconcile's last line. */
export const RECONCILE_RESULT = "reconcile";

/** One image's line. Seconds (`*_s`) are numbers with at most 2 decimals. */
export interface ImageLine {
  readonly result: ImageResult;
  /** SOURCE_REGISTRY/REPOSITORY:TAG (or SOURCE_REGISTRY/REPOSITORY for a failed mapping). */
  readonly source: string;
  readonly target: string;
  /** What the target tag holds (copied, unchanged, superseded) or would hold; absent while unknown. */
  readonly digest?: string;
  /** failed: why (also logged on stderr). */
  readonly error?: string;
  /** superseded by `copy --digest`: the push event's digest the source tag no longer names. */
  readonly event_digest?: string;
  /** superseded in a reconcile: the digest its up-front read saw. */
  readonly planned_digest?: string;
  /** superseded, unsupported: why. */
  readonly reason?: string;
  /** Lines decided under the tag's lock: lock taken to verified. */
  readonly copy_s?: number;
  /** After `--pushed-at`: the push time as given, and the push-to-verified latency. */
  readonly pushed_at?: string;
  readonly latency_s?: number;
  /**
   * A referrer's line (copied, unsupported, failed): the referrer's digest, its subject (the image
   * or a manifest of it, or another referrer) and its artifact type. source and target name the
   * image it travels with.
   */
  readonly referrer?: string;
  readonly subject?: string;
  readonly artifact_type?: string;
}

/** Whether a result line is a referrer's (every referrer line names its subject), not an image's. */
export function isReferrerLine(line: object): boolean {
  return "subject" in line;
}

/** A reconcile's last line: image lines printed per result, and its duration. */
export interface ReconcileLine {
  readonly result: typeof RECONCILE_RESULT;
  readonly copied: number;
  readonly unchanged: number;
  readonly superseded: number;
  readonly failed: number;
  readonly unsupported: number;
  readonly planned: number;
  /** Referrer lines printed per result (referrers the target already had print none). */
  readonly referrers_copied: number;
  readonly referrers_unsupported: number;
  readonly referrers_failed: number;
  readonly duration_s: number;
  /** Present (true) only on a `reconcile --dry-run`'s summary: a plan, not a run that heals. */
  readonly dry_run?: true;
}

export type ResultLine = ImageLine | ReconcileLine;

/** The exit codes; `ecr-sync --help` says when each is used. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  config: 3,
  auth: 4,
  notFound: 5,
  conflict: 6,
  unavailable: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The results that count as done (exit 0) for their image. */
export const SUCCESSFUL_RESULTS: readonly ImageResult[] = [
  "copied",
  "unchanged",
  "superseded",
  "planned",
  "unsupported",
];

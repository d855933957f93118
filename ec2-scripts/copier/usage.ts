import { EXIT } from "../../common/result-lines";
import { PROGRAM } from "./log";
import { LIMITS } from "./limits";

const SYNOPSIS = `Usage:
  ${PROGRAM} copy --source-repository NAME --target-repository NAME --tag TAG [--digest sha256:HEX]
                [--pushed-at TIME]
  ${PROGRAM} reconcile [--dry-run]
  ${PROGRAM} --help
`;

/** What a usage error prints after its problems: the synopsis and where the rest is. */
export function shortUsage(): string {
  return `${SYNOPSIS}Run '${PROGRAM} --help' for the flags, the environment, examples, the result lines and the exit codes.\n`;
}

/** `ecr-sync --help`: the one description of the flags, environment, result lines and exit codes. */
export function usage(): string {
  return `${SYNOPSIS}
Examples (the variables as the SSM documents export them, the worker's role as the credentials):
  ${PROGRAM} copy --source-repository kuali-coeus --target-repository coeus --tag 2601.0012
  ${PROGRAM} copy --source-repository kuali-coeus --target-repository coeus --tag 2601.0012 \\
    --digest sha256:HEX --pushed-at 2026-06-01T12:00:03Z        (as the push trigger sends it)
  ${PROGRAM} reconcile --dry-run                                   (what a reconcile would copy)
  ECR_SYNC_RECONCILE_PARALLELISM=8 ${PROGRAM} reconcile

Commands:
  copy       Copies SOURCE_REGISTRY/NAME:TAG, by the digest the tag names at the moment of the
             copy (read under the tag's lock), to TARGET_REGISTRY/NAME:TAG, every platform, digest
             preserved, then checks the target. A target tag never moves to any other digest.
             Then, unless ECR_SYNC_COPY_REFERRERS=false, the image's referrers the target lacks;
             and a referrers tag (sha256-HEX) is not copied as an image: its image's referrers
             are (referrer lines only), when the target has that image.
  reconcile  For every mapping in ECR_SYNC_REPOSITORY_MAP, copies each source tag whose digest
             the target lacks (each one re-read under its lock before it is copied), a few at a
             time, with credentials renewed before any is within ${LIMITS.credentialMarginSeconds} s of expiring.

Flags:
  --source-repository NAME  copy: the repository in the source registry (a key of ECR_SYNC_REPOSITORY_MAP)
  --target-repository NAME  copy: the repository the map names for it in the target registry (it must
                            exist: never created)
  --tag TAG                 copy: the tag to copy
  --digest sha256:HEX       copy: the digest of the push event. When the source tag no longer names
                            it, the event is stale: superseded, and this digest is never written
  --pushed-at TIME          copy: the push event's time, ISO-8601 UTC (2026-06-01T12:00:03[.123]Z)
  --dry-run                 reconcile: print the plan, write nothing
  -h, --help, help          this text

Environment:
  ECR_SYNC_SOURCE_REGISTRY  source registry, host[:port] (e.g. 770203350335.dkr.ecr.us-east-1.amazonaws.com)
  ECR_SYNC_TARGET_REGISTRY  target registry, host[:port]
  ECR_SYNC_TARGET_ROLE_ARN  the role to assume in the target account (arn:aws:iam::ACCOUNT:role/[PATH/]NAME)
  ECR_SYNC_REGION           the region of both accounts' ECR (e.g. us-east-1)
  ECR_SYNC_REPOSITORY_MAP   JSON object, source repository name -> target repository name: the pairs
                            reconcile walks, and the only pairs copy accepts
  ECR_SYNC_TLS_VERIFY       true (default), or false for plain-HTTP registries (local tests)
  ECR_SYNC_COPY_REFERRERS   true (default): an image's referrers (signatures, SBOMs) travel with it; false: images only
  ECR_SYNC_STATE_DIR        the directory of the copier's state (default /run/ecr-sync, a tmpfs on
                            the worker): per-tag locks in locks/, each run's private files (skopeo's
                            and oras's auth files) in runs/, removed when the run ends. Created mode 0700, never
                            followed through a symlink, refused unless owned by the user running
                            ecr-sync and writable by nobody else. No credential is kept between runs
  ECR_SYNC_RECONCILE_PARALLELISM reconcile: how many missing tags it copies at a time, 1 to
                            ${LIMITS.reconcileMaxParallelism} (default ${LIMITS.reconcileDefaultParallelism})
  ECR_SYNC_COPY_TIMEOUT_SECONDS how long one skopeo copy (or oras copy of a referrer) may take, 1 to
                            ${LIMITS.copyTimeoutMaxSeconds} (default ${LIMITS.copyTimeoutSeconds}): then it is stopped, the image (or referrer)
                            fails with exit ${EXIT.unavailable} and its lock is released
  ECR_SYNC_RESULTS_LOG_GROUP the CloudWatch Logs group for the run's telemetry (the documents set it):
                            each result line there as its own event, and the figures the alarms read
                            published to CloudWatch metrics (namespace ecr-sync). Unset: neither. A
                            telemetry failure is logged on stderr and never changes the exit code
  ECR_SYNC_TRACE            1: a line per step on stderr, "ecr-sync trace MS STEP", MS since the process
                            started (where a run's time goes). Default off
  The worker's own AWS credentials come from the AWS SDK's default chain (the instance profile); the
  target role's are assumed with them and renewed before they expire. AWS calls retry in the SDK's
  standard mode, AWS_MAX_ATTEMPTS times (default ${LIMITS.awsDefaultAttempts}).

Time limits: every registry request ${LIMITS.requestTimeoutSeconds} s (connecting ${LIMITS.connectTimeoutSeconds} s), retried ${LIMITS.requestRetries} times
  on a timeout, 408, 429 or 5xx; every skopeo or oras copy ECR_SYNC_COPY_TIMEOUT_SECONDS; a tag's lock
  (and an image's referrers lock, sha256-HEX) is waited for ${LIMITS.lockTimeoutSeconds} s.

Result lines (stdout, one JSON object per image: result, source, target, digest, and error
when failed; a failed line has no digest while it is unknown, an unsupported line never has one):
  copied      the target tag now holds the digest (checked after the copy)
  unchanged   the target tag already held the digest: nothing written
  superseded  the source tag no longer names the digest this run set out to copy: copy --digest's
              (field event_digest) or the one reconcile's plan read (field planned_digest).
              digest is what the target tag holds now: brought to what the source tag names
              now, or already holding it. If the source tag is gone, nothing is written (digest
              is absent when the target has no such tag either). Field reason says which.
  planned     reconcile --dry-run: would be copied
  unsupported reconcile: a source tag that ECR accepted but no image reference can carry (e.g.
              longer than 128 characters); or a referrer the target refuses (HTTP 405): not
              copied, not a failure; field reason says why
  failed      not copied: see error (also logged on stderr)
  reconcile   the last line of a reconcile that got past its login: fields copied, unchanged,
              superseded, failed, unsupported, planned (image lines printed), referrers_copied,
              referrers_unsupported, referrers_failed (referrer lines printed) and duration_s;
              a --dry-run's also dry_run: true (not counted as a reconcile run)
A line with field referrer is one of an image's referrers, after its image's line: copied,
unsupported or failed, with fields subject (the manifest it refers to) and artifact_type.
Copied, unchanged and superseded lines decided under the tag's lock carry copy_s (lock to
verified); after --pushed-at also pushed_at and latency_s (TIME to verified). Seconds, numbers.

Exit codes:
  0  every image copied, unchanged, superseded, planned or unsupported (a stale push event included)
  ${EXIT.failed}  a copy or its check failed, or another copy held the tag's lock for ${LIMITS.lockTimeoutSeconds} s;
     reconcile: images failed for different reasons (when every failed image failed for one reason,
     the reconcile exits with that reason's code); also an unexpected failure (a bug), logged
  ${EXIT.usage}  unknown or missing command or flag, or a name, tag or digest ECR would reject;
     copy: a source -> target pair that ECR_SYNC_REPOSITORY_MAP does not hold (nothing read or written)
  ${EXIT.config}  an ECR_SYNC_* variable is missing or invalid, or the state directory cannot be created,
     is unsafe (a symlink, another owner, writable by others) or cannot be written (full, read-only)
  ${EXIT.auth}  authentication: a registry answered 401 or 403, AWS refused the credentials
     (AccessDenied, STS refusing the role), or there are none (the message says which side)
  ${EXIT.notFound}  the target repository does not exist, or (copy without --digest) the source tag does not
     exist, or (reconcile) a mapped source repository does not
  ${EXIT.conflict}  the target tag is immutable and holds another digest (IMMUTABLE, or a *_WITH_EXCLUSION
     repository whose filters make the tag immutable)
  ${EXIT.unavailable}  unavailable: a registry, STS or ECR refused the connection, timed out, answered 5xx,
     or still throttled (429, ThrottlingException) after the retries; the message names the side
     and the endpoint. Not a credentials problem: run it again once that endpoint answers
`;
}

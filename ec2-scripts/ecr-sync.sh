#!/usr/bin/env bash
#
# ecr-sync.sh: copy images from the source account's ECR repositories into the target
# (legacy) account's differently named repositories: same digest, every platform.
#
#   ecr-sync.sh copy --source-repository NAME --target-repository NAME --tag TAG [--digest sha256:HEX]
#   ecr-sync.sh reconcile [--dry-run]
#
# `ecr-sync.sh --help` (usage below) is the one description of its flags, environment, result
# lines and exit codes.
#
# skopeo moves the bytes, registry to registry (no daemon, no local store, every platform of
# an index, digests preserved, blobs the target already has are not sent). This script only
# authenticates, decides and reports. Where each fact comes from, and why:
# - Digests come from the registries (HEAD /v2/REPO/manifests/REF with every manifest type
#   accepted, so nothing is converted: the digest of an index is the index's own). That is
#   what skopeo reads and writes, so the decision and the check after the copy look at what
#   the copy changed. One curl process answers a whole batch of tags, so a reconcile of
#   hundreds of in-sync tags costs a few processes, not a few per tag.
# - Source tags: the registry's tag list (GET /v2/REPO/tags/list, page by page), read with curl.
# - Whether the target repository exists, and whether its tags are immutable: the target
#   account's ECR API (describe-repositories, with the assumed role). A push to a missing
#   repository must never create one, and ECR is the authority on that, not the registry.
#
# The invariant: a target tag only ever moves to the digest the source tag names at the moment
# of the copy, read under that tag's lock; otherwise it stays. Every decision about a tag (read
# the source tag, read the target tag, compare, copy, verify) happens while holding the per-tag
# lock (copy_image), for `copy` and for each tag a `reconcile` copies, and the copy names the
# source by the digest read there, never by the tag. A digest given from outside (a push event's
# --digest, or what the reconcile's up-front read saw) is only a hint: when the source tag no
# longer names it, the target is brought to what the tag names now (or left, if it holds that
# already) and the line says `superseded`. The interleavings this covers:
# - a push (and its event-driven copy) landing while a reconcile works on other tags: the
#   reconcile re-reads the tag under the lock and copies the new digest, or finds it there;
# - events delivered, or their commands run, out of order: a late event for an older push
#   brings the target to the newest digest, never back to its own;
# - two copies of one tag at once: they take turns on the lock, the second sees what the first did.
# In-sync tags are a batch decision without the lock (nothing is written for them). And `copy`
# stays inside ECR_SYNC_REPOSITORY_MAP: the target role may push to every legacy repository, so
# the map, not the arguments, says which source may go where (check_mapped_pair).
#
# Credentials are kept on purpose (the credential cache, STATE_DIR/cache, a tmpfs on the worker):
# the assumed role's credentials and each registry's ECR password, with their expiry, reused by
# every run until CREDENTIAL_MARGIN_SECONDS before they expire and renewed under one lock, so a
# burst of copies fetches once and a warm copy starts no AWS CLI at all. The target repository's
# description (it exists; its tag policy) is kept DESCRIBE_CACHE_SECONDS the same way. Each run
# works in its own directory, STATE_DIR/runs/PID.XXXXXX (the skopeo auth files and curl configs
# it builds from the cache), removed on exit, and removed by the next run when a SIGKILL skipped
# that: no password is ever written outside STATE_DIR, on a command line, or in any output.
# docs/copier.md says where each entry is, how long it lives, and how to clear the cache.
#
# Functions return values on stdout and report failure by exit status; the few that must run
# in this shell (they start jobs or keep credentials) leave their results in the state below.
# A failure nobody handles ends the script through set -e, after the ERR trap (on_error) has
# logged its line and command. Sourced rather than run, the script only defines its functions:
# test/unit/contracts.test.ts does that to check its name patterns against common/naming.ts.
#
# Output: one JSON line per image on stdout; people-facing log lines on stderr.
set -Eeuo pipefail

readonly PROGRAM="${0##*/}"
# The names this script is given, checked as common/naming.ts checks them (there in JavaScript
# syntax; test/unit/contracts.test.ts runs both on one table). Where the two differed, this side
# was aligned: the stacks validate their config and build their IAM policies with the TypeScript
# one, so a name it refuses cannot be one they deployed.
readonly REPOSITORY_PATTERN='^([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*$'
readonly REPOSITORY_RULE="2-256 characters: lowercase letters, digits, '.', '_', '-' between them, '/' between parts"
readonly TAG_PATTERN='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
readonly DIGEST_PATTERN='^sha256:[a-f0-9]{64}$'
# A push event's time (is_utc_timestamp also has date refuse 2026-02-30).
readonly UTC_TIMESTAMP_PATTERN='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'
# host[:port]: DNS labels, and a port without a leading zero (is_registry checks its range).
readonly REGISTRY_PATTERN='^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[1-9][0-9]{0,4})?$'
readonly REGISTRY_MAX_PORT=65535
# Partition aws only (the stacks write their policies for arn:aws: a role in aws-cn or
# aws-us-gov cannot be the target role they made); IAM role names have at most 64 characters.
readonly ROLE_ARN_PATTERN='^arn:aws:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$'
# One digit at the end, like every AWS region so far (and the region in the stacks' ARN patterns).
readonly REGION_PATTERN='^[a-z]{2}(-[a-z]+)+-[0-9]$'
readonly MANIFEST_TYPES='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
# skopeo retries a failed copy (a dropped connection, a 429) this often, 1, 2, 4 s apart; within
# each try its registry client also waits out a 429 (2, 4 s). It does not retry a 5xx.
readonly SKOPEO_RETRY_TIMES=3
# curl retries a timeout, 408, 429 and 5xx this often, 1, 2, 4 s apart (or after Retry-After).
# Not --retry-connrefused: ECR answers behind load balancers, so a refused connection is a broken
# network path (proxy, firewall, endpoint), which seconds of retrying do not mend; it fails at once.
readonly CURL_FLAGS=(--retry 3 --connect-timeout 10 --max-time 60)
# A batch of digest reads (a reconcile reads every tag of a repository) runs this many at a time:
# hundreds of HEADs one after another are most of an in-sync reconcile's time.
readonly CURL_PARALLEL=8
# Tags asked for per page of a tag list (ECR's largest page is 1000).
readonly TAG_PAGE_SIZE=1000
# The AWS CLI's attempts per call (standard retry mode: throttling, 5xx and connection errors,
# exponential backoff with jitter up to 20 s) unless the caller set AWS_MAX_ATTEMPTS.
readonly AWS_DEFAULT_ATTEMPTS=5
readonly LOCK_TIMEOUT_SECONDS=900
# The credential cache (see the header). An entry is used until this long before it expires:
# no copy, and no tag of a reconcile, starts with credentials closer to their end than this.
readonly CREDENTIAL_MARGIN_SECONDS=600
# The source password is made with the instance profile's credentials, which EC2 rotates about
# hourly and whose expiry the CLI does not print: it is kept at most this long (a registry that
# rejects it sooner gets a new one: renew_password).
readonly SOURCE_PASSWORD_MAX_SECONDS=3600
# ECR's documented token lifetime, used when get-authorization-token's expiresAt is already past
# on arrival (clocks that disagree, or moto, which answers 2015-01-01): capped as any token is.
readonly ECR_TOKEN_SECONDS=43200
# Every session STS makes lasts at least this long: an Expiration this script cannot read.
readonly STS_MIN_SESSION_SECONDS=900
readonly DESCRIBE_CACHE_SECONDS=300      # the target repository exists, and its tag policy
readonly CACHE_FORMAT="ecr-sync-cache-1" # the first field of every entry; another is ignored
readonly RECONCILE_DEFAULT_PARALLELISM=4 # reconcile copies this many missing tags at a time
readonly RECONCILE_MAX_PARALLELISM=16
readonly LOCK_NAME_MAX=200 # longer REPO:TAG lock names are hashed (a file name has 255 bytes at most)
readonly STATE_DIR="${ECR_SYNC_STATE_DIR:-/run/ecr-sync}"
# The AWS CLI's error texts (its last stderr line), by what an operator must do about them.
# Connection trouble, timeouts, 5xx and throttling (after the CLI's own retries): unavailable.
readonly AWS_UNAVAILABLE_PATTERN='Could not connect to the endpoint URL|Connect timeout on endpoint URL|Read timeout on endpoint URL|Connection was closed|EndpointConnectionError|ConnectionClosedError|\((InternalFailure|InternalError|InternalServerError|InternalServerException|ServerException|ServiceUnavailable|ServiceUnavailableException|Throttling|ThrottlingException|TooManyRequestsException|RequestLimitExceeded|RequestTimeout|RequestTimeoutException|429|5[0-9][0-9])\)'
# Credentials refused, missing or not allowed (STS refusing the role is AccessDenied).
readonly AWS_AUTH_PATTERN='Unable to locate credentials|not authorized to perform|\((AccessDenied|AccessDeniedException|UnauthorizedOperation|UnrecognizedClientException|InvalidClientTokenId|ExpiredToken|ExpiredTokenException|SignatureDoesNotMatch|InvalidSignatureException|AuthFailure|401|403)\)'

# Of those, the ones that say the credentials themselves are no good (expired, revoked, unknown),
# not that they lack a permission: only these make cached role credentials be assumed anew.
readonly AWS_SESSION_REFUSED_PATTERN='ExpiredToken|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidSignatureException'

# skopeo's error texts (its last stderr line, "level=fatal msg=..."), read the same way.
readonly SKOPEO_AUTH_PATTERN='unauthorized:|unauthorized$|denied:|authentication required|invalid username/password|(registry|status:?) 40[13]|40[13] (Unauthorized|Forbidden)'
readonly SKOPEO_UNAVAILABLE_PATTERN='connection refused|connection reset|broken pipe|i/o timeout|timeout|deadline exceeded|no such host|network is unreachable|EOF|toomanyrequests|[Tt]oo [Mm]any [Rr]equests|unavailable:|(registry|status:?) (429|5[0-9][0-9])'

# Exit codes: what each means is in usage.
readonly EXIT_FAILED=1
readonly EXIT_USAGE=2
readonly EXIT_CONFIG=3
readonly EXIT_AUTH=4
readonly EXIT_NOT_FOUND=5
readonly EXIT_CONFLICT=6
readonly EXIT_UNAVAILABLE=7

# State, each set in one place:
SCHEME="https"           # http when ECR_SYNC_TLS_VERIFY=false (check_config, then readonly)
TLS_VERIFY="true"        # ECR_SYNC_TLS_VERIFY (check_config, then readonly)
RUN_DIR=""               # this run's private directory in STATE_DIR/runs, removed on exit (start_run, then readonly)
CACHE_DIR=""             # STATE_DIR/cache, its real path, checked (prepare_state_dir, then readonly)
RUNS_DIR=""              # STATE_DIR/runs, where each run's RUN_DIR is (prepare_state_dir, then readonly)
AWS_RETRY_SETTINGS=()    # the AWS CLI's retry mode and attempts, in its environment only (prepare, then readonly)
LOCK_DIR=""              # STATE_DIR/locks, its real path, checked (prepare_state_dir, then readonly)
declare -A REGISTRIES=() # side (source, target) -> registry host[:port] (check_config)
# The credentials in use, from the cache or fetched by this run (load_credentials, refresh_locked):
TARGET_CREDENTIALS=()          # the assumed role's key id, secret key, session token: never exported
ROLE_EXPIRES=0                 # when they expire (epoch seconds); 0: none loaded
declare -A PASSWORDS=()        # side -> "AWS:password" in base64, as auth files and Basic auth carry it
declare -A PASSWORD_EXPIRES=() # side -> epoch seconds
declare -A DESCRIBED=()        # target repository -> its tag policy, described by this run (not the cache)
POLICY=""                      # the tag policy load_description or refresh_locked found for the repository asked for
DESCRIBE_STATUS=0              # refresh_locked: the exit status of the describe it ran; DESCRIBE_ERROR says why
DESCRIBE_ERROR=""
PASSWORD_JOBS=()                               # refresh_locked: the pids of its start_password jobs
ROLE_CACHED=false                              # refresh_locked used the role's credentials from the cache (it did not assume the role)
CACHE_LOCK_FD=""                               # the open lock on the cache while this run refreshes it (lock_cache)
PARALLELISM="${RECONCILE_DEFAULT_PARALLELISM}" # ECR_SYNC_RECONCILE_PARALLELISM (cmd_reconcile)
declare -A JOB_OUTPUT=()                       # reconcile: copy job pid -> the file its result line goes to (start_copy_job)
JOB_SEQUENCE=0
# The suffix of the scratch files (digest-read batches, error output) of the one job that reads and
# copies at a time: the run's own, or a reconcile's copy job's (start_copy_job), whose files go with it.
SCRATCH="main"
JOB_SUBSHELL=0 # the subshell level whose unexpected failures on_error logs: the script's, or a copy job's
ERROR=""       # why the last function that returned non-zero failed (fail): read it right after
# The exit status of the last copy_image (copy_locked, or copy_image on a lock timeout). Left as
# state instead of returned, so that copy_image is never called from || or if: bash ignores
# set -e (and the ERR trap) in the whole of a function called there, and the decision under the
# lock must stop on an unexpected failure like the rest of the script.
COPY_STATUS=0
FAILURE_CODES=() # reconcile: the exit code of every image that failed (reconcile_repository)
# Timing (emit), microseconds since the epoch: --pushed-at (cmd_copy); when copy_image took the
# lock, else empty.
PUSHED_AT=""
PUSHED_AT_EPOCH=""
LOCKED_AT=""
declare -A RESULT_COUNTS=() # lines printed per result (emit), for the reconcile summary

usage() {
  cat <<EOF
Usage:
  ${PROGRAM} copy --source-repository NAME --target-repository NAME --tag TAG [--digest sha256:HEX]
                [--pushed-at TIME]
  ${PROGRAM} reconcile [--dry-run]
  ${PROGRAM} --help

Commands:
  copy       Copies SOURCE_REGISTRY/NAME:TAG, by the digest the tag names at the moment of the
             copy (read under the tag's lock), to TARGET_REGISTRY/NAME:TAG, every platform, digest
             preserved, then checks the target. A target tag never moves to any other digest.
  reconcile  For every mapping in ECR_SYNC_REPOSITORY_MAP, copies each source tag whose digest
             the target lacks (each one re-read under its lock before it is copied), a few at a
             time, with credentials renewed before any is within ${CREDENTIAL_MARGIN_SECONDS} s of expiring.

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
  ECR_SYNC_STATE_DIR        the directory of the copier's state (default /run/ecr-sync, a tmpfs on
                            the worker): per-tag locks in locks/, the credential cache in cache/
                            (remove that directory to clear it), each run's files in runs/.
                            Created mode 0700, refused unless owned by the user running the script
                            and writable by nobody else
  ECR_SYNC_RECONCILE_PARALLELISM reconcile: how many missing tags it copies at a time, 1 to
                            ${RECONCILE_MAX_PARALLELISM} (default ${RECONCILE_DEFAULT_PARALLELISM})
  The worker's own AWS credentials come from the AWS CLI's usual sources (the instance profile).
  AWS calls retry in the CLI's standard mode, AWS_MAX_ATTEMPTS times (default ${AWS_DEFAULT_ATTEMPTS}).

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
              longer than 128 characters): not copied, not a failure; field reason says why
  failed      not copied: see error (also logged on stderr)
  reconcile   the last line of a reconcile that got past its login: fields copied, unchanged,
              superseded, failed, unsupported, planned (lines printed) and duration_s
Copied, unchanged and superseded lines decided under the tag's lock carry copy_s (lock to
verified); after --pushed-at also pushed_at and latency_s (TIME to verified). Seconds, numbers.

Exit codes:
  0  every image copied, unchanged, superseded, planned or unsupported (a stale push event included)
  ${EXIT_FAILED}  a copy or its check failed, or another copy held the tag's lock for ${LOCK_TIMEOUT_SECONDS} s;
     reconcile: images failed for different reasons (when every failed image failed for one reason,
     the reconcile exits with that reason's code)
  ${EXIT_USAGE}  unknown or missing command or flag, or a name, tag or digest ECR would reject;
     copy: a source -> target pair that ECR_SYNC_REPOSITORY_MAP does not hold (nothing read or written)
  ${EXIT_CONFIG}  an ECR_SYNC_* variable is missing or invalid, or the state directory cannot be created
     or is unsafe (another owner, writable by others, a symlink where a lock file goes)
  ${EXIT_AUTH}  authentication: a registry answered 401 or 403, AWS refused the credentials
     (AccessDenied, STS refusing the role), or there are none (the message says which side)
  ${EXIT_NOT_FOUND}  the target repository does not exist, or (copy without --digest) the source tag does not
     exist, or (reconcile) a mapped source repository does not
  ${EXIT_CONFLICT}  the target tag is immutable and holds another digest
  ${EXIT_UNAVAILABLE}  unavailable: a registry, STS or ECR refused the connection, timed out, answered 5xx,
     or still throttled (429, ThrottlingException) after the retries; the message names the side
     and the endpoint. Not a credentials problem: run it again once that endpoint answers
  An unexpected failure (a bug, or a broken tool) exits with the status of the command that
  failed, after a log line "... unexpected failure (status S) at line N in FUNCTION: COMMAND".
EOF
}

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${PROGRAM}" "$*" >&2
}

# on_error LINE COMMAND: the ERR trap. set -e then ends the script with the command's status.
# Failures the script handles (in if, ||, &&) never come here. A command substitution or
# background job that fails is not reported from inside: its caller is, where that fails. A
# reconcile's copy job (start_copy_job) is the exception: it reports its own, as the script does.
on_error() {
  local status=$?
  [[ "${BASH_SUBSHELL}" -eq "${JOB_SUBSHELL}" ]] || return "${status}"
  log "error: unexpected failure (status ${status}) at line $1${FUNCNAME[1]:+ in ${FUNCNAME[1]}}: $2"
  return "${status}"
}

die() {
  local code="$1"
  shift
  log "error: $*"
  exit "${code}"
}

# fail CODE MESSAGE: for functions whose caller decides how to report (keeps ERROR, returns CODE).
fail() {
  ERROR="$2"
  return "$1"
}

usage_error() {
  log "error: $*"
  usage >&2
  exit "${EXIT_USAGE}"
}

# emit RESULT SOURCE TARGET DIGEST [ERROR [NAME VALUE]...]: the one JSON line per image. An
# empty DIGEST, ERROR or VALUE is left out of the line; an ERROR is logged too. A NAME *_s is a
# number. Lines under a lock get the timing. A line whose values hold no '"', '\\' or control
# character (names, digests, most messages) is printed by bash itself; any other goes through jq,
# which escapes it.
emit() {
  RESULT_COUNTS["$1"]=$((${RESULT_COUNTS["$1"]:-0} + 1))
  local pairs=(result "$1" source "$2" target "$3" digest "$4" error "${5:-}") now copy_s latency_s
  if [[ -n "${LOCKED_AT}" && "$1" =~ ^(copied|unchanged|superseded)$ ]]; then
    now="${EPOCHREALTIME/[!0-9]/}"
    seconds_between copy_s "${LOCKED_AT}" "${now}"
    local timing=(copy_s "${copy_s}")
    if [[ -n "${PUSHED_AT}" ]]; then
      seconds_between latency_s "${PUSHED_AT_EPOCH}" "${now}"
      timing+=(pushed_at "${PUSHED_AT}" latency_s "${latency_s}")
    fi
  fi
  [[ -z "${5:-}" ]] || log "error: $5"
  shift "$(($# < 5 ? $# : 5))"
  pairs+=("$@" "${timing[@]}")
  local i name value line="" fields=() escape=false
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    name="${pairs[i]}" value="${pairs[i + 1]}"
    [[ -n "${value}" ]] || continue
    if [[ "${name}" == *_s ]]; then
      line+=",\"${name}\":${value}"
      fields+=(--argjson "${name}" "${value}")
    else
      [[ "${value}" != *[\"\\[:cntrl:]]* ]] || escape=true
      line+=",\"${name}\":\"${value}\""
      fields+=(--arg "${name}" "${value}")
    fi
  done
  if [[ "${escape}" == false ]]; then
    printf '{%s}\n' "${line#,}"
  else
    jq -cn "${fields[@]}" '$ARGS.named'
  fi
}

# seconds_between VAR START END: sets VAR to END - START in seconds, 2 decimals, both in
# microseconds since the epoch (EPOCHREALTIME without its decimal point): bash arithmetic, no process.
seconds_between() {
  local microseconds=$(($3 - $2)) sign=""
  ((microseconds >= 0)) || sign="-" microseconds=$((-$3 + $2))
  microseconds=$((microseconds + 5000))
  printf -v "$1" '%s%d.%02d' "${sign}" $((microseconds / 1000000)) $((microseconds % 1000000 / 10000))
}

# The checks of names and settings, one per pattern above (true or false, no output).
is_repository_name() {
  [[ "$1" =~ ${REPOSITORY_PATTERN} && ${#1} -ge 2 && ${#1} -le 256 ]]
}

is_image_tag() {
  [[ "$1" =~ ${TAG_PATTERN} ]]
}

is_image_digest() {
  [[ "$1" =~ ${DIGEST_PATTERN} ]]
}

is_registry() {
  [[ "$1" =~ ${REGISTRY_PATTERN} ]] && [[ "$1" != *:* || "${1##*:}" -le "${REGISTRY_MAX_PORT}" ]]
}

is_role_arn() {
  [[ "$1" =~ ${ROLE_ARN_PATTERN} ]]
}

is_region() {
  [[ "$1" =~ ${REGION_PATTERN} ]]
}

is_utc_timestamp() {
  [[ "$1" =~ ${UTC_TIMESTAMP_PATTERN} ]] && date -u -d "$1" +%s >/dev/null 2>&1
}

check_config() {
  local name
  for name in ECR_SYNC_SOURCE_REGISTRY ECR_SYNC_TARGET_REGISTRY ECR_SYNC_TARGET_ROLE_ARN ECR_SYNC_REGION; do
    [[ -n "${!name:-}" ]] || die "${EXIT_CONFIG}" "${name} is not set: the SSM document (or you) must export it"
  done
  for name in ECR_SYNC_SOURCE_REGISTRY ECR_SYNC_TARGET_REGISTRY; do
    is_registry "${!name}" || die "${EXIT_CONFIG}" "${name}='${!name}' is not host[:port] (e.g. 770203350335.dkr.ecr.us-east-1.amazonaws.com)"
  done
  is_role_arn "${ECR_SYNC_TARGET_ROLE_ARN}" ||
    die "${EXIT_CONFIG}" "ECR_SYNC_TARGET_ROLE_ARN='${ECR_SYNC_TARGET_ROLE_ARN}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
  is_region "${ECR_SYNC_REGION}" || die "${EXIT_CONFIG}" "ECR_SYNC_REGION='${ECR_SYNC_REGION}' is not an AWS region (e.g. us-east-1)"
  TLS_VERIFY="${ECR_SYNC_TLS_VERIFY:-true}"
  case "${TLS_VERIFY}" in
    true) SCHEME="https" ;;
    false) SCHEME="http" ;; # local test registries speak plain HTTP
    *) die "${EXIT_CONFIG}" "ECR_SYNC_TLS_VERIFY='${TLS_VERIFY}' must be true or false" ;;
  esac
  readonly TLS_VERIFY SCHEME
  REGISTRIES=([source]="${ECR_SYNC_SOURCE_REGISTRY}" [target]="${ECR_SYNC_TARGET_REGISTRY}")
}

# check_repository_map: ECR_SYNC_REPOSITORY_MAP checked and read into MAPPING_ENTRIES, or dies
# (EXIT_CONFIG) naming the entry that is wrong.
MAPPING_ENTRIES=() # "SOURCE<TAB>TARGET", one per mapping, in the map's order
check_repository_map() {
  local source target lines=() entry
  [[ -n "${ECR_SYNC_REPOSITORY_MAP:-}" ]] || die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP is not set: copy and reconcile need the JSON object of source -> target repository names (the SSM documents export it)"
  # One jq for all of it (a jq start is a good part of a warm copy): "valid", then the sources
  # that share a target (or an empty line), then one entry a line. Every name is escaped by @tsv,
  # so a name holding a newline or a tab cannot split into another line: it arrives with a
  # backslash and fails the name check.
  mapfile -t lines < <(jq -r 'if type == "object" and length > 0 and all(.[]; type == "string") then
      "valid",
      ([to_entries | group_by(.value)[] | select(length > 1) | (map([.key] | @tsv) | join(" and ")) + " -> " + ([.[0].value] | @tsv)] | first // ""),
      (to_entries[] | [.key, .value] | @tsv)
    else "invalid" end' <<<"${ECR_SYNC_REPOSITORY_MAP}" 2>/dev/null)
  [[ "${lines[0]:-}" == valid ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP is not a non-empty JSON object of strings (e.g. {\"kuali-coeus\":\"coeus\"}): ${ECR_SYNC_REPOSITORY_MAP}"
  MAPPING_ENTRIES=("${lines[@]:2}")
  for entry in "${MAPPING_ENTRIES[@]}"; do
    IFS=$'\t' read -r source target <<<"${entry}"
    is_repository_name "${source}" ||
      die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP key '${source}' is not a valid ECR repository name (${REPOSITORY_RULE})"
    is_repository_name "${target}" ||
      die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP['${source}'] '${target}' is not a valid ECR repository name (${REPOSITORY_RULE})"
    [[ "${source}" != "${target}" ]] ||
      die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP['${source}'] maps the repository to itself: name the legacy repository it is copied to"
  done
  [[ -z "${lines[1]}" ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP maps two sources to one target (${lines[1]}): each target takes one source"
}

# registry_of SIDE: the registry (host[:port]) of the source or target side.
registry_of() {
  if [[ "$1" == source ]]; then
    echo "${ECR_SYNC_SOURCE_REGISTRY}"
  else
    echo "${ECR_SYNC_TARGET_REGISTRY}"
  fi
}

# registry_failure STATUS SIDE WHAT [HINT]: the one reading of a registry answer that is neither
# 200 nor 404, for every curl call (and the decision code's). STATUS is curl's %{http_code}
# (000, or empty when curl printed nothing: no answer at all); SIDE is source or target (it
# names the registry); WHAT says what was asked ("reading coeus:v1"); HINT is appended to an
# authentication failure. Prints one sentence naming the side and the registry (it is given no
# secret, so it prints none) and returns, never 0:
#   EXIT_AUTH         401 or 403: the registry refused the ECR password
#   EXIT_UNAVAILABLE  000 (connection refused, reset or timed out), 5xx, or 429 (throttled):
#                     curl has already retried timeouts, 429 and 5xx with backoff (CURL_FLAGS)
#   EXIT_FAILED       anything else (e.g. 400, a redirect): an answer no registry should give
# Use: message="$(registry_failure "${status}" target "reading ${target}")" || code=$?
registry_failure() {
  local status="${1:-000}" side="$2" what="$3" hint="${4:-}" registry
  registry="$(registry_of "${side}")"
  case "${status}" in
    401)
      echo "${side} side: registry ${registry} rejected the ECR password (HTTP 401) ${what}${hint:+; ${hint}}"
      return "${EXIT_AUTH}"
      ;;
    403)
      echo "${side} side: registry ${registry} denied access with the ECR password (HTTP 403) ${what}${hint:+; ${hint}}"
      return "${EXIT_AUTH}"
      ;;
    000) echo "${side} side: registry ${registry} is unavailable (no connection: refused, reset or timed out) ${what}; not a credentials problem: run again once it answers" ;;
    429) echo "${side} side: registry ${registry} is unavailable (HTTP 429: still throttling after curl's retries) ${what}; not a credentials problem: run again later" ;;
    5[0-9][0-9]) echo "${side} side: registry ${registry} is unavailable (HTTP ${status}, after curl's retries) ${what}; not a credentials problem: run again once it answers" ;;
    *)
      echo "${side} side: registry ${registry} answered HTTP ${status} ${what}, which a registry should not"
      return "${EXIT_FAILED}"
      ;;
  esac
  return "${EXIT_UNAVAILABLE}"
}

# aws_failure ERROR_FILE SIDE API CALL [HINT]: registry_failure for a failed AWS CLI call, read
# from its stderr (ERROR_FILE). API names the endpoint ("STS", "ECR"), CALL the command without
# secrets. Prints one sentence with the CLI's last line and returns EXIT_AUTH, EXIT_UNAVAILABLE
# or EXIT_FAILED (never 0), by AWS_AUTH_PATTERN and AWS_UNAVAILABLE_PATTERN.
aws_failure() {
  local file="$1" side="$2" api="$3" call="$4" hint="${5:-}" last
  last="$(sed '/^[[:space:]]*$/d' "${file}" | tail -n 1)"
  if grep -Eq "${AWS_AUTH_PATTERN}" <<<"${last}"; then
    echo "${side} side: ${api} refused ${call}: ${last}${hint:+; ${hint}}"
    return "${EXIT_AUTH}"
  fi
  if grep -Eq "${AWS_UNAVAILABLE_PATTERN}" <<<"${last}"; then
    echo "${side} side: ${api} is unavailable (${call}: ${last}); not a credentials problem: run again once it answers"
    return "${EXIT_UNAVAILABLE}"
  fi
  echo "${side} side: ${call} failed: ${last}"
  return "${EXIT_FAILED}"
}

# skopeo_failure ERROR_FILE: registry_failure for a failed `skopeo copy`, read
# from its stderr. The side is the registry its last line names (an address, or what it was
# doing: reading is the source, writing and "at destination" the target). Prints one sentence
# with that line and returns EXIT_AUTH, EXIT_UNAVAILABLE or EXIT_FAILED (never 0).
skopeo_failure() {
  local last side endpoint
  last="$(sed '/^[[:space:]]*$/d' "$1" | tail -n 1)"
  last="${last#*level=fatal msg=}"
  last="${last#\"}"
  last="${last%\"}"
  if names_host "${last}" "${ECR_SYNC_TARGET_REGISTRY}"; then
    side=target
  elif names_host "${last}" "${ECR_SYNC_SOURCE_REGISTRY}"; then
    side=source
  elif [[ "${last}" == *"at destination"* || "${last}" == *writing* || "${last}" == *uploading* ]]; then
    side=target
  elif [[ "${last}" == *reading* || "${last}" == *fetching* || "${last}" == *"initializing source"* ]]; then
    side=source
  fi
  endpoint="registry $(registry_of "${side:-target}")"
  [[ -n "${side:-}" ]] || endpoint="registry ${ECR_SYNC_SOURCE_REGISTRY} or ${ECR_SYNC_TARGET_REGISTRY}"
  if grep -Eq "${SKOPEO_AUTH_PATTERN}" <<<"${last}"; then
    echo "${side:-source or target} side: ${endpoint} refused the ECR password: skopeo: ${last}"
    return "${EXIT_AUTH}"
  fi
  if grep -Eq "${SKOPEO_UNAVAILABLE_PATTERN}" <<<"${last}"; then
    echo "${side:-source or target} side: ${endpoint} is unavailable (skopeo: ${last}); not a credentials problem: run again once it answers"
    return "${EXIT_UNAVAILABLE}"
  fi
  echo "skopeo copy failed: ${last}"
  return "${EXIT_FAILED}"
}

# names_host TEXT HOST: TEXT names HOST as a whole (127.0.0.1:5000 is not in 127.0.0.1:50001).
names_host() {
  [[ " $1 " == *[!A-Za-z0-9.-]"$2"[!0-9]* ]]
}

# aws_cli ARGS...: the AWS CLI with AWS_RETRY_SETTINGS in its environment only, so that ECR's and
# STS's throttling, 5xx and dropped connections are retried with backoff before a call fails.
aws_cli() {
  env "${AWS_RETRY_SETTINGS[@]}" aws "$@"
}

# check_mapped_pair SOURCE TARGET: copy stays inside the mapping. The target role may push to
# every legacy repository, so a pair the map does not hold (a feature build into the production
# repository) is refused here, before any AWS call or registry request. Exit 2, not 3: the map is
# valid (check_repository_map passed); the arguments ask for what it does not allow, and the same
# command will never work until they change (or the map, by a stack change, if the pair is meant).
check_mapped_pair() {
  local source_repository="$1" target_repository="$2" entry mapped="" sources=()
  for entry in "${MAPPING_ENTRIES[@]}"; do
    sources+=("${entry%%$'\t'*}")
    if [[ "${entry%%$'\t'*}" == "${source_repository}" ]]; then
      mapped="${entry#*$'\t'}"
    fi
  done
  if [[ -z "${mapped}" ]]; then
    die "${EXIT_USAGE}" "copy: ${source_repository} -> ${target_repository} is outside ECR_SYNC_REPOSITORY_MAP: it has no entry for '${source_repository}' (its sources: $(printf '%s\n' "${sources[@]}" | LC_ALL=C sort | paste -sd, - | sed 's/,/, /g')); nothing was read or written"
  fi
  [[ "${mapped}" == "${target_repository}" ]] ||
    die "${EXIT_USAGE}" "copy: ${source_repository} -> ${target_repository} is outside ECR_SYNC_REPOSITORY_MAP: it maps '${source_repository}' to '${mapped}'; nothing was read or written"
}

as_target() {
  AWS_ACCESS_KEY_ID="${TARGET_CREDENTIALS[0]}" AWS_SECRET_ACCESS_KEY="${TARGET_CREDENTIALS[1]}" \
    AWS_SESSION_TOKEN="${TARGET_CREDENTIALS[2]}" "$@"
}

# fresh EXPIRES: EXPIRES (epoch seconds) is more than CREDENTIAL_MARGIN_SECONDS away. Bash's own
# clock: no process.
fresh() {
  [[ "$1" =~ ^[1-9][0-9]{0,10}$ ]] && (($1 - CREDENTIAL_MARGIN_SECONDS > EPOCHSECONDS))
}

# epoch_of TIME: TIME (epoch seconds, with or without a fraction, or an ISO-8601 time as CLI v2
# prints every timestamp) as whole epoch seconds; fails on anything else.
epoch_of() {
  if [[ "$1" =~ ^([0-9]+)(\.[0-9]+)?$ ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    date -u -d "$1" +%s 2>/dev/null
  fi
}

# entry_name KIND KEY: the file name of a cache entry, KEY made safe for a file name the way
# copy_image names locks ('/' is '+', which no repository name holds; too long: its digest).
entry_name() {
  local name="$1.${2//\//+}"
  if [[ "${#name}" -gt "${LOCK_NAME_MAX}" ]]; then
    name="$(printf '%s' "${name}" | sha256sum)"
    name="$1.${name%% *}"
  fi
  echo "${name}"
}

# read_entry NAME ARRAY: the tab-separated fields of cache entry NAME, after the format, into the
# array named ARRAY. Returns 1 when there is no usable entry: missing, not a regular file owned
# by this user (logged, and replaced by the next write), or not in CACHE_FORMAT (corrupt).
# Whether the fields fit (role, region, registry, expiry) is the caller's check.
# shellcheck disable=SC2034 # entry_into is a name reference: it sets the caller's array
read_entry() {
  local file="${CACHE_DIR}/$1" entry_read=()
  local -n entry_into="$2"
  entry_into=()
  [[ -e "${file}" || -L "${file}" ]] || return 1
  if [[ -L "${file}" || ! -f "${file}" || ! -O "${file}" ]]; then
    log "warning: ignoring cache entry ${file}: not a regular file owned by uid ${EUID}; it is replaced when renewed"
    return 1
  fi
  IFS=$'\t' read -r -a entry_read <"${file}" || true
  if [[ "${entry_read[0]:-}" != "${CACHE_FORMAT}" ]]; then
    log "warning: ignoring cache entry ${file}: not an entry of ${CACHE_FORMAT} (corrupt); it is replaced when renewed"
    return 1
  fi
  entry_into=("${entry_read[@]:1}")
}

# write_entry NAME FIELD...: replaces cache entry NAME atomically: written to a private file in
# RUN_DIR (on the same file system), then renamed over the entry, so a reader sees the old entry
# or the new one, never part of one. No field holds a tab or a newline (each is checked or made
# here). Mode 0600 (umask 077), in a 0700 directory.
write_entry() {
  local name="$1" temporary="${RUN_DIR}/entry.${BASHPID}"
  shift
  local IFS=$'\t'
  # Every step checked: the credential path runs under || (see lock_cache), without set -e.
  if ! { printf '%s\t%s\n' "${CACHE_FORMAT}" "$*" >"${temporary}" && mv -fT -- "${temporary}" "${CACHE_DIR}/${name}"; }; then
    fail "${EXIT_CONFIG}" "cannot write the cache entry ${CACHE_DIR}/${name} (is ${STATE_DIR} full?)"
  fi
}

# drop_entry NAME: removes a cache entry (the next run fetches it anew).
drop_entry() {
  rm -f -- "${CACHE_DIR:?}/$1"
}

# load_role: TARGET_CREDENTIALS and ROLE_EXPIRES from the cache, when its entry is for this role
# and region and outlives the margin; otherwise none (ROLE_EXPIRES 0).
load_role() {
  local fields=()
  TARGET_CREDENTIALS=()
  ROLE_EXPIRES=0
  read_entry role fields || return 0
  [[ ${#fields[@]} -eq 6 && "${fields[0]}" == "${ECR_SYNC_TARGET_ROLE_ARN}" && "${fields[1]}" == "${ECR_SYNC_REGION}" ]] || return 0
  [[ "${fields[3]}" =~ ^[A-Z0-9]{16,128}$ && "${fields[4]}" =~ ^[[:graph:]]+$ && "${fields[5]}" =~ ^[[:graph:]]+$ ]] || return 0
  fresh "${fields[2]}" || return 0
  TARGET_CREDENTIALS=("${fields[@]:3:3}")
  ROLE_EXPIRES="${fields[2]}"
}

# password_identity SIDE: whose password it is: the target role's, or the worker's own.
password_identity() {
  if [[ "$1" == source ]]; then echo worker; else echo "${ECR_SYNC_TARGET_ROLE_ARN}"; fi
}

# load_password SIDE: PASSWORDS[SIDE] and PASSWORD_EXPIRES[SIDE] from the cache, when its entry
# is for this side's registry, identity and region and outlives the margin; otherwise none.
load_password() {
  local side="$1" fields=() identity
  PASSWORDS["${side}"]=""
  PASSWORD_EXPIRES["${side}"]=0
  read_entry "password.${side}" fields || return 0
  identity="$(password_identity "${side}")"
  [[ ${#fields[@]} -eq 5 && "${fields[0]}" == "${REGISTRIES[${side}]}" && "${fields[1]}" == "${identity}" ]] || return 0
  [[ "${fields[2]}" == "${ECR_SYNC_REGION}" && "${fields[4]}" =~ ^[A-Za-z0-9+/]+=*$ ]] || return 0
  fresh "${fields[3]}" || return 0
  PASSWORDS["${side}"]="${fields[4]}"
  PASSWORD_EXPIRES["${side}"]="${fields[3]}"
}

load_credentials() {
  load_role
  load_password source
  load_password target
}

# credentials_fresh: the role's credentials and both passwords are loaded and outlive the margin.
credentials_fresh() {
  fresh "${ROLE_EXPIRES}" && fresh "${PASSWORD_EXPIRES[source]}" && fresh "${PASSWORD_EXPIRES[target]}"
}

# load_description REPOSITORY: POLICY from the cache's description of REPOSITORY when it is for
# this role and region and younger than DESCRIBE_CACHE_SECONDS; returns 1 when there is none.
load_description() {
  local fields=()
  POLICY=""
  read_entry "$(entry_name describe "$1")" fields || return 1
  [[ ${#fields[@]} -eq 5 && "${fields[0]}" == "$1" && "${fields[1]}" == "${ECR_SYNC_TARGET_ROLE_ARN}" ]] || return 1
  [[ "${fields[2]}" == "${ECR_SYNC_REGION}" && "${fields[3]}" =~ ^[0-9]+$ ]] && ((fields[3] > EPOCHSECONDS)) || return 1
  POLICY="${fields[4]}"
}

# lock_cache / unlock_cache: the one lock on the cache's renewals (STATE_DIR/cache/renew.lock).
# A run that finds an entry missing or near expiry takes it, reads the cache again (another run
# may have renewed it meanwhile) and fetches only what is still missing.
# The credential functions run under || and if (their callers report their failures), where bash
# ignores set -e: each failure that matters is checked here by hand. An operator may remove cache/
# at any time (copier.md says how to clear it): it is made again here, mode 0700, and checked.
lock_cache() {
  local lock_file="${CACHE_DIR}/renew.lock"
  CACHE_LOCK_FD=""
  if [[ ! -e "${CACHE_DIR}" && ! -L "${CACHE_DIR}" ]]; then
    mkdir -m 0700 -- "${CACHE_DIR}" 2>/dev/null || [[ -d "${CACHE_DIR}" && ! -L "${CACHE_DIR}" ]] ||
      fail "${EXIT_CONFIG}" "the cache directory ${CACHE_DIR} was removed and cannot be made again" || return
    check_private_dir "${CACHE_DIR}" "${EUID}"
  fi
  check_lock_file "${lock_file}" || return
  if ! { exec {CACHE_LOCK_FD}<>"${lock_file}"; } 2>/dev/null; then
    CACHE_LOCK_FD=""
    fail "${EXIT_CONFIG}" "cannot open the cache's lock ${lock_file}: check ECR_SYNC_STATE_DIR (${STATE_DIR})"
    return
  fi
  flock --wait "${LOCK_TIMEOUT_SECONDS}" "${CACHE_LOCK_FD}" ||
    fail "${EXIT_FAILED}" "another run held ${lock_file} for more than ${LOCK_TIMEOUT_SECONDS} s while renewing credentials"
}

unlock_cache() {
  [[ -z "${CACHE_LOCK_FD}" ]] || exec {CACHE_LOCK_FD}>&-
  CACHE_LOCK_FD=""
}

# start_password SIDE: `aws ecr get-authorization-token` in the background (the target's as the
# assumed role): the token and its expiresAt into RUN_DIR/SIDE.token, the exit status into
# SIDE.status, which finish_password reads once the job is done. Its pid goes to PASSWORD_JOBS.
start_password() {
  local side="$1" runner=()
  [[ "${side}" == source ]] || runner=(as_target)
  {
    local status=0
    "${runner[@]}" aws_cli ecr get-authorization-token --region "${ECR_SYNC_REGION}" \
      --query 'authorizationData[0].[authorizationToken,expiresAt]' --output text \
      >"${RUN_DIR}/${side}.token" 2>"${RUN_DIR}/${side}.err" || status=$?
    echo "${status}" >"${RUN_DIR}/${side}.status"
  } &
  PASSWORD_JOBS+=("$!")
}

# finish_password SIDE: reads what start_password got, and caches it with its expiry: the token's
# expiresAt, capped by the credentials it was made with (the role's Expiration, or for the
# source SOURCE_PASSWORD_MAX_SECONDS). Marks the side renewed by this run (RUN_DIR/SIDE.renewed).
finish_password() {
  local side="$1" status="" token="" expires_at="" expires cap message code=0
  read -r status <"${RUN_DIR}/${side}.status" || true
  if [[ "${status}" != 0 ]]; then
    local who="with the worker's own credentials" hint="check the worker role's ecr:GetAuthorizationToken"
    [[ "${side}" == source ]] || who="as ${ECR_SYNC_TARGET_ROLE_ARN}" hint="check the target role's ecr:GetAuthorizationToken"
    message="$(aws_failure "${RUN_DIR}/${side}.err" "${side}" "ECR (${ECR_SYNC_REGION})" \
      "aws ecr get-authorization-token ${who}" "${hint}")" || code=$?
    fail "${code}" "${message}"
    return
  fi
  IFS=$'\t' read -r token expires_at <"${RUN_DIR}/${side}.token" || true
  rm -f -- "${RUN_DIR}/${side}.token"
  [[ "${token}" =~ ^[A-Za-z0-9+/]+=*$ ]] ||
    fail "${EXIT_FAILED}" "${side} side: aws ecr get-authorization-token returned no token in the form ECR gives (base64)" || return
  expires="$(epoch_of "${expires_at}")" || expires=0
  ((expires > EPOCHSECONDS)) || expires=$((EPOCHSECONDS + ECR_TOKEN_SECONDS))
  cap="${ROLE_EXPIRES}"
  [[ "${side}" != source ]] || cap=$((EPOCHSECONDS + SOURCE_PASSWORD_MAX_SECONDS))
  ((expires < cap)) || expires="${cap}"
  PASSWORDS["${side}"]="${token}"
  PASSWORD_EXPIRES["${side}"]="${expires}"
  write_entry "password.${side}" "${REGISTRIES[${side}]}" "$(password_identity "${side}")" "${ECR_SYNC_REGION}" "${expires}" "${token}" || return
  # Which password this run fetched, for renew_password (beside the auth files that hold it too).
  printf '%s\n' "${token}" >"${RUN_DIR}/${side}.renewed"
}

# assume_target_role: sets TARGET_CREDENTIALS and ROLE_EXPIRES (kept in this shell, never
# exported) and caches them. A refused role (AccessDenied) is authentication; STS not answering
# is unavailable (aws_failure).
assume_target_role() {
  local credentials message code=0 fields=() expires
  if ! credentials="$(aws_cli sts assume-role --role-arn "${ECR_SYNC_TARGET_ROLE_ARN}" --role-session-name "ecr-sync-$$" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken,Expiration]' --output text 2>"${RUN_DIR}/assume.err")"; then
    message="$(aws_failure "${RUN_DIR}/assume.err" target STS \
      "aws sts assume-role --role-arn ${ECR_SYNC_TARGET_ROLE_ARN} with the worker's credentials" \
      "check that the role exists and trusts the worker role")" || code=$?
    fail "${code}" "${message}"
    return
  fi
  read -r -a fields <<<"${credentials}"
  [[ ${#fields[@]} -eq 4 && "${fields[0]}" =~ ^[A-Z0-9]{16,128}$ ]] ||
    fail "${EXIT_FAILED}" "target side: aws sts assume-role returned no credentials in the form STS gives" || return
  expires="$(epoch_of "${fields[3]}")" || expires=$((EPOCHSECONDS + STS_MIN_SESSION_SECONDS))
  TARGET_CREDENTIALS=("${fields[@]:0:3}")
  ROLE_EXPIRES="${expires}"
  write_entry role "${ECR_SYNC_TARGET_ROLE_ARN}" "${ECR_SYNC_REGION}" "${expires}" "${TARGET_CREDENTIALS[@]}" || return
}

# refresh_locked [REPOSITORY...]: under the cache lock, fetches whatever the cache (read again)
# does not hold fresh: the source password, the role's credentials, the target password (side by
# side: each CLI start costs most of a second), and each REPOSITORY's description. For one
# REPOSITORY it leaves POLICY, or DESCRIBE_STATUS and DESCRIBE_ERROR (a missing repository is the
# caller's to report; of several, policy_of asks again for each). Returns like fail when a
# credential cannot be had.
refresh_locked() {
  local repository code=0 described side
  PASSWORD_JOBS=()
  rm -f -- "${RUN_DIR}/source.status" "${RUN_DIR}/target.status"
  DESCRIBE_STATUS=0
  load_credentials
  ROLE_CACHED=false
  ! fresh "${ROLE_EXPIRES}" || ROLE_CACHED=true
  fresh "${PASSWORD_EXPIRES[source]}" || start_password source
  if ! fresh "${ROLE_EXPIRES}"; then
    assume_target_role || code=$?
    if [[ "${code}" -ne 0 ]]; then
      [[ ${#PASSWORD_JOBS[@]} -eq 0 ]] || wait "${PASSWORD_JOBS[@]}" || true
      return "${code}"
    fi
  fi
  fresh "${PASSWORD_EXPIRES[target]}" || start_password target
  for repository in "$@"; do
    load_description "${repository}" && continue
    if described="$(describe_target_repository "${repository}")"; then
      POLICY="${described}"
      DESCRIBED["${repository}"]="${described}"
      write_entry "$(entry_name describe "${repository}")" "${repository}" "${ECR_SYNC_TARGET_ROLE_ARN}" \
        "${ECR_SYNC_REGION}" "$((EPOCHSECONDS + DESCRIBE_CACHE_SECONDS))" "${POLICY}"
    else
      DESCRIBE_STATUS=$?
      DESCRIBE_ERROR="${described}"
    fi
  done
  [[ ${#PASSWORD_JOBS[@]} -eq 0 ]] || wait "${PASSWORD_JOBS[@]}" || true
  for side in source target; do
    [[ ! -e "${RUN_DIR}/${side}.status" ]] || finish_password "${side}" || return
    rm -f -- "${RUN_DIR}/${side}.status"
  done
}

# refresh [REPOSITORY]: refresh_locked under the cache lock, then this run's auth files. When the
# cached role credentials were refused (revoked, or the clocks disagree), they are dropped and
# assumed anew once. A password fetched now is checked against its registry (check_login).
refresh() {
  local code=0 side
  lock_cache || return
  refresh_locked "$@" || code=$?
  if [[ "${ROLE_CACHED}" == true ]] &&
    [[ ("${code}" -eq "${EXIT_AUTH}" && "${ERROR}" == "target side:"* && "${ERROR}" =~ ${AWS_SESSION_REFUSED_PATTERN}) ||
      ("${DESCRIBE_STATUS}" -eq "${EXIT_AUTH}" && "${DESCRIBE_ERROR}" =~ ${AWS_SESSION_REFUSED_PATTERN}) ]]; then
    log "target side: the cached credentials of ${ECR_SYNC_TARGET_ROLE_ARN} were refused; assuming the role anew"
    drop_entry role
    drop_entry password.target
    code=0
    refresh_locked "$@" || code=$?
  fi
  # This run's auth files are written under the lock too, so a slower job cannot put back a
  # password older than the one another job has just renewed.
  if [[ "${code}" -eq 0 ]]; then
    write_run_credentials source && write_run_credentials target || code=$?
  fi
  unlock_cache
  [[ "${code}" -eq 0 ]] || return "${code}"
  for side in source target; do
    if [[ -e "${RUN_DIR}/${side}.renewed" && ! -e "${RUN_DIR}/${side}.checked" ]]; then
      check_login "${side}" || return
      : >"${RUN_DIR}/${side}.checked"
    fi
  done
}

# login [REPOSITORY...]: the credentials (and each REPOSITORY's description) from the cache,
# renewed first when anything is missing or near expiry. A warm cache costs no AWS call.
login() {
  local repository described=true
  load_credentials
  for repository in "$@"; do
    load_description "${repository}" || described=false
  done
  if credentials_fresh && [[ "${described}" == true ]]; then
    write_run_credentials source && write_run_credentials target
    return
  fi
  refresh "$@"
}

# keep_fresh: between the tags of a reconcile, renews whatever is within the margin of expiring,
# so that no copy starts with credentials about to end, however long the reconcile runs.
keep_fresh() {
  credentials_fresh || refresh
}

# renew_password SIDE: the registry rejected SIDE's password (HTTP 401 or 403). When it came from the
# cache, or is near its end (a long copy), it is dropped (unless another run has replaced it
# already) and fetched once more, for this run's auth files; returns 1 when this run fetched it
# itself and it is still fresh: then the refusal stands.
renew_password() {
  local side="$1" rejected="${PASSWORDS[$1]}" fetched=""
  [[ ! -e "${RUN_DIR}/${side}.renewed" ]] || read -r fetched <"${RUN_DIR}/${side}.renewed" || true
  [[ "${fetched}" != "${rejected}" ]] || ! fresh "${PASSWORD_EXPIRES[${side}]}" || return 1
  log "${side} side: registry ${REGISTRIES[${side}]} rejected the ECR password in use (cached or near its end); fetching a new one"
  lock_cache || return
  load_password "${side}"
  [[ "${PASSWORDS[${side}]}" != "${rejected}" ]] || drop_entry "password.${side}"
  rm -f -- "${RUN_DIR}/${side}.renewed"
  unlock_cache
  local code=0
  refresh || code=$?
  if [[ "${code}" -ne 0 ]]; then
    log "error: ${side} side: no new ECR password: ${ERROR}"
    return "${code}"
  fi
  # Renewed: another run's newer password, or one fetched just now (moto hands out the same one).
  [[ "${PASSWORDS[${side}]}" != "${rejected}" || -e "${RUN_DIR}/${side}.renewed" ]]
}

# write_run_credentials SIDE: this run's skopeo auth file and curl config for SIDE, from
# PASSWORDS. A file already there is replaced atomically (a copy job may be reading it).
write_run_credentials() {
  local side="$1"
  write_run_file "${side}.auth.json" '{"auths":{"%s":{"auth":"%s"}}}\n' "${REGISTRIES[${side}]}" "${PASSWORDS[${side}]}" &&
    write_run_file "${side}.curlrc" 'header = "Authorization: Basic %s"\nheader = "Accept: %s"\n' \
      "${PASSWORDS[${side}]}" "${MANIFEST_TYPES}"
}

# write_run_file NAME FORMAT ARG...: printf FORMAT ARG... into RUN_DIR/NAME; when NAME exists,
# through a temporary file renamed over it.
write_run_file() {
  local file="${RUN_DIR}/$1" format="$2"
  shift 2
  if [[ ! -e "${file}" ]]; then
    # shellcheck disable=SC2059 # the format is the caller's constant
    printf "${format}" "$@" >"${file}" && return 0
  else
    # shellcheck disable=SC2059
    printf "${format}" "$@" >"${file}.${BASHPID}" && mv -fT -- "${file}.${BASHPID}" "${file}" && return 0
  fi
  fail "${EXIT_CONFIG}" "cannot write ${file} (is ${STATE_DIR} full?)"
}

# check_login SIDE: the registry accepts the password just fetched (GET /v2/); otherwise
# registry_failure says whether it refused it (with a hint at the setting to check) or did not answer.
check_login() {
  local side="$1" status message code=0 hint
  hint="check ECR_SYNC_SOURCE_REGISTRY and the worker role's ecr:GetAuthorizationToken"
  [[ "${side}" == source ]] || hint="check that ECR_SYNC_TARGET_ROLE_ARN is a role in the account of ECR_SYNC_TARGET_REGISTRY"
  # The body goes to a file, not /dev/null: before a retry curl truncates what it wrote, and
  # truncating /dev/null fails (curl 7.88 then gives up with exit 23 instead of retrying).
  status="$(curl --config "${RUN_DIR}/${side}.curlrc" --silent --output "${RUN_DIR}/${side}.login" "${CURL_FLAGS[@]}" \
    --write-out '%{http_code}' "${SCHEME}://${REGISTRIES[${side}]}/v2/" 2>/dev/null)" || true
  [[ "${status}" == 200 ]] && return 0
  message="$(registry_failure "${status}" "${side}" "at GET /v2/" "${hint}")" || code=$?
  fail "${code}" "${message}"
}

# manifest_digests SIDE REPOSITORY REFERENCE...: one line "HTTP_STATUS DIGEST" per reference,
# in order (one curl process for all of them; each request retried per CURL_FLAGS). A status
# other than 200 or 404 goes to registry_failure; 000 means no answer.
manifest_digests() {
  local side="$1" repository="$2" reference registry="${ECR_SYNC_TARGET_REGISTRY}" batch line answers=()
  local -A answer=()
  shift 2
  [[ "${side}" == target ]] || registry="${ECR_SYNC_SOURCE_REGISTRY}"
  # The URLs only: the password stays in SIDE.curlrc, the first of curl's two config files. The
  # next read in the same job overwrites it (no process to remove it).
  batch="${RUN_DIR}/${side}.batch.${SCRATCH}"
  for reference in "$@"; do
    printf 'url = "%s://%s/v2/%s/manifests/%s"\noutput = "/dev/null"\n' "${SCHEME}" "${registry}" "${repository}" "${reference}"
  done >"${batch}"
  # CURL_PARALLEL requests at a time: they finish in any order, so each answer names its URL and
  # is put back in the order asked.
  mapfile -t answers < <(curl --config "${RUN_DIR}/${side}.curlrc" --config "${batch}" --head --silent "${CURL_FLAGS[@]}" \
    --parallel --parallel-max "${CURL_PARALLEL}" \
    --write-out '%{url} %{http_code} %header{docker-content-digest}\n' 2>/dev/null || true)
  for line in "${answers[@]}"; do
    [[ "${line}" == *" "* ]] || continue
    answer["${line%% *}"]="${line#* }"
  done
  for reference in "$@"; do
    printf '%s\n' "${answer["${SCHEME}://${registry}/v2/${repository}/manifests/${reference}"]:-000 }"
  done
}

# read_digests SIDE REPOSITORY REFERENCE...: manifest_digests into DIGEST_LINES, in this shell.
# When the registry rejects a password from the cache (HTTP 401, or 403: ECR's answer to an
# expired token), renew_password fetches a new one and the read is repeated once.
DIGEST_LINES=()
read_digests() {
  local line
  mapfile -t DIGEST_LINES < <(manifest_digests "$@")
  for line in "${DIGEST_LINES[@]}"; do
    [[ "${line%% *}" == 40[13] ]] || continue
    if renew_password "$1"; then
      mapfile -t DIGEST_LINES < <(manifest_digests "$@")
    fi
    return 0
  done
}

# describe_target_repository NAME: prints the target repository's tag policy for
# tag_is_immutable, "MUTABILITY [FILTER...]" (ECR's imageTagMutability and its exclusion
# filters). When that fails, it prints why instead and returns EXIT_NOT_FOUND, or what
# aws_failure returns (EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_FAILED).
describe_target_repository() {
  local repository="$1" description errors="${RUN_DIR}/aws.err.${SCRATCH}"
  if ! description="$(as_target aws_cli ecr describe-repositories --region "${ECR_SYNC_REGION}" \
    --repository-names "${repository}" --output json 2>"${errors}")"; then
    if grep -q RepositoryNotFoundException "${errors}"; then
      echo "target repository '${repository}' does not exist in the target account's ECR (role ${ECR_SYNC_TARGET_ROLE_ARN}): create it there; ecr-sync never creates repositories"
      return "${EXIT_NOT_FOUND}"
    fi
    local code=0
    aws_failure "${errors}" target "ECR (${ECR_SYNC_REGION})" \
      "aws ecr describe-repositories --repository-names ${repository} as ${ECR_SYNC_TARGET_ROLE_ARN}" \
      "check the target role's ecr:DescribeRepositories" || code=$?
    return "${code}"
  fi
  # An AWS CLI older than the exclusion filters (Debian 13's 2.23.6 is one) reports the mode but
  # drops the filters it has no model for: then nothing here can tell which tags are mutable,
  # and guessing would refuse every mutable tag or overwrite-attempt every immutable one.
  if jq -e '.repositories[0] | ((.imageTagMutability // "") | endswith("_WITH_EXCLUSION")) and ((.imageTagMutabilityExclusionFilters // []) | length == 0)' \
    <<<"${description}" >/dev/null; then
    echo "target repository '${repository}' is $(jq -r '.repositories[0].imageTagMutability' <<<"${description}") but the AWS CLI returned no exclusion filters: this CLI ($(aws --version 2>&1 | cut -d' ' -f1)) predates them: set the repository's tag mutability to MUTABLE or IMMUTABLE, or give the worker an AWS CLI that knows the filters"
    return "${EXIT_CONFIG}"
  fi
  jq -r '.repositories[0] | [.imageTagMutability // "MUTABLE"] + [(.imageTagMutabilityExclusionFilters // [])[].filter] | join(" ")' \
    <<<"${description}"
}

# tag_is_immutable POLICY TAG: per POLICY from describe_target_repository. ECR's exclusion filters
# are wildcard patterns on the whole tag where only '*' is special (any run of characters): each
# one is translated to an anchored regular expression with every other character literal, so
# neither a bash glob character nor a file in the working directory changes what a filter means.
tag_is_immutable() {
  local words=() tag="$2" filter regex char i excluded=false
  read -r -a words <<<"$1"
  for filter in "${words[@]:1}"; do
    regex="^"
    for ((i = 0; i < ${#filter}; i++)); do
      char="${filter:i:1}"
      case "${char}" in
        '*') regex+=".*" ;;
        [A-Za-z0-9]) regex+="${char}" ;;
        '^') regex+='\^' ;;      # a bracket expression cannot hold a lone '^'
        *) regex+="[${char}]" ;; # in brackets, every other character is itself ('.', '-', ']', '\')
      esac
    done
    [[ "${tag}" =~ ${regex}$ ]] && excluded=true
  done
  case "${words[0]:-MUTABLE}" in
    IMMUTABLE) return 0 ;;
    IMMUTABLE_WITH_EXCLUSION) [[ "${excluded}" == false ]] ;;
    MUTABLE_WITH_EXCLUSION) [[ "${excluded}" == true ]] ;;
    *) return 1 ;;
  esac
}

conflict() {
  echo "$1 is immutable and already holds $2: not overwritten (push $3 under a new tag, or delete the old image)"
}

# copy_image SOURCE_REPOSITORY TARGET_REPOSITORY TAG POLICY KIND [DIGEST]: holds a lock on the
# target tag while copy_locked reads, decides, copies and verifies, so that copies to one tag
# take turns and each sees what the one before it did (the invariant in the header). Its
# status is left in COPY_STATUS.
copy_image() {
  local target_repository="$2" tag="$3" lock_fd lock_name="${2//\//+}:$3"
  # A repository (256) and a tag (128) can together exceed a file name's 255 bytes: such a
  # name is locked by its digest instead, still one lock per target tag.
  if [[ "${#lock_name}" -gt "${LOCK_NAME_MAX}" ]]; then
    lock_name="$(printf '%s' "${lock_name}" | sha256sum)"
    lock_name="${lock_name%% *}"
  fi
  local lock_file="${LOCK_DIR}/${lock_name}.lock"
  if ! check_lock_file "${lock_file}"; then
    emit failed "${ECR_SYNC_SOURCE_REGISTRY}/$1:${tag}" "${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}" "${6:-}" "${ERROR}"
    COPY_STATUS="${EXIT_CONFIG}"
    return 0
  fi
  # Read-write, created if missing, never truncated. The group keeps exec's own error quiet;
  # the failed line below says what happened.
  if ! { exec {lock_fd}<>"${lock_file}"; } 2>/dev/null; then
    emit failed "${ECR_SYNC_SOURCE_REGISTRY}/$1:${tag}" "${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}" "${6:-}" \
      "cannot open the lock file ${lock_file}: check ECR_SYNC_STATE_DIR (${STATE_DIR:-unset})"
    COPY_STATUS="${EXIT_CONFIG}"
    return 0
  fi
  local waited="${EPOCHREALTIME/[!0-9]/}" code=0
  if flock --wait "${LOCK_TIMEOUT_SECONDS}" "${lock_fd}"; then
    LOCKED_AT="${EPOCHREALTIME/[!0-9]/}"
    # A wait for the lock (up to LOCK_TIMEOUT_SECONDS) can outlast the margin the credentials
    # were checked with just before it: checked again after any wait of note.
    if ((LOCKED_AT - waited > 2000000)); then
      keep_fresh || code=$?
    fi
    if [[ "${code}" -eq 0 ]]; then
      copy_locked "$@"
    else
      emit failed "${ECR_SYNC_SOURCE_REGISTRY}/$1:${tag}" "${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}" "${6:-}" "${ERROR}"
      COPY_STATUS="${code}"
    fi
    LOCKED_AT=""
  else
    emit failed "${ECR_SYNC_SOURCE_REGISTRY}/$1:${tag}" "${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}" "${6:-}" \
      "another copy held ${lock_file} for more than ${LOCK_TIMEOUT_SECONDS} s"
    COPY_STATUS="${EXIT_FAILED}"
  fi
  exec {lock_fd}>&-
}

# copy_locked SOURCE_REPOSITORY TARGET_REPOSITORY TAG POLICY KIND [DIGEST]: runs under the tag's
# lock. POLICY is the target repository's (describe_target_repository). KIND says where DIGEST
# came from: "tag" (copy without --digest: none), "event" (copy --digest: the push's) or "plan"
# (reconcile: what its up-front read saw). Whatever DIGEST is, the only digest ever written is
# the one the source tag names now, read here; the copy names the source by that digest, so a
# push landing during the copy cannot slip in unread (its own copy waits for this lock).
copy_locked() {
  local source_repository="$1" target_repository="$2" tag="$3" policy="$4" kind="$5" hint="${6:-}"
  local source="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}:${tag}"
  local target="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}"
  local status digest target_status current
  COPY_STATUS=0
  read_digests source "${source_repository}" "${tag}"
  read -r status digest <<<"${DIGEST_LINES[0]:-}"
  case "${status}" in
    200) ;;
    404)
      if [[ "${kind}" == tag ]]; then
        emit failed "${source}" "${target}" "" "source image ${source} does not exist"
        COPY_STATUS="${EXIT_NOT_FOUND}"
        return
      fi
      digest=""
      ;;
    *)
      copy_failed "${source}" "${target}" "${hint}" "${status}" source "reading ${source}"
      return
      ;;
  esac
  read_digests target "${target_repository}" "${tag}"
  read -r target_status current <<<"${DIGEST_LINES[0]:-}"
  case "${target_status}" in
    200) ;;
    404) current="" ;;
    *)
      copy_failed "${source}" "${target}" "${digest:-${hint}}" "${target_status}" target "reading ${target}"
      return
      ;;
  esac
  # Stale: the source tag no longer names the digest this run was given. Only the wording and the
  # result change; what is written is decided by the source tag alone.
  local stale=false
  [[ "${kind}" == tag || "${digest}" == "${hint}" ]] || stale=true
  if [[ -z "${digest}" ]]; then
    superseded "${source}" "${target}" "${current}" "${kind}" "${hint}" \
      "${source} no longer exists: nothing to copy (ecr-sync never deletes a tag), ${target} left as it is"
    return 0
  fi
  if [[ "${current}" == "${digest}" ]]; then
    if [[ "${stale}" == true ]]; then
      superseded "${source}" "${target}" "${current}" "${kind}" "${hint}" \
        "${source} has moved on to ${digest}, which ${target} already holds: not rolling it back to ${hint}"
    else
      emit unchanged "${source}" "${target}" "${digest}"
    fi
    return 0
  fi
  if [[ -n "${current}" ]] && tag_is_immutable "${policy}" "${tag}"; then
    emit failed "${source}" "${target}" "${digest}" "$(conflict "${target}" "${current}" "${digest}")"
    COPY_STATUS="${EXIT_CONFLICT}"
    return
  fi
  log "copying ${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}@${digest} to ${target}"
  local errors="${RUN_DIR}/skopeo.err.${SCRATCH}" copy_flags=(
    --all --preserve-digests --quiet --retry-times "${SKOPEO_RETRY_TIMES}"
    --src-authfile "${RUN_DIR}/source.auth.json" --src-tls-verify="${TLS_VERIFY}"
    --dest-authfile "${RUN_DIR}/target.auth.json" --dest-tls-verify="${TLS_VERIFY}"
  )
  local attempt message code
  for attempt in first renewed; do
    code=0
    skopeo copy "${copy_flags[@]}" "docker://${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}@${digest}" \
      "docker://${target}" 2>"${errors}" || code=$?
    [[ "${code}" -ne 0 ]] || break
    message="$(skopeo_failure "${errors}")" || code=$?
    # A password refused during the copy (from the cache, or expired while a long copy ran): one
    # more copy with a new one. The blobs already sent are not sent again.
    [[ "${attempt}" == first && "${code}" -eq "${EXIT_AUTH}" && "${message}" =~ ^(source|target)\ side: ]] || break
    renew_password "${BASH_REMATCH[1]}" || break
  done
  if [[ "${code}" -ne 0 ]]; then
    # The repository's description came from the cache: it may be gone since. ECR says so
    # (RepositoryNotFoundException) better than the registry's answer to the push does.
    if [[ -z "${DESCRIBED[${target_repository}]+described}" ]]; then
      local described described_code=0
      described="$(describe_target_repository "${target_repository}")" || described_code=$?
      if [[ "${described_code}" -eq "${EXIT_NOT_FOUND}" ]]; then
        drop_entry "$(entry_name describe "${target_repository}")"
        message="${described}" code="${described_code}"
      fi
    fi
    emit failed "${source}" "${target}" "${digest}" "${message}"
    COPY_STATUS="${code}"
    return
  fi
  read_digests target "${target_repository}" "${tag}"
  read -r target_status current <<<"${DIGEST_LINES[0]:-}"
  if [[ "${target_status}" != 200 && "${target_status}" != 404 ]]; then
    copy_failed "${source}" "${target}" "${digest}" "${target_status}" target "checking ${target} after the copy"
    return
  fi
  if [[ "${target_status}" != 200 || "${current}" != "${digest}" ]]; then
    emit failed "${source}" "${target}" "${digest}" "after the copy ${target} resolves to '${current}' (HTTP ${target_status}), not ${digest}"
    COPY_STATUS="${EXIT_FAILED}"
    return
  fi
  if [[ "${stale}" == true ]]; then
    superseded "${source}" "${target}" "${digest}" "${kind}" "${hint}" \
      "${source} has moved on to ${digest}: copied that to ${target}, not ${hint}"
  else
    emit copied "${source}" "${target}" "${digest}"
  fi
}

# copy_failed SOURCE TARGET DIGEST HTTP_STATUS SIDE WHAT: the failed line for a registry answer
# that is neither 200 nor 404, as registry_failure reads it, with its exit code in COPY_STATUS.
copy_failed() {
  local message code=0
  message="$(registry_failure "$4" "$5" "$6")" || code=$?
  emit failed "$1" "$2" "$3" "${message}"
  COPY_STATUS="${code}"
}

# superseded SOURCE TARGET DIGEST KIND STALE_DIGEST REASON: the line for a digest the source tag
# no longer names (KIND event: a push event's, plan: the reconcile's plan), logged as well.
superseded() {
  local field=event_digest
  [[ "$4" == event ]] || field=planned_digest
  log "$6"
  emit superseded "$1" "$2" "$3" "" "${field}" "$5" reason "$6"
}

prepare() {
  umask 077
  export AWS_PAGER="" # AWS CLI v2 would otherwise page output meant for this script
  local attempts="${AWS_MAX_ATTEMPTS:-${AWS_DEFAULT_ATTEMPTS}}"
  [[ "${attempts}" =~ ^[1-9][0-9]?$ ]] ||
    die "${EXIT_CONFIG}" "AWS_MAX_ATTEMPTS='${attempts}' is not a number of attempts from 1 to 99 (unset it for ${AWS_DEFAULT_ATTEMPTS})"
  # Standard mode, not the CLI's legacy default: it retries ThrottlingException,
  # TooManyRequestsException, 5xx and connection errors alike, with backoff and jitter.
  AWS_RETRY_SETTINGS=(AWS_RETRY_MODE=standard "AWS_MAX_ATTEMPTS=${attempts}")
  readonly AWS_RETRY_SETTINGS
}

# start_run: RUN_DIR, this run's private directory STATE_DIR/runs/PID.XXXXXX, locked (flock) by
# this run and, through the inherited descriptor, by every process it starts; removed on exit.
# First it removes the directories of runs that cannot be alive: their pid is gone and nobody
# holds their lock. A SIGKILL skips the EXIT trap; a skopeo still copying for a killed run holds
# the lock, so its files stay until it ends. A live pid (even one reused) is passed over.
start_run() {
  local leftover pid run_fd
  for leftover in "${RUNS_DIR}"/*; do
    [[ -d "${leftover}" && ! -L "${leftover}" ]] || continue
    pid="${leftover##*/}"
    pid="${pid%%.*}"
    if [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null; then
      continue
    fi
    flock --nonblock "${leftover}" true 2>/dev/null || continue
    rm -rf -- "${leftover}"
    log "removed ${leftover}: left by a run that was killed"
  done
  RUN_DIR="$(mktemp -d "${RUNS_DIR}/$$.XXXXXX")"
  readonly RUN_DIR
  trap 'rm -rf -- "${RUN_DIR}"' EXIT
  exec {run_fd}<"${RUN_DIR}"
  flock --nonblock "${run_fd}"
}

# prepare_state_dir: creates STATE_DIR and STATE_DIR/locks (mode 0700, missing parents too) and
# sets LOCK_DIR, or dies (EXIT_CONFIG) naming the path that is unsafe and what to do. Every
# component of the real path is checked after it exists, without following symlinks: the state
# directory, its locks/ and every component created here must be directories owned by the user
# running the script and writable by nobody else; the existing parents must be owned by root or
# by that user, and writable by others only with the sticky bit (/tmp). Then nobody else can
# rename, replace or add anything on that path, so the checks stay true for the whole run: that
# is what makes check_lock_file's look-then-open free of races.
prepare_state_dir() {
  local real path="" component user created
  user="${EUID}"
  [[ "${STATE_DIR}" != *$'\n'* ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_STATE_DIR holds a newline: set it to a plain absolute path such as /run/ecr-sync"
  [[ "${STATE_DIR}" == /* ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_STATE_DIR='${STATE_DIR}' is not an absolute path: set it to a root-only directory such as /run/ecr-sync"
  real="$(realpath -m -- "${STATE_DIR}")"
  local components=()
  IFS=/ read -r -a components <<<"${real#/}/locks"
  for component in "${components[@]}"; do
    path="${path}/${component}"
    created=false
    if [[ ! -e "${path}" && ! -L "${path}" ]]; then
      # Another run may make it between the look and the mkdir (a burst of copies after a reboot,
      # which empties /run): a directory there now is checked as if this run had made it.
      mkdir -m 0700 -- "${path}" 2>/dev/null || [[ -d "${path}" && ! -L "${path}" ]] ||
        die "${EXIT_CONFIG}" "state directory ${path} cannot be created (ECR_SYNC_STATE_DIR=${STATE_DIR}): set ECR_SYNC_STATE_DIR to a path the user running ecr-sync can create, such as /run/ecr-sync"
      created=true
    fi
    if [[ "${created}" == true || "${path}" == "${real}" || "${path}" == "${real}/locks" ]]; then
      check_private_dir "${path}" "${user}"
    else
      check_parent_dir "${path}" "${user}"
    fi
  done
  local directory
  for directory in cache runs; do
    path="${real}/${directory}"
    [[ -e "${path}" || -L "${path}" ]] || mkdir -m 0700 -- "${path}" 2>/dev/null || [[ -d "${path}" && ! -L "${path}" ]] ||
      die "${EXIT_CONFIG}" "state directory ${path} cannot be created (ECR_SYNC_STATE_DIR=${STATE_DIR})"
    check_private_dir "${path}" "${user}"
  done
  LOCK_DIR="${real}/locks"
  CACHE_DIR="${real}/cache"
  RUNS_DIR="${real}/runs"
  readonly LOCK_DIR CACHE_DIR RUNS_DIR
}

# check_private_dir PATH UID: PATH (not followed) is a directory owned by UID that nobody else may write.
check_private_dir() {
  local path="$1" user="$2" owner mode type
  read -r owner mode type < <(stat -c '%u %a %F' -- "$1")
  [[ "${type}" == directory ]] ||
    die "${EXIT_CONFIG}" "state directory ${path} is a ${type}, not a directory: remove it (ecr-sync creates the directory itself, mode 0700) or set ECR_SYNC_STATE_DIR elsewhere"
  [[ "${owner}" == "${user}" ]] ||
    die "${EXIT_CONFIG}" "state directory ${path} is owned by uid ${owner}, not by the user running ecr-sync (uid ${user}): whoever owns it can hold or replace the locks; remove it (ecr-sync creates it, mode 0700) or set ECR_SYNC_STATE_DIR elsewhere"
  (((8#${mode} & 8#022) == 0)) ||
    die "${EXIT_CONFIG}" "state directory ${path} has mode ${mode}, writable by group or others: chmod 0700 ${path}, or remove it so ecr-sync creates it"
}

# check_parent_dir PATH UID: PATH (not followed), a parent of the state directory that was
# there before, is a directory owned by root or UID, and writable by others only when sticky.
check_parent_dir() {
  local path="$1" user="$2" owner mode type
  read -r owner mode type < <(stat -c '%u %a %F' -- "$1")
  [[ "${type}" == directory ]] ||
    die "${EXIT_CONFIG}" "${path}, on the path of ECR_SYNC_STATE_DIR=${STATE_DIR}, is a ${type}, not a directory: set ECR_SYNC_STATE_DIR to a path of directories"
  [[ "${owner}" == 0 || "${owner}" == "${user}" ]] ||
    die "${EXIT_CONFIG}" "${path}, a parent of the state directory, is owned by uid ${owner}: that user could swap the state directory; set ECR_SYNC_STATE_DIR under directories owned by root (default /run/ecr-sync)"
  (((8#${mode} & 8#022) == 0 || (8#${mode} & 8#1000) != 0)) ||
    die "${EXIT_CONFIG}" "${path}, a parent of the state directory, has mode ${mode}, writable by others without the sticky bit: they could swap the state directory; set ECR_SYNC_STATE_DIR under directories only root can write (default /run/ecr-sync)"
}

# check_lock_file FILE: FILE is missing (the open creates it) or a regular file, not a symlink:
# the open must neither follow a link nor touch a device or FIFO. Only the script's user can
# write LOCK_DIR (prepare_state_dir), so nothing can change FILE between this look and the open.
check_lock_file() {
  if [[ -L "$1" ]]; then
    fail "${EXIT_CONFIG}" "lock file $1 is a symlink: not followed; remove it (only the user running ecr-sync can write ${LOCK_DIR}, so find out who put it there)"
  elif [[ -e "$1" && ! -f "$1" ]]; then
    fail "${EXIT_CONFIG}" "lock file $1 is not a regular file: remove it (only the user running ecr-sync can write ${LOCK_DIR})"
  fi
}

cmd_copy() {
  local source_repository="" target_repository="" tag="" digest="" pushed_at="" status="" current="" code
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --source-repository | --target-repository | --tag | --digest | --pushed-at)
        [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"
        case "$1" in
          --source-repository) source_repository="$2" ;;
          --target-repository) target_repository="$2" ;;
          --tag) tag="$2" ;;
          --digest) digest="$2" ;;
          --pushed-at) pushed_at="$2" ;;
        esac
        shift 2
        ;;
      -h | --help) usage && exit 0 ;;
      *) usage_error "copy: unknown argument '$1'" ;;
    esac
  done
  [[ -n "${source_repository}" ]] || usage_error "copy: --source-repository is required"
  [[ -n "${target_repository}" ]] || usage_error "copy: --target-repository is required"
  [[ -n "${tag}" ]] || usage_error "copy: --tag is required"
  is_repository_name "${source_repository}" ||
    usage_error "--source-repository '${source_repository}' is not a valid ECR repository name (${REPOSITORY_RULE})"
  is_repository_name "${target_repository}" ||
    usage_error "--target-repository '${target_repository}' is not a valid ECR repository name (${REPOSITORY_RULE})"
  is_image_tag "${tag}" || usage_error "--tag '${tag}' is not a valid image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)"
  [[ -z "${digest}" ]] || is_image_digest "${digest}" ||
    usage_error "--digest '${digest}' is not sha256: followed by 64 lowercase hex digits"
  [[ -z "${pushed_at}" ]] || is_utc_timestamp "${pushed_at}" ||
    usage_error "--pushed-at '${pushed_at}' is not an ISO-8601 UTC time (2026-06-01T12:00:03Z)"
  if [[ -n "${pushed_at}" ]]; then
    PUSHED_AT="${pushed_at}"
    PUSHED_AT_EPOCH="$(date -u -d "${pushed_at}" +%s%6N)"
  fi
  readonly PUSHED_AT PUSHED_AT_EPOCH
  check_config
  check_repository_map
  check_mapped_pair "${source_repository}" "${target_repository}"
  prepare_state_dir
  prepare

  local source="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}:${tag}"
  local target="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}"
  start_run
  login "${target_repository}" || {
    code=$?
    emit failed "${source}" "${target}" "${digest}" "${ERROR}"
    exit "${code}"
  }
  if [[ "${DESCRIBE_STATUS}" -ne 0 ]]; then
    # Read for the failed line only (which image it was about); nothing is decided on it.
    if [[ -z "${digest}" ]]; then
      read -r status current < <(manifest_digests source "${source_repository}" "${tag}") || true
      [[ "${status}" != 200 ]] || digest="${current}"
    fi
    emit failed "${source}" "${target}" "${digest}" "${DESCRIBE_ERROR}"
    exit "${DESCRIBE_STATUS}"
  fi
  local kind=event
  [[ -n "${digest}" ]] || kind=tag
  copy_image "${source_repository}" "${target_repository}" "${tag}" "${POLICY}" "${kind}" "${digest}"
  exit "${COPY_STATUS}"
}

# unsupported SOURCE TARGET TAG: the line for a source tag no image reference can carry.
unsupported() {
  local reason
  if [[ ${#3} -gt 128 ]]; then
    reason="the tag has ${#3} characters: ECR accepts up to 300, but an image reference carries at most 128, so it cannot be copied (push the image under a shorter tag as well)"
  else
    reason="the tag is not one an image reference can carry (${TAG_PATTERN}), so it cannot be copied (push the image under such a tag as well)"
  fi
  log "warning: skipping ${1}: ${reason}"
  emit unsupported "$1" "$2" "" "" reason "${reason}"
}

# policy_of REPOSITORY: POLICY, REPOSITORY's tag policy, from the cache or described now (and
# cached); returns like fail (EXIT_NOT_FOUND when it does not exist).
policy_of() {
  DESCRIBE_STATUS=0
  load_description "$1" || refresh "$1" || return
  [[ "${DESCRIBE_STATUS}" -eq 0 ]] || fail "${DESCRIBE_STATUS}" "${DESCRIBE_ERROR}"
}

# next_link HEADERS_FILE: the target of the Link header's rel="next" link (RFC 8288: several links
# in one header or in several, separated by commas; rel quoted or not, one or more types), or nothing.
next_link() {
  local line part parts=()
  while IFS= read -r line; do
    line="${line%$'\r'}"
    [[ "${line,,}" == link:* ]] || continue
    IFS=',' read -r -a parts <<<"${line#*:}"
    for part in "${parts[@]}"; do
      if [[ "${part}" =~ \<([^>]*)\>.*\;[[:space:]]*[Rr][Ee][Ll]=\"?([^\";]*)\"? ]] && [[ " ${BASH_REMATCH[2]} " == *" next "* ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
        return 0
      fi
    done
  done <"$1"
}

# list_tags SOURCE_REPOSITORY: LISTING, the source repository's tags, one a line, from the
# registry's tag list (GET /v2/NAME/tags/list, page after page by its Link header, which must stay
# on the source registry: the password goes with every request). Not `skopeo list-tags`: skopeo
# 1.18 (Debian 13) refuses a whole list that holds one tag an image reference cannot carry (ECR
# accepts 300 characters, a reference 128), which would stop the reconcile of every other tag. A
# password from the cache that the registry refuses is renewed once (renew_password). Returns
# like fail: a repository the registry does not know is EXIT_NOT_FOUND.
LISTING=""
list_tags() {
  local repository="$1" path status link message code renewed=false
  local page="${RUN_DIR}/tags.${SCRATCH}" headers="${RUN_DIR}/tags.headers.${SCRATCH}"
  path="/v2/${repository}/tags/list?n=${TAG_PAGE_SIZE}"
  LISTING=""
  while [[ -n "${path}" ]]; do
    status="$(curl --config "${RUN_DIR}/source.curlrc" --silent --output "${page}" --dump-header "${headers}" \
      "${CURL_FLAGS[@]}" --write-out '%{http_code}' "${SCHEME}://${ECR_SYNC_SOURCE_REGISTRY}${path}" 2>/dev/null)" || true
    if [[ "${status}" == 40[13] && "${renewed}" == false ]] && renew_password source; then
      renewed=true
      continue
    fi
    if [[ "${status}" == 404 ]]; then
      fail "${EXIT_NOT_FOUND}" "source repository '${repository}' does not exist in the source registry ${ECR_SYNC_SOURCE_REGISTRY}"
      return
    fi
    if [[ "${status}" != 200 ]]; then
      message="$(registry_failure "${status}" source "listing the tags of ${repository}")" || code=$?
      fail "${code}" "cannot list the tags of ${ECR_SYNC_SOURCE_REGISTRY}/${repository}: ${message}"
      return
    fi
    LISTING+="$(jq -r '.tags // [] | .[]' "${page}" 2>/dev/null)" ||
      fail "${EXIT_FAILED}" "source side: registry ${ECR_SYNC_SOURCE_REGISTRY} answered the tag list of ${repository} with something that is not JSON" || return
    LISTING+=$'\n'
    link="$(next_link "${headers}")"
    [[ "${link}" != \?* ]] || link="/v2/${repository}/tags/list${link}"
    link="${link#"${SCHEME}://${ECR_SYNC_SOURCE_REGISTRY}"}"
    if [[ -n "${link}" && "${link}" != "/v2/${repository}/tags/list?"* ]]; then
      fail "${EXIT_FAILED}" "source side: registry ${ECR_SYNC_SOURCE_REGISTRY} named a next page of ${repository}'s tags elsewhere (${link}): not followed"
      return
    fi
    if [[ -n "${link}" && "${link}" == "${path}" ]]; then
      fail "${EXIT_FAILED}" "source side: registry ${ECR_SYNC_SOURCE_REGISTRY} named the same page of ${repository}'s tags as the next one (${link}): stopped"
      return
    fi
    path="${link}"
  done
}

# reconcile_repository SOURCE_REPOSITORY TARGET_REPOSITORY DRY_RUN: one mapping. The tags to copy
# go to start_copy_job, a few at a time. Each image that fails adds its exit code to
# FAILURE_CODES; it returns 0 either way, so that it never runs under `||` (which would turn
# set -e and the ERR trap off for everything it calls).
reconcile_repository() {
  local source_repository="$1" target_repository="$2" dry_run="$3"
  local source_base="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}"
  local target_base="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}"
  local policy i tag status digest target_status target_digest message code=0
  local listed=() tags=() source_digests=() target_digests=()
  keep_fresh || code=$?
  [[ "${code}" -ne 0 ]] || policy_of "${target_repository}" || code=$?
  [[ "${code}" -ne 0 ]] || list_tags "${source_repository}" || code=$?
  if [[ "${code}" -ne 0 ]]; then
    emit failed "${source_base}" "${target_base}" "" "${ERROR}"
    FAILURE_CODES+=("${code}")
    return 0
  fi
  policy="${POLICY}"
  mapfile -t listed < <(LC_ALL=C sort -u <<<"${LISTING%$'\n'}" | sed '/^$/d')
  log "reconcile ${source_base} -> ${target_base}: ${#listed[@]} source tags"
  # ECR accepts tags (up to 300 characters) that an image reference cannot carry (128), so no
  # copier can name them. One line each, every run, and no failure: nothing a retry can fix, and
  # a reconcile failing every day for it would hide the failures that matter.
  for tag in "${listed[@]}"; do
    if is_image_tag "${tag}"; then
      tags+=("${tag}")
    else
      unsupported "${source_base}:${tag}" "${target_base}:${tag}" "${tag}"
    fi
  done
  [[ ${#tags[@]} -gt 0 ]] || return 0
  read_digests source "${source_repository}" "${tags[@]}"
  source_digests=("${DIGEST_LINES[@]}")
  read_digests target "${target_repository}" "${tags[@]}"
  target_digests=("${DIGEST_LINES[@]}")
  for i in "${!tags[@]}"; do
    tag="${tags[i]}"
    read -r status digest <<<"${source_digests[i]:-}"
    read -r target_status target_digest <<<"${target_digests[i]:-}"
    if [[ "${status}" == 404 ]]; then
      superseded "${source_base}:${tag}" "${target_base}:${tag}" "${target_digest:-}" plan "" \
        "${source_base}:${tag} was deleted since the listing: nothing to copy (ecr-sync never deletes a tag)"
      continue
    elif [[ "${status}" != 200 ]]; then
      code=0
      message="$(registry_failure "${status}" source "reading ${source_base}:${tag}")" || code=$?
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "" "${message}"
    elif [[ "${target_status}" == 200 && "${target_digest}" == "${digest}" ]]; then
      emit unchanged "${source_base}:${tag}" "${target_base}:${tag}" "${digest}"
      continue
    elif [[ "${target_status}" != 200 && "${target_status}" != 404 ]]; then
      code=0
      message="$(registry_failure "${target_status}" target "reading ${target_base}:${tag}")" || code=$?
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "${digest}" "${message}"
    elif [[ "${dry_run}" == false ]]; then
      start_copy_job "${source_repository}" "${target_repository}" "${tag}" "${policy}" plan "${digest}"
      continue
    elif [[ "${target_status}" == 200 ]] && tag_is_immutable "${policy}" "${tag}"; then
      code="${EXIT_CONFLICT}"
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "${digest}" "$(conflict "${target_base}:${tag}" "${target_digest}" "${digest}")"
    else
      emit planned "${source_base}:${tag}" "${target_base}:${tag}" "${digest}"
      continue
    fi
    FAILURE_CODES+=("${code}")
  done
}

# start_copy_job SOURCE_REPOSITORY TARGET_REPOSITORY TAG POLICY KIND DIGEST: copy_image in the
# background, at most PARALLELISM at a time (it first waits for one to end), each under its own
# tag's lock. Credentials within the margin of expiring are renewed before each one starts.
# The job's result line goes to a file of its own, which finish_copy_job prints whole.
declare -A JOB_IMAGE=() # copy job pid -> "SOURCE<TAB>TARGET<TAB>DIGEST", for a job that printed nothing
start_copy_job() {
  local source="${ECR_SYNC_SOURCE_REGISTRY}/$1:$3" target="${ECR_SYNC_TARGET_REGISTRY}/$2:$3" output code=0
  while [[ ${#JOB_OUTPUT[@]} -ge ${PARALLELISM} ]]; do
    finish_copy_job
  done
  keep_fresh || code=$?
  if [[ "${code}" -ne 0 ]]; then
    emit failed "${source}" "${target}" "$6" "${ERROR}"
    FAILURE_CODES+=("${code}")
    return 0
  fi
  JOB_SEQUENCE=$((JOB_SEQUENCE + 1))
  output="${RUN_DIR}/job.${JOB_SEQUENCE}"
  (
    JOB_SUBSHELL="${BASH_SUBSHELL}"
    SCRATCH="${output##*/}"
    copy_image "$@"
    exit "${COPY_STATUS}"
  ) >"${output}" &
  JOB_OUTPUT[$!]="${output}"
  JOB_IMAGE[$!]="${source}"$'\t'"${target}"$'\t'"$6"
}

# finish_copy_job: waits for one copy job, prints its line, counts it, and adds its exit code to
# FAILURE_CODES when it failed. A job that ended without a line (an unexpected failure, logged
# by its ERR trap's caller here) gets a failed line.
finish_copy_job() {
  local pid="" status=0 lines=() line image=()
  wait -n -p pid "${!JOB_OUTPUT[@]}" || status=$?
  [[ -n "${pid}" ]] || die "${EXIT_FAILED}" "reconcile: lost track of its copy jobs (wait: status ${status})"
  mapfile -t lines <"${JOB_OUTPUT[${pid}]}"
  for line in "${lines[@]}"; do
    printf '%s\n' "${line}"
    if [[ "${line}" =~ ^\{\"result\":\"([a-z]+)\" ]]; then
      RESULT_COUNTS["${BASH_REMATCH[1]}"]=$((${RESULT_COUNTS["${BASH_REMATCH[1]}"]:-0} + 1))
    fi
  done
  if [[ ${#lines[@]} -eq 0 ]]; then
    IFS=$'\t' read -r -a image <<<"${JOB_IMAGE[${pid}]}"
    [[ "${status}" -ne 0 ]] || status="${EXIT_FAILED}"
    emit failed "${image[0]}" "${image[1]}" "${image[2]:-}" "the copy ended unexpectedly (status ${status}) without a result"
  fi
  [[ "${status}" -eq 0 ]] || FAILURE_CODES+=("${status}")
  # The job's line and its scratch files (SCRATCH), so a long backfill does not fill /run.
  rm -f -- "${JOB_OUTPUT[${pid}]}" "${RUN_DIR}/"*".${JOB_OUTPUT[${pid}]##*/}"
  unset 'JOB_OUTPUT[$pid]' 'JOB_IMAGE[$pid]'
}

finish_copy_jobs() {
  while [[ ${#JOB_OUTPUT[@]} -gt 0 ]]; do
    finish_copy_job
  done
}

# reconcile_exit_code: how a reconcile with failures ends. When every failed image failed for
# one reason (all unavailable, all authentication, …), that reason's code, so the alert's exit
# code sends on-call the right way; a mix of reasons is EXIT_FAILED.
reconcile_exit_code() {
  local code
  for code in "${FAILURE_CODES[@]}"; do
    [[ "${code}" == "${FAILURE_CODES[0]}" ]] || {
      echo "${EXIT_FAILED}"
      return 0
    }
  done
  echo "${FAILURE_CODES[0]}"
}

# reconcile_summary STARTED: the reconcile's last line (see usage).
reconcile_summary() {
  local result fields=(--arg result reconcile)
  for result in copied unchanged superseded failed unsupported planned; do
    fields+=(--argjson "${result}" "${RESULT_COUNTS["${result}"]:-0}")
  done
  local duration
  seconds_between duration "$1" "${EPOCHREALTIME/[!0-9]/}"
  jq -cn "${fields[@]}" --argjson duration_s "${duration}" '$ARGS.named'
}

cmd_reconcile() {
  local dry_run=false mappings=() mapping started
  started="${EPOCHREALTIME/[!0-9]/}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dry-run) dry_run=true && shift ;;
      -h | --help) usage && exit 0 ;;
      *) usage_error "reconcile: unknown argument '$1'" ;;
    esac
  done
  check_config
  check_repository_map
  PARALLELISM="${ECR_SYNC_RECONCILE_PARALLELISM:-${RECONCILE_DEFAULT_PARALLELISM}}"
  [[ "${PARALLELISM}" =~ ^[1-9][0-9]?$ && "${PARALLELISM}" -le "${RECONCILE_MAX_PARALLELISM}" ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_RECONCILE_PARALLELISM='${PARALLELISM}' is not a number of copies at a time from 1 to ${RECONCILE_MAX_PARALLELISM} (unset it for ${RECONCILE_DEFAULT_PARALLELISM})"
  readonly PARALLELISM
  prepare_state_dir
  prepare
  start_run
  mappings=("${MAPPING_ENTRIES[@]}")
  # The target repositories are described along with the login (beside the target password),
  # not one CLI start after it per mapping.
  login "${mappings[@]#*$'\t'}" || die "$?" "${ERROR}"
  for mapping in "${mappings[@]}"; do
    reconcile_repository "${mapping%%$'\t'*}" "${mapping#*$'\t'}" "${dry_run}"
  done
  finish_copy_jobs
  reconcile_summary "${started}"
  if [[ "${#FAILURE_CODES[@]}" -gt 0 ]]; then
    local code
    code="$(reconcile_exit_code)"
    die "${code}" "reconcile: ${#FAILURE_CODES[@]} image(s) failed (see the failed lines)"
  fi
  if [[ "${dry_run}" == true ]]; then
    log "reconcile dry run done: nothing was written"
  else
    log "reconcile done"
  fi
}

main() {
  trap 'on_error "${LINENO}" "${BASH_COMMAND}"' ERR
  local command="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${command}" in
    copy) cmd_copy "$@" ;;
    reconcile) cmd_reconcile "$@" ;;
    -h | --help | help) usage ;;
    "") usage_error "a command is required: copy or reconcile" ;;
    *) usage_error "unknown command '${command}'" ;;
  esac
}

# Run, not sourced: sourced (as test/unit/contracts.test.ts does), the script only defines.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

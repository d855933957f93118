#!/usr/bin/env bash
#
# ecr-sync.sh: copy images from the source account's ECR repositories into the target
# (legacy) account's differently named repositories: same digest, every platform.
#
#   ecr-sync.sh copy --source-repository NAME --target-repository NAME --tag TAG [--digest sha256:HEX]
#   ecr-sync.sh reconcile [--dry-run]
#
# skopeo moves the bytes, registry to registry (no daemon, no local store, every platform of
# an index, digests preserved, blobs the target already has are not sent). This script only
# authenticates, decides and reports. Where each fact comes from, and why:
# - Digests come from the registries (HEAD /v2/REPO/manifests/REF with every manifest type
#   accepted, so nothing is converted: the digest of an index is the index's own). That is
#   what skopeo reads and writes, so the decision and the check after the copy look at what
#   the copy changed. One curl process answers a whole batch of tags, so a reconcile of
#   hundreds of in-sync tags costs a few processes, not a few per tag.
# - Source tags: `skopeo list-tags` (the registry's tag list, paginated by skopeo).
# - Whether the target repository exists, and whether its tags are immutable: the target
#   account's ECR API (describe-repositories, with the assumed role). A push to a missing
#   repository must never create one, and ECR is the authority on that, not the registry.
# Passwords: from `aws ecr get-login-password`, the target's with the credentials of the
# assumed role (in that call's environment only). They go into private files in a temp dir
# (containers auth.json for skopeo, a config file for curl) removed on exit: never argv, never logs.
#
# Output: one JSON line per image on stdout; people-facing log lines on stderr.
set -euo pipefail

readonly PROGRAM="${0##*/}"
readonly REPOSITORY_PATTERN='^([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*$' # common/naming.ts
readonly TAG_PATTERN='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
readonly DIGEST_PATTERN='^sha256:[a-f0-9]{64}$'
readonly REGISTRY_PATTERN='^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$'
readonly ROLE_ARN_PATTERN='^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$'
readonly REGION_PATTERN='^[a-z]{2}(-[a-z]+)+-[0-9]+$'
readonly MANIFEST_TYPES='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
readonly SKOPEO_RETRY_TIMES=3
readonly LOCK_TIMEOUT_SECONDS=900
readonly LOCK_DIR="${ECR_SYNC_LOCK_DIR:-/var/lock/ecr-sync}"

readonly EXIT_FAILED=1    # a copy or its verification failed; reconcile: any image failed
readonly EXIT_USAGE=2     # unknown/missing flag, or a name, tag or digest ECR would reject
readonly EXIT_CONFIG=3    # an ECR_SYNC_* variable is missing or invalid
readonly EXIT_AUTH=4      # no password, or a registry rejected it (the message says which side)
readonly EXIT_NOT_FOUND=5 # the source tag/digest or the target repository does not exist
readonly EXIT_CONFLICT=6  # the target tag is immutable and holds another digest

WORK_DIR=""
ERROR=""
SCHEME="https"
TLS_VERIFY="true"
TARGET_KEY_ID=""
TARGET_SECRET_KEY=""
TARGET_SESSION_TOKEN=""
TARGET_MUTABILITY=""
DESCRIBE_STATUS=0
PASSWORD_JOBS=()
TARGET_MUTABILITY_EXCLUSIONS=""

usage() {
  cat <<EOF
Usage:
  ${PROGRAM} copy --source-repository NAME --target-repository NAME --tag TAG [--digest sha256:HEX]
  ${PROGRAM} reconcile [--dry-run]

copy       Copies SOURCE_REGISTRY/NAME:TAG (or NAME@DIGEST when --digest is given) to
           TARGET_REGISTRY/NAME:TAG, every platform, digest preserved, then checks the target.
reconcile  For every mapping in ECR_SYNC_REPOSITORY_MAP, copies each source tag whose digest
           the target lacks. --dry-run prints the plan and writes nothing.

Environment: ECR_SYNC_SOURCE_REGISTRY, ECR_SYNC_TARGET_REGISTRY (host[:port]),
ECR_SYNC_TARGET_ROLE_ARN, ECR_SYNC_REGION, ECR_SYNC_REPOSITORY_MAP (JSON object, source name ->
target name; reconcile), ECR_SYNC_TLS_VERIFY (true|false, default true), ECR_SYNC_LOCK_DIR
(default /var/lock/ecr-sync).
Result lines: copied, unchanged, superseded (copy --digest of a push whose tag has since
moved to what the target holds: nothing written), planned (dry run), failed.
Exit: 0 all copied/unchanged/superseded, 1 failed, 2 usage, 3 configuration, 4 authentication,
5 not found, 6 immutable tag conflict.
EOF
}

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${PROGRAM}" "$*" >&2
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

# emit RESULT SOURCE TARGET DIGEST [ERROR]: the one JSON line per image.
emit() {
  if [[ $# -lt 5 ]]; then
    printf '{"result":"%s","source":"%s","target":"%s","digest":"%s"}\n' "$1" "$2" "$3" "$4"
  else
    log "error: $5"
    jq -cn --arg result "$1" --arg source "$2" --arg target "$3" --arg digest "$4" --arg error "$5" \
      '{result: $result, source: $source, target: $target} + (if $digest == "" then {} else {digest: $digest} end) + {error: $error}'
  fi
}

check_repository_name() {
  local what="$1" name="$2"
  if [[ ! "${name}" =~ ${REPOSITORY_PATTERN} || ${#name} -lt 2 || ${#name} -gt 256 ]]; then
    ERROR="${what} '${name}' is not a valid ECR repository name (2-256 characters: lowercase letters, digits, '.', '_', '-' between them, '/' between parts)"
    return 1
  fi
}

check_config() {
  local name
  for name in ECR_SYNC_SOURCE_REGISTRY ECR_SYNC_TARGET_REGISTRY ECR_SYNC_TARGET_ROLE_ARN ECR_SYNC_REGION; do
    [[ -n "${!name:-}" ]] || die "${EXIT_CONFIG}" "${name} is not set: the SSM document (or you) must export it"
  done
  for name in ECR_SYNC_SOURCE_REGISTRY ECR_SYNC_TARGET_REGISTRY; do
    [[ "${!name}" =~ ${REGISTRY_PATTERN} ]] || die "${EXIT_CONFIG}" "${name}='${!name}' is not host[:port] (e.g. 770203350335.dkr.ecr.us-east-1.amazonaws.com)"
  done
  [[ "${ECR_SYNC_TARGET_ROLE_ARN}" =~ ${ROLE_ARN_PATTERN} ]] ||
    die "${EXIT_CONFIG}" "ECR_SYNC_TARGET_ROLE_ARN='${ECR_SYNC_TARGET_ROLE_ARN}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
  [[ "${ECR_SYNC_REGION}" =~ ${REGION_PATTERN} ]] || die "${EXIT_CONFIG}" "ECR_SYNC_REGION='${ECR_SYNC_REGION}' is not an AWS region (e.g. us-east-1)"
  TLS_VERIFY="${ECR_SYNC_TLS_VERIFY:-true}"
  case "${TLS_VERIFY}" in
    true) SCHEME="https" ;;
    false) SCHEME="http" ;; # local test registries speak plain HTTP
    *) die "${EXIT_CONFIG}" "ECR_SYNC_TLS_VERIFY='${TLS_VERIFY}' must be true or false" ;;
  esac
}

check_repository_map() {
  local source target
  [[ -n "${ECR_SYNC_REPOSITORY_MAP:-}" ]] || die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP is not set: reconcile needs the JSON object of source -> target repository names"
  jq -e 'type == "object" and length > 0 and all(.[]; type == "string")' <<<"${ECR_SYNC_REPOSITORY_MAP}" >/dev/null 2>&1 ||
    die "${EXIT_CONFIG}" "ECR_SYNC_REPOSITORY_MAP is not a non-empty JSON object of strings (e.g. {\"kuali-coeus\":\"coeus\"}): ${ECR_SYNC_REPOSITORY_MAP}"
  while read -r source target; do
    check_repository_name "ECR_SYNC_REPOSITORY_MAP key" "${source}" || die "${EXIT_CONFIG}" "${ERROR}"
    check_repository_name "ECR_SYNC_REPOSITORY_MAP['${source}']" "${target}" || die "${EXIT_CONFIG}" "${ERROR}"
  done < <(jq -r 'to_entries[] | "\(.key) \(.value)"' <<<"${ECR_SYNC_REPOSITORY_MAP}")
}

as_target() {
  AWS_ACCESS_KEY_ID="${TARGET_KEY_ID}" AWS_SECRET_ACCESS_KEY="${TARGET_SECRET_KEY}" AWS_SESSION_TOKEN="${TARGET_SESSION_TOKEN}" "$@"
}

# write_credentials SIDE REGISTRY PASSWORD: skopeo auth file and curl config for one side.
write_credentials() {
  local side="$1" registry="$2" password="$3" basic
  basic="$(printf 'AWS:%s' "${password}" | base64 -w0)"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "${registry}" "${basic}" >"${WORK_DIR}/${side}.auth.json"
  printf 'header = "Authorization: Basic %s"\nheader = "Accept: %s"\n' "${basic}" "${MANIFEST_TYPES}" >"${WORK_DIR}/${side}.curlrc"
}

# check_login SIDE REGISTRY HINT: the registry accepts the password (GET /v2/).
check_login() {
  local side="$1" registry="$2" hint="$3" status
  status="$(curl --config "${WORK_DIR}/${side}.curlrc" --silent --output /dev/null --retry 2 \
    --write-out '%{http_code}' "${SCHEME}://${registry}/v2/" 2>/dev/null)" || true
  [[ "${status}" == 200 ]] || fail "${EXIT_AUTH}" "${side} side: registry ${registry} rejected the ECR password (HTTP ${status:-none}); ${hint}"
}

# start_password SIDE: `aws ecr get-login-password` in the background (the target's as the
# assumed role), into a private file; finish_login collects it. The AWS calls run side by side
# because each CLI start costs most of a second.
start_password() {
  local side="$1" runner=()
  [[ "${side}" == source ]] || runner=(as_target)
  "${runner[@]}" aws ecr get-login-password --region "${ECR_SYNC_REGION}" >"${WORK_DIR}/${side}.password" 2>"${WORK_DIR}/${side}.err" &
  PASSWORD_JOBS+=("$!")
}

# assume_target_role: sets TARGET_* credentials (kept in shell variables, never exported).
assume_target_role() {
  local credentials
  if ! credentials="$(aws sts assume-role --role-arn "${ECR_SYNC_TARGET_ROLE_ARN}" --role-session-name "ecr-sync-$$" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text 2>"${WORK_DIR}/assume.err")"; then
    wait "${PASSWORD_JOBS[@]}" || true
    fail "${EXIT_AUTH}" "target side: aws sts assume-role --role-arn ${ECR_SYNC_TARGET_ROLE_ARN} with the worker's credentials failed: $(tail -n 1 "${WORK_DIR}/assume.err")"
    return
  fi
  read -r TARGET_KEY_ID TARGET_SECRET_KEY TARGET_SESSION_TOKEN <<<"${credentials}"
}

finish_login() {
  local source_status=0 target_status=0
  wait "${PASSWORD_JOBS[0]}" || source_status=$?
  wait "${PASSWORD_JOBS[1]}" || target_status=$?
  if [[ "${source_status}" -ne 0 ]]; then
    fail "${EXIT_AUTH}" "source side: aws ecr get-login-password with the worker's own credentials failed: $(tail -n 1 "${WORK_DIR}/source.err")"
    return
  fi
  if [[ "${target_status}" -ne 0 ]]; then
    fail "${EXIT_AUTH}" "target side: aws ecr get-login-password as ${ECR_SYNC_TARGET_ROLE_ARN} failed: $(tail -n 1 "${WORK_DIR}/target.err")"
    return
  fi
  write_credentials source "${ECR_SYNC_SOURCE_REGISTRY}" "$(<"${WORK_DIR}/source.password")"
  write_credentials target "${ECR_SYNC_TARGET_REGISTRY}" "$(<"${WORK_DIR}/target.password")"
  rm -f -- "${WORK_DIR}/source.password" "${WORK_DIR}/target.password"
  check_login source "${ECR_SYNC_SOURCE_REGISTRY}" "check ECR_SYNC_SOURCE_REGISTRY and the worker role's ecr:GetAuthorizationToken" &&
    check_login target "${ECR_SYNC_TARGET_REGISTRY}" "check that ECR_SYNC_TARGET_ROLE_ARN is a role in the account of ECR_SYNC_TARGET_REGISTRY"
}

# login [TARGET_REPOSITORY]: both passwords, checked against both registries. With a target
# repository, it is described (describe_target_repository) while the passwords are fetched;
# its result is then in DESCRIBE_STATUS / ERROR.
login() {
  start_password source
  assume_target_role || return
  start_password target
  DESCRIBE_STATUS=0
  if [[ $# -gt 0 ]]; then
    describe_target_repository "$1" || DESCRIBE_STATUS=$?
  fi
  local describe_error="${ERROR}"
  finish_login || return
  ERROR="${describe_error}"
}

# manifest_digests SIDE REPOSITORY REFERENCE...: one line "HTTP_STATUS DIGEST" per reference,
# in order (one curl process for all of them).
manifest_digests() {
  local side="$1" repository="$2" reference registry="${ECR_SYNC_TARGET_REGISTRY}"
  shift 2
  [[ "${side}" == target ]] || registry="${ECR_SYNC_SOURCE_REGISTRY}"
  {
    cat "${WORK_DIR}/${side}.curlrc"
    for reference in "$@"; do
      printf 'url = "%s://%s/v2/%s/manifests/%s"\noutput = "/dev/null"\n' "${SCHEME}" "${registry}" "${repository}" "${reference}"
    done
  } >"${WORK_DIR}/${side}.batch"
  curl --config "${WORK_DIR}/${side}.batch" --head --silent --retry 3 \
    --write-out '%{http_code} %header{docker-content-digest}\n' 2>/dev/null || true
}

# describe_target_repository NAME: sets TARGET_MUTABILITY and TARGET_MUTABILITY_EXCLUSIONS.
describe_target_repository() {
  local repository="$1" description
  if ! description="$(as_target aws ecr describe-repositories --region "${ECR_SYNC_REGION}" \
    --repository-names "${repository}" --output json 2>"${WORK_DIR}/aws.err")"; then
    if grep -q RepositoryNotFoundException "${WORK_DIR}/aws.err"; then
      fail "${EXIT_NOT_FOUND}" "target repository '${repository}' does not exist in the target account's ECR (role ${ECR_SYNC_TARGET_ROLE_ARN}): create it there; ecr-sync never creates repositories"
      return
    fi
    ERROR="target side: describe-repositories '${repository}' failed: $(tail -n 1 "${WORK_DIR}/aws.err")"
    grep -q AccessDenied "${WORK_DIR}/aws.err" && return "${EXIT_AUTH}"
    return "${EXIT_FAILED}"
  fi
  TARGET_MUTABILITY="$(jq -r '.repositories[0].imageTagMutability // "MUTABLE"' <<<"${description}")"
  TARGET_MUTABILITY_EXCLUSIONS="$(jq -r '[.repositories[0].imageTagMutabilityExclusionFilters // [] | .[].filter] | join(" ")' <<<"${description}")"
}

# tag_is_immutable TAG: per the target repository last described (exclusion filters are
# ECR's wildcard patterns, where only '*' is special).
tag_is_immutable() {
  local tag="$1" filter excluded=false
  for filter in ${TARGET_MUTABILITY_EXCLUSIONS}; do
    # shellcheck disable=SC2053 # the filter is a pattern on purpose
    [[ "${tag}" == ${filter} ]] && excluded=true
  done
  case "${TARGET_MUTABILITY}" in
    IMMUTABLE) return 0 ;;
    IMMUTABLE_WITH_EXCLUSION) [[ "${excluded}" == false ]] ;;
    MUTABLE_WITH_EXCLUSION) [[ "${excluded}" == true ]] ;;
    *) return 1 ;;
  esac
}

conflict() {
  echo "$1 is immutable and already holds $2: not overwritten (push $3 under a new tag, or delete the old image)"
}

# copy_image SOURCE_REPOSITORY TARGET_REPOSITORY TAG DIGEST [PINNED]: holds a lock on the target
# tag while it decides, copies and verifies, so concurrent copies to one tag take turns. PINNED
# (true when the digest came from --digest, i.e. from a push event) turns on the check for a
# stale event: see copy_locked.
copy_image() {
  local target_repository="$2" tag="$3" lock_fd code=0
  local lock_file="${LOCK_DIR}/${target_repository//\//+}:${tag}.lock"
  exec {lock_fd}>"${lock_file}"
  if flock --wait "${LOCK_TIMEOUT_SECONDS}" "${lock_fd}"; then
    copy_locked "$@" || code=$?
  else
    emit failed "${ECR_SYNC_SOURCE_REGISTRY}/$1:${tag}" "${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}" "$4" \
      "another copy held ${lock_file} for more than ${LOCK_TIMEOUT_SECONDS} s"
    code="${EXIT_FAILED}"
  fi
  exec {lock_fd}>&-
  return "${code}"
}

copy_locked() {
  local source_repository="$1" target_repository="$2" tag="$3" digest="$4" pinned="${5:-false}"
  local status current source_status source_now
  local source="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}:${tag}"
  local target="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}"
  read -r status current < <(manifest_digests target "${target_repository}" "${tag}")
  case "${status}" in
    200 | 404) ;;
    401 | 403)
      emit failed "${source}" "${target}" "${digest}" "target side: registry refused to read ${target} (HTTP ${status})"
      return "${EXIT_AUTH}"
      ;;
    *)
      emit failed "${source}" "${target}" "${digest}" "cannot read ${target} (HTTP ${status:-none})"
      return "${EXIT_FAILED}"
      ;;
  esac
  if [[ "${status}" == 200 && "${current}" == "${digest}" ]]; then
    emit unchanged "${source}" "${target}" "${digest}"
    return 0
  fi
  # Push events can arrive, or their commands run, out of order. When the source tag has since
  # moved to exactly what the target already holds, this event is stale: copying its older
  # digest would roll the target back, so it is superseded and nothing is written.
  if [[ "${pinned}" == true && "${status}" == 200 ]]; then
    read -r source_status source_now < <(manifest_digests source "${source_repository}" "${tag}")
    if [[ "${source_status}" == 200 && "${source_now}" == "${current}" ]]; then
      log "${source} has moved on to ${current}, which ${target} already holds: not rolling it back to ${digest}"
      emit superseded "${source}" "${target}" "${digest}"
      return 0
    fi
  fi
  if [[ "${status}" == 200 ]] && tag_is_immutable "${tag}"; then
    emit failed "${source}" "${target}" "${digest}" "$(conflict "${target}" "${current}" "${digest}")"
    return "${EXIT_CONFLICT}"
  fi
  log "copying ${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}@${digest} to ${target}"
  local copy_flags=(
    --all --preserve-digests --quiet --retry-times "${SKOPEO_RETRY_TIMES}"
    --src-authfile "${WORK_DIR}/source.auth.json" --src-tls-verify="${TLS_VERIFY}"
    --dest-authfile "${WORK_DIR}/target.auth.json" --dest-tls-verify="${TLS_VERIFY}"
  )
  if ! skopeo copy "${copy_flags[@]}" "docker://${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}@${digest}" \
    "docker://${target}" 2>"${WORK_DIR}/skopeo.err"; then
    emit failed "${source}" "${target}" "${digest}" "skopeo copy failed: $(tail -n 1 "${WORK_DIR}/skopeo.err")"
    return "${EXIT_FAILED}"
  fi
  read -r status current < <(manifest_digests target "${target_repository}" "${tag}")
  if [[ "${status}" != 200 || "${current}" != "${digest}" ]]; then
    emit failed "${source}" "${target}" "${digest}" "after the copy ${target} resolves to '${current}' (HTTP ${status}), not ${digest}"
    return "${EXIT_FAILED}"
  fi
  emit copied "${source}" "${target}" "${digest}"
}

prepare() {
  umask 077
  export AWS_PAGER="" # AWS CLI v2 would otherwise page output meant for this script
  WORK_DIR="$(mktemp -d)"
  trap 'rm -rf -- "${WORK_DIR}"' EXIT
}

prepare_lock_dir() {
  if ! mkdir -p "${LOCK_DIR}" 2>/dev/null || [[ ! -w "${LOCK_DIR}" ]]; then
    die "${EXIT_CONFIG}" "lock directory ${LOCK_DIR} cannot be created or written: set ECR_SYNC_LOCK_DIR to a writable directory"
  fi
}

cmd_copy() {
  local source_repository="" target_repository="" tag="" digest="" status current code
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --source-repository | --target-repository | --tag | --digest)
        [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"
        case "$1" in
          --source-repository) source_repository="$2" ;;
          --target-repository) target_repository="$2" ;;
          --tag) tag="$2" ;;
          --digest) digest="$2" ;;
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
  check_repository_name --source-repository "${source_repository}" || usage_error "${ERROR}"
  check_repository_name --target-repository "${target_repository}" || usage_error "${ERROR}"
  [[ "${tag}" =~ ${TAG_PATTERN} ]] || usage_error "--tag '${tag}' is not a valid image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)"
  [[ -z "${digest}" || "${digest}" =~ ${DIGEST_PATTERN} ]] || usage_error "--digest '${digest}' is not sha256: followed by 64 lowercase hex digits"
  check_config
  prepare_lock_dir
  prepare

  local source="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}:${tag}"
  local target="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}:${tag}"
  local wanted="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}@${digest}"
  [[ -n "${digest}" ]] || wanted="${source}"
  login "${target_repository}" || {
    code=$?
    emit failed "${source}" "${target}" "${digest}" "${ERROR}"
    exit "${code}"
  }
  read -r status current < <(manifest_digests source "${source_repository}" "${digest:-${tag}}")
  case "${status}" in
    200) ;;
    404)
      emit failed "${source}" "${target}" "${digest}" "source image ${wanted} does not exist"
      exit "${EXIT_NOT_FOUND}"
      ;;
    401 | 403)
      emit failed "${source}" "${target}" "${digest}" "source side: registry refused to read ${wanted} (HTTP ${status})"
      exit "${EXIT_AUTH}"
      ;;
    *)
      emit failed "${source}" "${target}" "${digest}" "cannot read ${wanted} (HTTP ${status:-none})"
      exit "${EXIT_FAILED}"
      ;;
  esac
  if [[ -n "${digest}" && "${current}" != "${digest}" ]]; then
    emit failed "${source}" "${target}" "${digest}" "source registry answered '${current}' for ${wanted}"
    exit "${EXIT_FAILED}"
  fi
  digest="${current}"
  if [[ "${DESCRIBE_STATUS}" -ne 0 ]]; then
    emit failed "${source}" "${target}" "${digest}" "${ERROR}"
    exit "${DESCRIBE_STATUS}"
  fi
  local pinned=false
  [[ "${wanted}" == "${source}" ]] || pinned=true
  copy_image "${source_repository}" "${target_repository}" "${tag}" "${digest}" "${pinned}" || exit $?
}

# reconcile_repository SOURCE_REPOSITORY TARGET_REPOSITORY DRY_RUN: one mapping; returns 1
# when anything in it failed.
reconcile_repository() {
  local source_repository="$1" target_repository="$2" dry_run="$3"
  local source_base="${ECR_SYNC_SOURCE_REGISTRY}/${source_repository}"
  local target_base="${ECR_SYNC_TARGET_REGISTRY}/${target_repository}"
  local listing i tag status digest target_status target_digest failures=0
  local tags=() source_digests=() target_digests=()
  if ! describe_target_repository "${target_repository}"; then
    emit failed "${source_base}" "${target_base}" "" "${ERROR}"
    return 1
  fi
  if ! listing="$(skopeo list-tags --retry-times "${SKOPEO_RETRY_TIMES}" --authfile "${WORK_DIR}/source.auth.json" \
    --tls-verify="${TLS_VERIFY}" "docker://${source_base}" 2>"${WORK_DIR}/skopeo.err")"; then
    emit failed "${source_base}" "${target_base}" "" "cannot list the tags of ${source_base}: $(tail -n 1 "${WORK_DIR}/skopeo.err")"
    return 1
  fi
  mapfile -t tags < <(jq -r '.Tags // [] | .[]' <<<"${listing}" | LC_ALL=C sort)
  log "reconcile ${source_base} -> ${target_base}: ${#tags[@]} source tags"
  [[ ${#tags[@]} -gt 0 ]] || return 0
  mapfile -t source_digests < <(manifest_digests source "${source_repository}" "${tags[@]}")
  mapfile -t target_digests < <(manifest_digests target "${target_repository}" "${tags[@]}")
  for i in "${!tags[@]}"; do
    tag="${tags[i]}"
    read -r status digest <<<"${source_digests[i]:-}"
    read -r target_status target_digest <<<"${target_digests[i]:-}"
    if [[ "${status}" != 200 ]]; then
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "" "cannot read ${source_base}:${tag} (HTTP ${status:-none})"
    elif [[ "${target_status}" == 200 && "${target_digest}" == "${digest}" ]]; then
      emit unchanged "${source_base}:${tag}" "${target_base}:${tag}" "${digest}"
      continue
    elif [[ "${target_status}" != 200 && "${target_status}" != 404 ]]; then
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "${digest}" "cannot read ${target_base}:${tag} (HTTP ${target_status:-none})"
    elif [[ "${dry_run}" == false ]]; then
      copy_image "${source_repository}" "${target_repository}" "${tag}" "${digest}" && continue
    elif [[ "${target_status}" == 200 ]] && tag_is_immutable "${tag}"; then
      emit failed "${source_base}:${tag}" "${target_base}:${tag}" "${digest}" "$(conflict "${target_base}:${tag}" "${target_digest}" "${digest}")"
    else
      emit planned "${source_base}:${tag}" "${target_base}:${tag}" "${digest}"
      continue
    fi
    failures=$((failures + 1))
  done
  [[ "${failures}" -eq 0 ]]
}

cmd_reconcile() {
  local dry_run=false mappings=() mapping failed=false
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dry-run) dry_run=true && shift ;;
      -h | --help) usage && exit 0 ;;
      *) usage_error "reconcile: unknown argument '$1'" ;;
    esac
  done
  check_config
  check_repository_map
  [[ "${dry_run}" == true ]] || prepare_lock_dir
  prepare
  login || die "$?" "${ERROR}"
  mapfile -t mappings < <(jq -r 'to_entries[] | "\(.key) \(.value)"' <<<"${ECR_SYNC_REPOSITORY_MAP}")
  for mapping in "${mappings[@]}"; do
    # shellcheck disable=SC2086 # "SOURCE TARGET", both validated names without spaces
    reconcile_repository ${mapping} "${dry_run}" || failed=true
  done
  [[ "${failed}" == false ]] || die "${EXIT_FAILED}" "reconcile: some images failed (see the failed lines)"
  if [[ "${dry_run}" == true ]]; then
    log "reconcile dry run done: nothing was written"
  else
    log "reconcile done"
  fi
}

main() {
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

main "$@"

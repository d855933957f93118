import { isImageDigest, referrersTag } from "../../common/naming";
import { EXIT } from "../../common/result-lines";
import { Failure } from "./failure";
import { readBody } from "./http";
import { LIMITS } from "./limits";
import { IMAGE_MANIFEST_TYPES, nextLink, RegistryClient } from "./registry";

/**
 * An image's referrers (OCI 1.1): manifests whose `subject` names it, such as cosign and notation
 * signatures, SBOMs and attestations. A registry lists them with the referrers API, `GET
 * /v2/NAME/referrers/DIGEST`, an image index of descriptors; where a registry has no API (it answers
 * 404), clients keep the same index under a tag named by the subject's digest, `sha256-HEX` (the
 * referrers tag schema). Both from the OCI distribution spec 1.1, "Listing Referrers" and
 * "Referrers Tag Schema":
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
 */

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** One referrer: a manifest whose subject is `subject`. */
export interface Referrer {
  readonly digest: string;
  readonly mediaType: string;
  /** The descriptor's artifactType ("" when the registry or the client gave none). */
  readonly artifactType: string;
  readonly subject: string;
}

/** An artifact type as a result line may carry it: a media type (RFC 6838), at most 255 characters. */
function isMediaType(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length <= 255 &&
    /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/.test(value)
  );
}

function descriptorsOf(body: Buffer, subject: string): Referrer[] | undefined {
  let index: unknown;
  try {
    index = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (manifests === undefined || manifests === null) return [];
  if (!Array.isArray(manifests)) return undefined;
  const referrers: Referrer[] = [];
  for (const entry of manifests as Array<Record<string, unknown>>) {
    if (entry === null || typeof entry !== "object" || !isImageDigest(entry.digest)) return undefined;
    referrers.push({
      digest: entry.digest,
      mediaType: typeof entry.mediaType === "string" ? entry.mediaType : "",
      artifactType: isMediaType(entry.artifactType) ? entry.artifactType : "",
      subject,
    });
  }
  return referrers;
}

/**
 * The tags a caller has just listed in the repository (a reconcile): a referrers tag not among them
 * is not read. A referrers tag written since is read by the next reconcile.
 */
export type ListedTags = ReadonlySet<string>;

/**
 * The repositories, per registry, whose referrers API answered this run as a registry without one
 * (NO_API): not asked again. Per repository, so that one repository's 404 (deleted meanwhile: 404
 * is also NAME_UNKNOWN) never stops the others' referrers being read.
 */
const withoutApi = new WeakMap<RegistryClient, Set<string>>();

/**
 * The referrers of `subject` in `repository`: by the API, page after page (Link header), and from
 * the referrers tag schema; [] when there are none. The tag is read even where the API answers: a
 * client that met a registry without the API (ECR before June 2024) kept its referrers there, and
 * the API does not list them. Unless `listed` shows there is no such tag.
 */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subject: string,
  listed?: ListedTags,
): Promise<Referrer[] | Failure> {
  const what = `listing the referrers of ${repository}@${subject}`;
  const [byApi, byTag] = await Promise.all([
    withoutApi.get(client)?.has(repository) ? undefined : listByApi(client, repository, subject, what),
    listed === undefined || listed.has(referrersTag(subject))
      ? listByTag(client, repository, subject, what)
      : [],
  ]);
  if (byApi instanceof Failure) return byApi;
  if (byTag instanceof Failure) return byTag;
  const merged = [...(byApi ?? [])];
  for (const referrer of byTag) if (!merged.some((r) => r.digest === referrer.digest)) merged.push(referrer);
  return merged.length > LIMITS.maxReferrers ? tooMany(client, repository, subject) : merged;
}

const NO_API = new Set([400, 404, 405, 501]);

/** The API's list; undefined where the registry has no referrers API (NO_API). */
async function listByApi(
  client: RegistryClient,
  repository: string,
  subject: string,
  what: string,
): Promise<Referrer[] | Failure | undefined> {
  const apiPath = `/v2/${repository}/referrers/${subject}`;
  const referrers: Referrer[] = [];
  const visited = new Set<string>();
  let path: string | undefined = apiPath;
  while (path !== undefined) {
    visited.add(path);
    let body: Buffer = Buffer.alloc(0);
    const answer = await client.request(path, { headers: { Accept: OCI_INDEX } }, async (response) => {
      body = await readBody(response.body);
    });
    // 404 is the spec's "no referrers API"; a registry that predates it may answer 400, 405 or 501.
    if (NO_API.has(answer.status) && path === apiPath) {
      withoutApi.set(client, (withoutApi.get(client) ?? new Set<string>()).add(repository));
      return undefined;
    }
    if (answer.status !== 200) return client.failure(answer, what);
    const page = descriptorsOf(body, subject);
    if (page === undefined) return notAnIndex(client, what);
    referrers.push(...page);
    if (referrers.length > LIMITS.maxReferrers) return tooMany(client, repository, subject);
    const link = nextLink(answer.response.header("link"));
    let next = link?.startsWith(client.baseUrl) ? link.slice(client.baseUrl.length) : link;
    if (next?.startsWith("?")) next = `${apiPath}${next}`;
    // Elsewhere, again (a loop), or page after page of nothing past the limit: not followed.
    const endless = visited.size > LIMITS.maxReferrers;
    if (next !== undefined && (!next.startsWith(`${apiPath}?`) || visited.has(next) || endless)) {
      return new Failure(
        EXIT.failed,
        `${client.side} side: registry ${client.host} named a next page of ${subject}'s referrers elsewhere or again, or more than ${LIMITS.maxReferrers} pages (${link}): not followed`,
      );
    }
    path = next;
  }
  return referrers;
}

async function listByTag(
  client: RegistryClient,
  repository: string,
  subject: string,
  what: string,
): Promise<Referrer[] | Failure> {
  const index = await client.manifest(
    repository,
    referrersTag(subject),
    `${what} (by its referrers tag)`,
    {},
  );
  if (index === undefined) return [];
  if (index instanceof Failure) return index;
  return descriptorsOf(index.body, subject) ?? notAnIndex(client, what);
}

function tooMany(client: RegistryClient, repository: string, digest: string): Failure {
  return new Failure(
    EXIT.failed,
    `${client.side} side: ${repository}@${digest} has more than ${LIMITS.maxReferrers} referrers (nested ones included): not copied; copy them by hand with oras cp -r`,
  );
}

function notAnIndex(client: RegistryClient, what: string): Failure {
  return new Failure(
    EXIT.failed,
    `${client.side} side: registry ${client.host} answered ${what} with something that is not an image index of descriptors`,
  );
}

/** What a caller already read: the repository's tags (a reconcile), the image's media type (its HEAD). */
export interface Known {
  readonly listed?: ListedTags;
  readonly mediaType?: string;
}

/**
 * Every referrer of an image, nested ones included (a signature of an SBOM), parents before their
 * own referrers: those of `digest`, and, when it is an index, those of each of its manifests (read
 * unless `known.mediaType` says it is a single manifest).
 */
export async function referrerGraph(
  client: RegistryClient,
  repository: string,
  digest: string,
  known: Known = {},
): Promise<Referrer[] | Failure> {
  let platforms: string[] = [];
  if (!IMAGE_MANIFEST_TYPES.has(known.mediaType ?? "")) {
    const image = await client.manifest(repository, digest, `reading ${repository}@${digest}`, {});
    if (image === undefined) {
      return new Failure(
        EXIT.notFound,
        `${client.side} side: registry ${client.host} has no ${repository}@${digest}`,
      );
    }
    if (image instanceof Failure) return image;
    platforms = platformsOf(image.body);
  }
  // Level by level (the image and its manifests, then their referrers, then theirs), each level's
  // lists read at once (the client keeps to its own limit of requests in flight).
  let level = [digest, ...platforms];
  const seen = new Set(level);
  const graph: Referrer[] = [];
  while (level.length > 0) {
    const lists = await Promise.all(
      level.map((subject) => listReferrers(client, repository, subject, known.listed)),
    );
    const next: string[] = [];
    for (const referrers of lists) {
      if (referrers instanceof Failure) return referrers;
      for (const referrer of referrers) {
        if (seen.has(referrer.digest)) continue;
        seen.add(referrer.digest);
        if (graph.length >= LIMITS.maxReferrers) return tooMany(client, repository, digest);
        graph.push(referrer);
        next.push(referrer.digest);
      }
    }
    level = next;
  }
  return graph;
}

/** The manifests an index lists ([] for an image manifest or anything else). */
function platformsOf(body: Buffer): string[] {
  try {
    const manifests = (JSON.parse(body.toString("utf8")) as { manifests?: unknown }).manifests;
    if (!Array.isArray(manifests)) return [];
    return manifests
      .map((m: { digest?: unknown }) => m?.digest)
      .filter((d): d is string => isImageDigest(d))
      .slice(0, LIMITS.maxReferrers);
  } catch {
    return [];
  }
}

import { createHash } from "node:crypto";
import { isImageDigest } from "../../common/naming";
import { EXIT } from "../../common/result-lines";
import { ManifestRead } from "./decide";
import { Failure } from "./failure";
import { BadAnswer, exchange, HttpRequest, HttpResponse, NoAnswer, readBody } from "./http";
import { LIMITS } from "./limits";
import { Limiter } from "./limiter";
import { trace } from "./trace";

/**
 * The registry HTTP API (OCI distribution spec, https://github.com/opencontainers/distribution-spec/blob/main/spec.md),
 * read with node:http (http.ts says why not fetch): manifest digests, tag lists, the login check and the probes that say
 * which side failed a skopeo copy. Every answer is classified by its HTTP status or by the
 * absence of one (a network error or a timeout), never by any text it carries.
 */

export type Side = "source" | "target";

/**
 * Every manifest type, so that nothing is converted: the digest of an index is the index's own.
 * That is what skopeo reads and writes (--all --preserve-digests).
 */
/** The media types of a single image manifest: no platforms below it. */
export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

export const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  ...IMAGE_MANIFEST_TYPES,
].join(", ");

/** The ECR password of one side: what the registry's Basic auth carries, renewed when refused. */
export interface RegistryCredentials {
  /** base64 of "AWS:PASSWORD", as GetAuthorizationToken gives it. */
  token(): Promise<string>;
  /**
   * The registry refused `rejected` (401 or 403): true when a newer token is worth one more try
   * (this one was near its end, or another request has renewed it meanwhile).
   */
  renew(rejected: string): Promise<boolean>;
}

/** What a request got: an HTTP status, or none (refused, reset, timed out). */
export type Answer =
  | { readonly status: number; readonly response: HttpResponse }
  | { readonly status: 0; readonly cause: string }
  /** An answer no registry should give (http.ts BadAnswer): not retried, exit 1. */
  | { readonly status: 0; readonly cause: string; readonly broken: string };

/** A probe's tighter limits: it must not hold a tag's lock for minutes against a stalled registry. */
export interface RequestLimits {
  readonly retries?: number;
  readonly timeoutSeconds?: number;
}

export const PROBE_LIMITS: RequestLimits = { retries: 0, timeoutSeconds: 15 };

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** The name of a network error (Node's system error code, or which time limit passed), for people only. */
function networkCause(error: unknown): string {
  if (error instanceof NoAnswer) return error.code;
  return (error as NodeJS.ErrnoException).code ?? (error as Error).name ?? "network error";
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Seconds a Retry-After header asks for (RFC 9110 §10.2.3: delay-seconds), when it gives a usable number. */
function retryAfter(response: HttpResponse): number | undefined {
  const value = response.header("retry-after");
  return value !== null && /^[0-9]{1,3}$/.test(value.trim()) ? Math.min(Number(value), 60) : undefined;
}

export class RegistryClient {
  readonly baseUrl: string;
  private readonly limiter = new Limiter(LIMITS.registryParallelism);

  constructor(
    readonly side: Side,
    readonly host: string,
    tlsVerify: boolean,
    private readonly credentials: RegistryCredentials,
    private readonly retryDelayMs: (attempt: number) => number = (attempt) => 1000 * 2 ** attempt,
  ) {
    this.baseUrl = `${tlsVerify ? "https" : "http"}://${host}`;
  }

  /**
   * One request, retried like curl --retry 3 (a timeout, 408, 429, 5xx; 1, 2, 4 s apart or after
   * Retry-After), at most LIMITS.registryParallelism at once. A refused connection is not retried:
   * ECR answers behind load balancers, so it is a broken network path, which seconds do not mend.
   * Each try must connect within LIMITS.connectTimeoutSeconds and be answered whole (`consume`
   * included) within its total time limit. A 401 or 403 asks the credentials for a newer password
   * once.
   */
  async request(
    path: string,
    init: HttpRequest = {},
    consume?: (response: HttpResponse) => Promise<void>,
    limits: RequestLimits = {},
  ): Promise<Answer> {
    const retries = limits.retries ?? LIMITS.requestRetries;
    const timeoutSeconds = limits.timeoutSeconds ?? LIMITS.requestTimeoutSeconds;
    return this.limiter.run(async () => {
      let renewed = false;
      for (let attempt = 0; ; attempt++) {
        const token = await this.credentials.token();
        const step = `${this.side} ${init.method ?? "GET"} ${path}`;
        trace(`${step} start`);
        let answer: Answer;
        try {
          answer = await exchange(
            `${this.baseUrl}${path}`,
            { ...init, headers: { ...init.headers, Authorization: `Basic ${token}` } },
            { connectTimeoutSeconds: LIMITS.connectTimeoutSeconds, totalTimeoutSeconds: timeoutSeconds },
            async (response) => {
              if (consume && response.status < 300) await consume(response);
              return { status: response.status, response };
            },
          );
        } catch (error) {
          answer =
            error instanceof BadAnswer
              ? { status: 0, cause: error.code, broken: error.message }
              : { status: 0, cause: networkCause(error) };
        }
        trace(`${step} end ${answer.status}`);
        if ((answer.status === 401 || answer.status === 403) && !renewed) {
          renewed = true;
          if (await this.credentials.renew(token)) continue;
        }
        const retryable =
          "broken" in answer
            ? false
            : "cause" in answer
              ? answer.cause !== "ECONNREFUSED" && answer.cause !== "ENOTFOUND"
              : RETRY_STATUSES.has(answer.status);
        if (!retryable || attempt >= retries) return answer;
        const wait = "response" in answer ? retryAfter(answer.response) : undefined;
        await sleep(wait !== undefined ? wait * 1000 : this.retryDelayMs(attempt));
      }
    });
  }

  /**
   * The failure for an answer that is neither what was asked for nor a clean "no such thing",
   * naming the side, the registry and what was asked (`what`, e.g. "reading coeus:v1"); `hint`
   * follows an authentication failure. Never given a secret, so it prints none.
   */
  failure(answer: Answer, what: string, hint?: string): Failure {
    const registry = `${this.side} side: registry ${this.host}`;
    const then = hint ? `; ${hint}` : "";
    const retry = "not a credentials problem: run again once it answers";
    switch (true) {
      case answer.status === 401:
        return new Failure(EXIT.auth, `${registry} rejected the ECR password (HTTP 401) ${what}${then}`);
      case answer.status === 403:
        return new Failure(
          EXIT.auth,
          `${registry} denied access with the ECR password (HTTP 403) ${what}${then}`,
        );
      case "broken" in answer:
        return new Failure(
          EXIT.failed,
          `${registry} answered ${what} with ${"broken" in answer ? answer.broken : ""}, which a registry should not; not an outage: running again will not help`,
        );
      case answer.status === 0:
        return new Failure(
          EXIT.unavailable,
          `${registry} is unavailable (no answer: ${"cause" in answer ? answer.cause : "none"}) ${what}; ${retry}`,
        );
      case answer.status === 429:
        return new Failure(
          EXIT.unavailable,
          `${registry} is unavailable (HTTP 429: still throttling after ${LIMITS.requestRetries} retries) ${what}; not a credentials problem: run again later`,
        );
      case answer.status >= 500 && answer.status <= 599:
        return new Failure(
          EXIT.unavailable,
          `${registry} is unavailable (HTTP ${answer.status}, after ${LIMITS.requestRetries} retries) ${what}; ${retry}`,
        );
      default:
        return new Failure(
          EXIT.failed,
          `${registry} answered HTTP ${answer.status} ${what}, which a registry should not`,
        );
    }
  }

  /** GET /v2/: the registry accepts the password (the login check). */
  async checkLogin(hint: string): Promise<void> {
    const answer = await this.request("/v2/");
    if (answer.status !== 200) throw this.failure(answer, "at GET /v2/", hint);
  }

  /**
   * The digest a tag or digest names (HEAD, every manifest type accepted), from the
   * Docker-Content-Digest header. A 200 without one is a failure naming the registry, never "no
   * such manifest": it would otherwise read as a deleted source tag and copy nothing.
   */
  async manifestDigest(repository: string, reference: string, what: string): Promise<ManifestRead> {
    const answer = await this.request(`/v2/${repository}/manifests/${reference}`, {
      method: "HEAD",
      headers: { Accept: MANIFEST_TYPES },
    });
    if (answer.status === 404) return { kind: "missing" };
    if (answer.status !== 200) return { kind: "failed", failure: this.failure(answer, what) };
    const digest = answer.response.header("docker-content-digest");
    if (digest === null || !isImageDigest(digest)) {
      return {
        kind: "failed",
        failure: new Failure(
          EXIT.failed,
          `${this.side} side: registry ${this.host} answered HTTP 200 ${what} without a valid Docker-Content-Digest header (${digest === null ? "none" : "not sha256:HEX"}): cannot tell which image it holds; nothing copied`,
        ),
      };
    }
    const mediaType = (answer.response.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    return { kind: "found", digest, mediaType };
  }

  /** manifestDigest of each reference, a few at a time, in the order asked. */
  manifestDigests(
    repository: string,
    references: readonly string[],
    what: (reference: string) => string,
  ): Promise<ManifestRead[]> {
    return Promise.all(
      references.map((reference) => this.manifestDigest(repository, reference, what(reference))),
    );
  }

  /** A manifest's bytes and media type (GET), for the probes after a failed copy. */
  async manifest(
    repository: string,
    reference: string,
    what: string,
    limits: RequestLimits = PROBE_LIMITS,
  ): Promise<{ body: Buffer; mediaType: string } | Failure | undefined> {
    let body: Buffer = Buffer.alloc(0);
    const answer = await this.request(
      `/v2/${repository}/manifests/${reference}`,
      { headers: { Accept: MANIFEST_TYPES } },
      async (response) => {
        body = await readBody(response.body);
      },
      limits,
    );
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) return this.failure(answer, what);
    return { body, mediaType: answer.response.header("content-type") ?? "" };
  }

  /** PUT a manifest by its digest (no tag moves): the probe of the target's write path. */
  async putManifestByDigest(
    repository: string,
    digest: string,
    manifest: { body: Buffer; mediaType: string },
  ): Promise<Answer> {
    return this.request(
      `/v2/${repository}/manifests/${digest}`,
      {
        method: "PUT",
        headers: { "Content-Type": manifest.mediaType },
        body: manifest.body,
      },
      undefined,
      PROBE_LIMITS,
    );
  }

  /**
   * Whether a blob arrives whole: its bytes' sha256 is its digest. undefined when it does, else
   * the failure (a connection cut short, a short or wrong body).
   */
  async checkBlob(repository: string, digest: string, what: string): Promise<Failure | undefined> {
    let actual = "";
    let bytes = 0;
    const answer = await this.request(
      `/v2/${repository}/blobs/${digest}`,
      {},
      async (response) => {
        const hash = createHash("sha256");
        for await (const chunk of response.body) {
          hash.update(chunk as Uint8Array);
          bytes += (chunk as Uint8Array).length;
        }
        actual = `sha256:${hash.digest("hex")}`;
      },
      { retries: 0 },
    );
    if (answer.status !== 200) return this.failure(answer, what);
    if (actual !== digest) {
      return new Failure(
        EXIT.unavailable,
        `${this.side} side: registry ${this.host} served blob ${digest} cut short or changed (${bytes} bytes, sha256 ${actual}) ${what}; run again once it serves it whole`,
      );
    }
    return undefined;
  }

  /**
   * Every tag of a repository (GET /v2/NAME/tags/list, page after page by the Link header, RFC
   * 8288). A next page must stay on this registry, under this repository's tag list, and differ
   * from the page just read: the password goes with every request. A repository the registry does
   * not know is exit 5.
   */
  async listTags(repository: string): Promise<string[]> {
    const listPath = `/v2/${repository}/tags/list`;
    const tags: string[] = [];
    let path: string | undefined = `${listPath}?n=${LIMITS.tagPageSize}`;
    const read = new Set<string>();
    while (path !== undefined) {
      read.add(path);
      let page: unknown;
      const answer = await this.request(
        path,
        { headers: { Accept: "application/json" } },
        async (response) => {
          const body = await readBody(response.body);
          try {
            page = JSON.parse(body.toString("utf8"));
          } catch {
            page = undefined;
          }
        },
      );
      if (answer.status === 404) {
        throw new Failure(
          EXIT.notFound,
          `source repository '${repository}' does not exist in the source registry ${this.host}`,
        );
      }
      if (answer.status !== 200) {
        const failure = this.failure(answer, `listing the tags of ${repository}`);
        throw new Failure(
          failure.code,
          `cannot list the tags of ${this.host}/${repository}: ${failure.message}`,
        );
      }
      const pageTags = (page as { tags?: unknown } | undefined)?.tags;
      if (page === undefined || (pageTags !== undefined && pageTags !== null && !Array.isArray(pageTags))) {
        throw new Failure(
          EXIT.failed,
          `${this.side} side: registry ${this.host} answered the tag list of ${repository} with something that is not a tag list`,
        );
      }
      for (const tag of (pageTags as unknown[] | null | undefined) ?? [])
        if (typeof tag === "string") tags.push(tag);
      const link = nextLink(answer.status === 200 ? answer.response.header("link") : null);
      let next = link;
      if (next !== undefined && next.startsWith("?")) next = `${listPath}${next}`;
      if (next !== undefined && next.startsWith(this.baseUrl)) next = next.slice(this.baseUrl.length);
      if (next !== undefined && !next.startsWith(`${listPath}?`)) {
        throw new Failure(
          EXIT.failed,
          `${this.side} side: registry ${this.host} named a next page of ${repository}'s tags elsewhere (${link}): not followed`,
        );
      }
      // A page already read (this one, or an earlier one: a loop) would be read forever.
      if (next !== undefined && read.has(next)) {
        throw new Failure(
          EXIT.failed,
          `${this.side} side: registry ${this.host} named the same page of ${repository}'s tags as the next one again (${link}): stopped`,
        );
      }
      path = next;
    }
    return tags;
  }
}

/**
 * The target of a Link header's rel="next" link (RFC 8288 §3: links separated by commas, each
 * `<URI>` then parameters; rel's value quoted or not, one or more space-separated types;
 * parameter names case-insensitive). Node joins several Link headers with ", ".
 */
export function nextLink(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const link of header.match(/<[^>]*>[^,<]*/g) ?? []) {
    const target = /^<([^>]*)>/.exec(link)?.[1];
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i.exec(link);
    const types = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (target !== undefined && types.includes("next")) return target;
  }
  return undefined;
}

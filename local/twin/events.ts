/**
 * Turns pushes to the css registry into the events ECR emits for them. The registry's own push
 * notifications (distribution's `notifications`) are the source: one per manifest stored, the
 * platform manifests of an index first and untagged, then the index with its tag. ECR sends one
 * "ECR Image Action" event per manifest in the same way (docs: "Amazon ECR events and
 * EventBridge"): `image-tag` only on the tagged one.
 *
 * One difference, the stand-in's: docker-registry 2.8 has no referrers API, so a client attaching a
 * signature by subject (cosign, oras) also writes the referrers tag `sha256-HEX` there, and the
 * registry notifies that tagged push. ECR has the API ("Amazon ECR support for OCI v1.1 ... the
 * OCI Referrers API", https://docs.aws.amazon.com/AmazonECR/latest/userguide/images.html), so
 * clients write no such tag in css, and ECR sends no event for one: the listener drops it. The
 * signature's own push, by digest and untagged, is passed on as ECR's untagged event.
 */
import * as http from "node:http";
import { isReferrersTag } from "../../common/naming";
import { MEDIA_TYPES } from "../oci";

/** One manifest push as the registry reports it. */
export interface ManifestPush {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  /** Present when the manifest was pushed by tag. */
  readonly tag?: string;
  /** The registry's time of the push (ISO 8601). */
  readonly timestamp: string;
}

/** A PutEvents entry (the JSON protocol's field names). */
export interface PutEventsEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Resources: string[];
  readonly Time: number;
}

const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.index,
  MEDIA_TYPES.manifest,
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

interface RegistryEnvelope {
  events?: Array<{
    action?: string;
    timestamp?: string;
    target?: { mediaType?: string; digest?: string; repository?: string; tag?: string };
  }>;
}

export interface PushListener {
  /** Where the registry posts its notifications. */
  readonly url: string;
  /** Forgets what arrived so far (the deploy's placeholder pushes). */
  reset(): void;
  /**
   * The manifest pushes to `repository` since the last reset, up to and including the one that
   * tagged `tag`: waits for that one, failing after `timeoutMs` naming what did arrive.
   */
  pushesUntilTagged(repository: string, tag: string, timeoutMs?: number): Promise<ManifestPush[]>;
  /** Calls `listener` with each tagged manifest push from now on (a person's own pushes, with --keep). */
  onTagged(listener: (push: ManifestPush) => void): void;
  stop(): Promise<void>;
}

export async function startPushListener(): Promise<PushListener> {
  let pushes: ManifestPush[] = [];
  const waiters = new Set<() => void>();
  const taggedListeners: Array<(push: ManifestPush) => void> = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      try {
        for (const event of (JSON.parse(body) as RegistryEnvelope).events ?? []) {
          const target = event.target ?? {};
          if (event.action !== "push" || !MANIFEST_TYPES.has(target.mediaType ?? "")) continue;
          if (target.tag !== undefined && isReferrersTag(target.tag)) continue;
          const push: ManifestPush = {
            repository: target.repository ?? "",
            digest: target.digest ?? "",
            mediaType: target.mediaType ?? "",
            ...(target.tag ? { tag: target.tag } : {}),
            timestamp: event.timestamp ?? new Date().toISOString(),
          };
          pushes.push(push);
          if (push.tag !== undefined) for (const listener of taggedListeners) listener(push);
        }
      } finally {
        response.end();
        for (const wake of waiters) wake();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address() as { port: number };
  const tagged = (repository: string, tag: string) =>
    pushes.findIndex((p) => p.repository === repository && p.tag === tag);
  return {
    url: `http://127.0.0.1:${address.port}/events`,
    reset() {
      pushes = [];
    },
    async pushesUntilTagged(repository, tag, timeoutMs = 10000) {
      if (tagged(repository, tag) < 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(wake);
            const seen = pushes.map((p) => `${p.repository}@${p.digest}${p.tag ? `:${p.tag}` : ""}`);
            reject(
              new Error(
                `the css registry sent no push notification for ${repository}:${tag} within ${timeoutMs} ms (got: ${seen.join(", ") || "none"})`,
              ),
            );
          }, timeoutMs);
          const wake = () => {
            if (tagged(repository, tag) < 0) return;
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        });
      }
      // Taken: a later push of the same repository starts after this one.
      const taken = pushes.slice(0, tagged(repository, tag) + 1).filter((p) => p.repository === repository);
      pushes = pushes.filter((p) => !taken.includes(p));
      return taken;
    },
    onTagged(listener) {
      taggedListeners.push(listener);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The "ECR Image Action" event ECR emits for one manifest push. */
export function ecrImageAction(push: ManifestPush): PutEventsEntry {
  return {
    Source: "aws.ecr",
    DetailType: "ECR Image Action",
    Detail: JSON.stringify({
      result: "SUCCESS",
      "repository-name": push.repository,
      "image-digest": push.digest,
      "action-type": "PUSH",
      ...(push.tag === undefined ? {} : { "image-tag": push.tag }),
      "manifest-media-type": push.mediaType,
    }),
    Resources: [],
    Time: Math.floor(Date.parse(push.timestamp) / 1000),
  };
}

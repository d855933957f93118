import { createHash } from "node:crypto";
import * as http from "node:http";
import { AddressInfo } from "node:net";

/**
 * A hand-written stand-in, named as such: the OCI 1.1 referrers API in front of a real
 * docker-registry 2.8 (which has none), for the tests of the copier's API path. Modelled on the
 * distribution spec 1.1 (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md):
 * - `PUT /v2/NAME/manifests/REF` of a manifest with a `subject` is stored by the registry behind,
 *   answered with `OCI-Subject: <subject digest>` (so clients leave the referrers tag alone), and
 *   indexed here; with `refuseIndexSubjects`, one whose subject is an image index is refused with
 *   405, as ECR refuses some (aws/containers-roadmap#2783);
 * - `GET /v2/NAME/referrers/DIGEST` answers an image index of what was indexed for that subject
 *   (empty when none), after the registry behind accepted the same credentials;
 * - everything else goes to the registry unchanged (Host header as sent, so its upload URLs point
 *   back here), both bodies streamed.
 */
export interface ReferrersFront {
  /** 127.0.0.1:PORT */
  readonly host: string;
  /** Referrer listings served (GET …/referrers/…), in order: "NAME@DIGEST". */
  readonly listings: string[];
  stop(): Promise<void>;
}

const INDEX = "application/vnd.oci.image.index.v1+json";
const INDEX_TYPES = new Set([INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"]);

export async function startReferrersFront(
  upstream: string,
  options: { refuseIndexSubjects?: boolean } = {},
): Promise<ReferrersFront> {
  const [upstreamHost, upstreamPort] = upstream.split(":");
  const indexed = new Map<string, Array<Record<string, unknown>>>();
  const listings: string[] = [];

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer | undefined,
    extraHeaders: Record<string, string> = {},
    onStored?: () => void,
  ) => {
    const out = http.request(
      {
        host: upstreamHost,
        port: Number(upstreamPort),
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        if (answer.statusCode !== undefined && answer.statusCode < 300) onStored?.();
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extraHeaders });
        answer.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    if (body === undefined) req.pipe(out);
    else out.end(body);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const referrers = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})(?:\?.*)?$/.exec(url);
    if (referrers && req.method === "GET") {
      // The same credentials must open the registry behind.
      const check = http.request(
        {
          host: upstreamHost,
          port: Number(upstreamPort),
          method: "GET",
          path: "/v2/",
          headers: { authorization: req.headers.authorization ?? "" },
        },
        (answer) => {
          answer.resume();
          if (answer.statusCode !== 200) {
            res.writeHead(answer.statusCode ?? 502, {
              "www-authenticate": String(answer.headers["www-authenticate"] ?? ""),
            });
            res.end();
            return;
          }
          listings.push(`${referrers[1]}@${referrers[2]}`);
          const body = JSON.stringify({
            schemaVersion: 2,
            mediaType: INDEX,
            manifests: indexed.get(`${referrers[1]}@${referrers[2]}`) ?? [],
          });
          res.writeHead(200, { "content-type": INDEX, "content-length": Buffer.byteLength(body) });
          res.end(body);
        },
      );
      check.on("error", () => res.destroy());
      check.end();
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(url);
    if (!(manifest && req.method === "PUT")) {
      forward(req, res, undefined);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      } catch {
        // Not JSON: the registry behind says what it thinks of it.
      }
      const subject = parsed.subject as { digest?: string; mediaType?: string } | undefined;
      if (subject?.digest === undefined) {
        forward(req, res, body);
        return;
      }
      if (options.refuseIndexSubjects && INDEX_TYPES.has(subject.mediaType ?? "")) {
        const refusal = JSON.stringify({
          errors: [
            { code: "UNSUPPORTED", message: "stand-in: a referrer of an image index is not accepted" },
          ],
        });
        res.writeHead(405, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(refusal),
        });
        res.end(refusal);
        return;
      }
      const config = parsed.config as { mediaType?: string } | undefined;
      const descriptor = {
        mediaType: parsed.mediaType ?? String(req.headers["content-type"] ?? ""),
        digest: `sha256:${createHash("sha256").update(body).digest("hex")}`,
        size: body.length,
        artifactType: parsed.artifactType ?? config?.mediaType ?? "",
        ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
      };
      const key = `${manifest[1]}@${subject.digest}`;
      forward(req, res, body, { "oci-subject": subject.digest }, () => {
        const list = indexed.get(key) ?? [];
        if (!list.some((d) => d.digest === descriptor.digest)) list.push(descriptor);
        indexed.set(key, list);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    listings,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A minimal registry API v2 client over node:http for `npm run bench`: the plain-HTTP baseline
 * (each blob streamed from the source registry straight into an upload to the target registry,
 * never held whole in memory), and quick seeding of many small images without a tool start per
 * image. Basic auth, plain HTTP: the local test registries only.
 */
import http from "node:http";
import { pipeline } from "node:stream/promises";
import { sha256Digest } from "../../local/oci";
import { MANIFEST_ACCEPT } from "../../local/registry";

/** A registry and the password of user AWS (the ECR convention). */
export interface Endpoint {
  /** host:port */
  readonly host: string;
  readonly password: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

const authorization = (endpoint: Endpoint) =>
  `Basic ${Buffer.from(`AWS:${endpoint.password}`).toString("base64")}`;

function url(endpoint: Endpoint, path: string): URL {
  return new URL(path, `http://${endpoint.host}`);
}

interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request with an in-memory body (small things: manifests, configs, upload starts). */
function request(
  endpoint: Endpoint,
  method: string,
  target: URL,
  headers: Record<string, string | number> = {},
  body?: Buffer,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      { method, agent, headers: { Authorization: authorization(endpoint), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function expectStatus(response: Response, status: number, what: string): void {
  if (response.status !== status) {
    throw new Error(
      `${what}: HTTP ${response.status}, expected ${status}: ${response.body.toString("utf8").slice(0, 300)}`,
    );
  }
}

/** POST /v2/<repo>/blobs/uploads/ → the upload URL to PUT to. */
async function startUpload(endpoint: Endpoint, repository: string): Promise<URL> {
  const response = await request(endpoint, "POST", url(endpoint, `/v2/${repository}/blobs/uploads/`), {
    "Content-Length": 0,
  });
  expectStatus(response, 202, `start upload to ${endpoint.host}/${repository}`);
  const location = response.headers.location;
  if (!location) throw new Error(`start upload to ${endpoint.host}/${repository}: no Location header`);
  return url(endpoint, location);
}

/** Monolithic upload of a small blob held in memory; returns its digest. */
export async function uploadBlob(endpoint: Endpoint, repository: string, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  const target = await startUpload(endpoint, repository);
  target.searchParams.set("digest", digest);
  const response = await request(
    endpoint,
    "PUT",
    target,
    { "Content-Type": "application/octet-stream", "Content-Length": bytes.length },
    bytes,
  );
  expectStatus(response, 201, `upload ${digest} to ${endpoint.host}/${repository}`);
  return digest;
}

export async function putManifest(
  endpoint: Endpoint,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
): Promise<string> {
  const response = await request(
    endpoint,
    "PUT",
    url(endpoint, `/v2/${repository}/manifests/${reference}`),
    { "Content-Type": mediaType, "Content-Length": bytes.length },
    bytes,
  );
  expectStatus(response, 201, `put manifest ${endpoint.host}/${repository}:${reference}`);
  return sha256Digest(bytes);
}

export async function getManifest(
  endpoint: Endpoint,
  repository: string,
  reference: string,
): Promise<{ bytes: Buffer; mediaType: string }> {
  const response = await request(endpoint, "GET", url(endpoint, `/v2/${repository}/manifests/${reference}`), {
    Accept: MANIFEST_ACCEPT,
  });
  expectStatus(response, 200, `get manifest ${endpoint.host}/${repository}:${reference}`);
  const mediaType = String(response.headers["content-type"] ?? "");
  return { bytes: response.body, mediaType };
}

/**
 * Streams one blob: GET from the source piped into a monolithic PUT to the target (chunked
 * transfer encoding, the body never buffered whole). Returns the bytes moved.
 */
export async function streamBlob(
  source: Endpoint,
  sourceRepository: string,
  target: Endpoint,
  targetRepository: string,
  digest: string,
): Promise<number> {
  const uploadUrl = await startUpload(target, targetRepository);
  uploadUrl.searchParams.set("digest", digest);
  const download = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(
      url(source, `/v2/${sourceRepository}/blobs/${digest}`),
      { agent, headers: { Authorization: authorization(source) } },
      resolve,
    );
    req.on("error", reject);
  });
  if (download.statusCode !== 200) {
    download.resume();
    throw new Error(
      `GET blob ${digest} from ${source.host}/${sourceRepository}: HTTP ${download.statusCode}`,
    );
  }
  let moved = 0;
  download.on("data", (chunk: Buffer) => (moved += chunk.length));
  const upload = http.request(uploadUrl, {
    method: "PUT",
    agent,
    headers: {
      Authorization: authorization(target),
      "Content-Type": "application/octet-stream",
      "Transfer-Encoding": "chunked",
    },
  });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    upload.on("response", resolve);
    upload.on("error", reject);
  });
  // Awaited together: when the upload fails, both reject, and neither may go unhandled.
  const [, response] = await Promise.all([pipeline(download, upload), answered]);
  response.resume();
  if (response.statusCode !== 201)
    throw new Error(`PUT blob ${digest} to ${target.host}/${targetRepository}: HTTP ${response.statusCode}`);
  return moved;
}

interface ManifestBody {
  readonly config: { readonly digest: string };
  readonly layers: ReadonlyArray<{ readonly digest: string }>;
}

/**
 * The plain-HTTP baseline for one single-platform image: read its manifest, stream every blob
 * (config and layers, all at once, as skopeo copies layers in parallel) from source to target,
 * then put the manifest. Returns the blob bytes moved.
 */
export async function httpCopyImage(
  source: Endpoint,
  sourceRepository: string,
  target: Endpoint,
  targetRepository: string,
  tag: string,
): Promise<number> {
  const manifest = await getManifest(source, sourceRepository, tag);
  const body = JSON.parse(manifest.bytes.toString("utf8")) as ManifestBody;
  if (!body.config || !Array.isArray(body.layers))
    throw new Error(`${sourceRepository}:${tag} is not a single-platform image manifest`);
  const digests = [body.config.digest, ...body.layers.map((layer) => layer.digest)];
  const moved = await Promise.all(
    digests.map((digest) => streamBlob(source, sourceRepository, target, targetRepository, digest)),
  );
  await putManifest(target, targetRepository, tag, manifest.bytes, manifest.mediaType);
  return moved.reduce((a, b) => a + b, 0);
}

/** Closes idle keep-alive sockets so the process can exit. */
export function closeConnections(): void {
  agent.destroy();
}

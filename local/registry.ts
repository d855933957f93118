import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./ports";

/** One request from the registry's access log (Apache combined format). */
export interface AccessLogEntry {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** Bytes of the response body the registry reported for this request. */
  readonly bytes: number;
}

/** Layer (blob) traffic seen by one registry between two points of its access log. */
export interface BlobTraffic {
  /** Successful `GET /v2/<repo>/blobs/<digest>` requests: blobs sent to a client. */
  readonly blobDownloads: number;
  readonly blobDownloadBytes: number;
  /** Completed blob uploads (`PUT /v2/<repo>/blobs/uploads/…?digest=…`): blobs received. */
  readonly blobUploads: number;
  /** Size of the received blobs, read from the registry's storage. */
  readonly blobUploadBytes: number;
}

export interface RegistryOptions {
  /** Users accepted by the registry's htpasswd file: user name → password. */
  readonly users: Readonly<Record<string, string>>;
  /** Shown in errors and in the temp dir name. Default "registry". */
  readonly name?: string;
  /**
   * An HTTP endpoint the registry POSTs its notification envelopes to (distribution's
   * `notifications`: one event per blob or manifest pushed or pulled). Default: none.
   */
  readonly notificationsUrl?: string;
}

export interface Registry {
  /** 127.0.0.1:PORT, what skopeo and ECR_SYNC_*_REGISTRY expect. */
  readonly host: string;
  /** The registry's storage root (docker/registry/v2/… below it). */
  readonly storageDir: string;
  /** Every request logged so far. */
  accessLog(): Promise<AccessLogEntry[]>;
  /** A position in the access log, to measure traffic from now on. */
  mark(): Promise<number>;
  /** Blob traffic since `mark` (default: since start). */
  blobTraffic(mark?: number): Promise<BlobTraffic>;
  /**
   * The digest a tag resolves to (Docker-Content-Digest of the stored manifest, index or image),
   * or undefined when the repository or tag does not exist.
   */
  digestOf(repository: string, reference: string): Promise<string | undefined>;
  /** The repository's tags ([] when the repository does not exist). */
  tags(repository: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Every manifest type the registry may hold, so it never converts on read. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const ACCESS_LOG_LINE = /^\S+ \S+ \S+ \[[^\]]+\] "(\w+) (\S+) [^"]*" (\d{3}) (\d+|-)/;
const BLOB_GET = /^\/v2\/.+\/blobs\/sha256:[a-f0-9]{64}$/;
const BLOB_UPLOAD_DONE = /^\/v2\/.+\/blobs\/uploads\/[^/]+$/;

/**
 * Starts a real `docker-registry serve CONFIG.yml` (distribution 2.8) on a free loopback port,
 * plain HTTP, htpasswd (bcrypt, cost 4) basic auth for `options.users`, access log on, storage in a
 * temp dir. Fails naming the tool when docker-registry or htpasswd is not installed.
 */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const name = options.name ?? "registry";
  const dir = await mkdtemp(join(tmpdir(), `ecr-sync-${name}-`));
  const storageDir = join(dir, "storage");
  const htpasswdFile = join(dir, "htpasswd");
  const configFile = join(dir, "config.yml");
  const logFile = join(dir, "access.log");
  const port = await freePort();
  const host = `127.0.0.1:${port}`;

  await writeFile(htpasswdFile, "");
  for (const [user, password] of Object.entries(options.users)) {
    await htpasswd(htpasswdFile, user, password);
  }
  await writeFile(
    configFile,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: false",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storageDir}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
      `  secret: ${name}-test-secret`,
      "auth:",
      "  htpasswd:",
      `    realm: ${name}`,
      `    path: ${htpasswdFile}`,
      ...(options.notificationsUrl === undefined
        ? []
        : [
            "notifications:",
            "  endpoints:",
            `    - name: ${name}-listener`,
            `      url: ${options.notificationsUrl}`,
            "      timeout: 5s",
            "      threshold: 3",
            // Retries of a failed delivery come quickly: a listener that was busy is not down.
            "      backoff: 100ms",
          ]),
      "",
    ].join("\n"),
  );

  const logFd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn("docker-registry", ["serve", configFile], { stdio: ["ignore", logFd, "pipe"] });
  } finally {
    closeSync(logFd);
  }
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const authHeader = (() => {
    const [user, password] = Object.entries(options.users)[0] ?? ["", ""];
    return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  })();

  const registry: Registry = {
    host,
    storageDir,
    async accessLog() {
      const text = await readFile(logFile, "utf8");
      const entries: AccessLogEntry[] = [];
      for (const line of text.split("\n")) {
        const match = ACCESS_LOG_LINE.exec(line);
        if (!match) continue;
        const [pathPart, query = ""] = match[2].split("?", 2);
        entries.push({
          method: match[1],
          path: pathPart,
          query,
          status: Number(match[3]),
          bytes: match[4] === "-" ? 0 : Number(match[4]),
        });
      }
      return entries;
    },
    async mark() {
      return (await registry.accessLog()).length;
    },
    async blobTraffic(mark = 0) {
      const entries = (await registry.accessLog()).slice(mark);
      let blobDownloads = 0;
      let blobDownloadBytes = 0;
      let blobUploads = 0;
      let blobUploadBytes = 0;
      for (const entry of entries) {
        if (entry.method === "GET" && entry.status === 200 && BLOB_GET.test(entry.path)) {
          blobDownloads += 1;
          blobDownloadBytes += entry.bytes;
        }
        const uploadedDigest = new URLSearchParams(entry.query).get("digest");
        if (
          entry.method === "PUT" &&
          entry.status === 201 &&
          BLOB_UPLOAD_DONE.test(entry.path) &&
          uploadedDigest
        ) {
          blobUploads += 1;
          blobUploadBytes += await blobSize(storageDir, uploadedDigest);
        }
      }
      return { blobDownloads, blobDownloadBytes, blobUploads, blobUploadBytes };
    },
    async digestOf(repository, reference) {
      const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
        method: "HEAD",
        headers: { Accept: MANIFEST_ACCEPT, Authorization: authHeader },
      });
      if (response.status === 404) return undefined;
      if (!response.ok)
        throw new Error(`${name} registry: HEAD ${repository}:${reference} → HTTP ${response.status}`);
      return response.headers.get("docker-content-digest") ?? undefined;
    },
    async tags(repository) {
      const response = await fetch(`http://${host}/v2/${repository}/tags/list`, {
        headers: { Authorization: authHeader },
      });
      if (response.status === 404) return [];
      if (!response.ok) throw new Error(`${name} registry: tags of ${repository} → HTTP ${response.status}`);
      const body = (await response.json()) as { tags: string[] | null };
      return [...(body.tags ?? [])].sort();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(`docker-registry (${name}) on ${host}`, async () => {
      if (spawnError) throw new Error(missingTool("docker-registry", spawnError));
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      const response = await fetch(`http://${host}/v2/`);
      return response.status === 401 || response.ok;
    });
  } catch (error) {
    await registry.stop();
    throw error;
  }
  return registry;
}

async function htpasswd(file: string, user: string, password: string): Promise<void> {
  // -i reads the password from stdin; bcrypt (-B) is the only scheme distribution accepts. It
  // checks the password on every request, so the cost is bcrypt's lowest (-C 4; htpasswd's
  // default is 5): ECR checks its passwords on AWS's side, and each step of cost doubled a check
  // that took a millisecond of the 2-core machine the copier, the registries and the bench share.
  await new Promise<void>((resolve, reject) => {
    const child = spawn("htpasswd", ["-B", "-C", "4", "-i", file, user], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) =>
      reject(new Error(missingTool("htpasswd (Debian package apache2-utils)", error))),
    );
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`htpasswd failed: ${stderr}`))));
    child.stdin.end(password);
  });
}

async function blobSize(storageDir: string, digest: string): Promise<number> {
  const hex = digest.replace(/^sha256:/, "");
  const file = join(storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
  return (await stat(file)).size;
}

/** How to get each tool the tests run (the Debian packages are the ones .ci/run installs). */
const INSTALL_HINTS: Readonly<Record<string, string>> = {
  "docker-registry": "apt-get install docker-registry",
  skopeo: "apt-get install skopeo",
  htpasswd: "apt-get install apache2-utils",
  flock: "apt-get install util-linux",
  shellcheck: "apt-get install shellcheck",
  aws: "pip install awscli, or your distribution's AWS CLI",
  moto_server: "pip install 'moto[server]'",
};

function installHint(tool: string): string {
  return `${tool}: ${INSTALL_HINTS[tool] ?? "see the README's quick start"}`;
}

/** The error text for a tool that is not installed: names it and how to get it, never skips. */
export function missingTool(tool: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT"
    ? `required tool not found on PATH: ${tool} (${installHint(tool)})`
    : `${tool}: ${String(error)}`;
}

/** Where `tool` is on PATH ("" when it is not): what a test's wrapper on PATH execs. */
export function toolPath(tool: string): string {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool], { encoding: "utf8" }).stdout.trim();
}

/** Fails with a clear message naming every required tool that is not on PATH. */
export async function requireTools(...tools: string[]): Promise<void> {
  const missing = tools.filter((tool) => toolPath(tool) === "");
  if (missing.length > 0) {
    throw new Error(
      `required tools not found on PATH: ${missing.join(", ")} (${missing.map(installHint).join("; ")})`,
    );
  }
}

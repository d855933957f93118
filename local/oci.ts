import { execFile } from "node:child_process";
import { createHash, createCipheriv, randomBytes, randomUUID, Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import { missingTool } from "./registry";

/**
 * Test images without Docker: OCI image layouts written from Node (gzip'd tar layers of
 * pseudo-random bytes, image configs, manifests, multi-platform indexes), pushed to a registry
 * with skopeo. Shared by the copier's integration tests and the benchmark.
 */

const execFileAsync = promisify(execFile);

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
}

export interface LayerSpec {
  /** Bytes of content in the layer (one file in a tar, gzip'd with level 0: the blob is a little larger). */
  readonly size: number;
  /**
   * Deterministic content: the same seed and size always give the same blob, so two images
   * listing the same {seed, size} share that layer. Omitted: fresh random content.
   */
  readonly seed?: string;
}

export interface ImageSpec {
  readonly layers: readonly LayerSpec[];
  /** Default linux/amd64. */
  readonly platform?: Platform;
  /** Goes into the config's labels: tells apart images that share all layers. Default: random. */
  readonly label?: string;
}

export interface BuiltImage extends Descriptor {
  readonly kind: "image";
  readonly platform: Platform;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface BuiltIndex extends Descriptor {
  readonly kind: "index";
  readonly images: readonly BuiltImage[];
}

export type BuiltArtifact = BuiltImage | BuiltIndex;

export interface PushTarget {
  /** host[:port] of a plain-HTTP registry. */
  readonly registry: string;
  readonly repository: string;
  /** The tag to push; none: pushed by its digest alone (untagged, as a pipeline that signs before it tags). */
  readonly tag?: string;
  readonly username: string;
  readonly password: string;
}

const CHUNK = 1 << 20;

/** The content digest of a blob, manifest or config: "sha256:" and the hex SHA-256 of the bytes. */
export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The descriptor of `bytes` stored as a blob of `mediaType`. */
export function descriptorOf(mediaType: string, bytes: Buffer): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length };
}

/** An image config: the platform, one label (tells apart images that share every layer), the layers' diff ids. */
export function imageConfig(platform: Platform, label: string, diffIds: readonly string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Labels: { "ecr-sync.test/label": label } },
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
}

/** A single-platform OCI image manifest over a config and layers already described. */
export function imageManifest(config: Descriptor, layers: readonly Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers }));
}

/** A login skopeo reads from an auth file. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/**
 * Writes a containers-auth.json (skopeo's --authfile) with one login per registry host,
 * readable by the owner only: it holds passwords.
 */
export async function writeAuthFile(file: string, logins: Readonly<Record<string, Login>>): Promise<void> {
  const auths = Object.fromEntries(
    Object.entries(logins).map(([registry, { username, password }]) => [
      registry,
      { auth: Buffer.from(`${username}:${password}`).toString("base64") },
    ]),
  );
  await writeFile(file, JSON.stringify({ auths }), { mode: 0o600 });
  await chmod(file, 0o600);
}

/** An OCI image layout directory (oci-layout, index.json, blobs/sha256/…). */
export class OciLayout {
  private readonly refs = new Map<string, Descriptor>();
  /** Index writes run one after another, so a later write never lands under an earlier one. */
  private indexWrites: Promise<void> = Promise.resolve();

  private constructor(public readonly dir: string) {}

  /** Creates an empty layout in `dir`, or in a new temp dir. */
  static async create(dir?: string): Promise<OciLayout> {
    const root = dir ?? (await mkdtemp(join(tmpdir(), "ecr-sync-oci-")));
    await mkdir(join(root, "blobs", "sha256"), { recursive: true });
    await writeFile(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const layout = new OciLayout(root);
    await layout.writeIndex();
    return layout;
  }

  /** Writes one layer blob (see LayerSpec) and returns its descriptor and diff id. */
  async addLayer(spec: LayerSpec): Promise<{ descriptor: Descriptor; diffId: string }> {
    const key = spec.seed === undefined ? randomBytes(32) : createHash("sha256").update(spec.seed).digest();
    const name =
      spec.seed === undefined
        ? `random-${randomUUID()}.bin`
        : `seed-${createHash("sha256").update(spec.seed).digest("hex").slice(0, 16)}.bin`;
    const tarHash = createHash("sha256");
    const blobHash = createHash("sha256");
    let blobSize = 0;
    const temp = join(this.dir, "blobs", `.tmp-${randomUUID()}`);
    await pipeline(
      Readable.from(tarOfOneFile(name, spec.size, key)),
      hashing(tarHash),
      createGzip({ level: 0 }),
      hashing(blobHash, (n) => (blobSize += n)),
      createWriteStream(temp),
    );
    const digest = `sha256:${blobHash.digest("hex")}`;
    await rename(temp, this.blobPath(digest));
    return {
      descriptor: { mediaType: MEDIA_TYPES.layer, digest, size: blobSize },
      diffId: `sha256:${tarHash.digest("hex")}`,
    };
  }

  /** Writes a single-platform image: its layers, config and manifest. */
  async addImage(spec: ImageSpec): Promise<BuiltImage> {
    const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const layerSpec of spec.layers) {
      const { descriptor, diffId } = await this.addLayer(layerSpec);
      layers.push(descriptor);
      diffIds.push(diffId);
    }
    const config = await this.addBlob(
      MEDIA_TYPES.config,
      imageConfig(platform, spec.label ?? randomUUID(), diffIds),
    );
    const manifest = await this.addBlob(MEDIA_TYPES.manifest, imageManifest(config, layers));
    return { kind: "image", ...manifest, platform, config, layers };
  }

  /** Writes a multi-platform index over images already in this layout. */
  async addIndex(images: readonly BuiltImage[]): Promise<BuiltIndex> {
    const index = await this.addJson(MEDIA_TYPES.index, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: images.map((image) => ({
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        platform: image.platform,
      })),
    });
    return { kind: "index", ...index, images };
  }

  /** Convenience: one image per platform (layers per spec, each with fresh content unless seeded) and their index. */
  async addMultiArch(
    platforms: readonly Platform[],
    layers: readonly LayerSpec[],
    label?: string,
  ): Promise<BuiltIndex> {
    const images: BuiltImage[] = [];
    for (const platform of platforms) {
      images.push(
        await this.addImage({
          platform,
          label:
            label === undefined ? undefined : `${label}-${platform.architecture}${platform.variant ?? ""}`,
          layers: layers.map((layer) =>
            layer.seed === undefined
              ? layer
              : { ...layer, seed: `${layer.seed}/${platform.architecture}${platform.variant ?? ""}` },
          ),
        }),
      );
    }
    return this.addIndex(images);
  }

  /** Names `artifact` in index.json (org.opencontainers.image.ref.name), for skopeo's oci:DIR:NAME. */
  async name(artifact: Descriptor, refName: string): Promise<void> {
    this.refs.set(refName, artifact);
    await this.writeIndex();
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private blobPath(digest: string): string {
    return join(this.dir, "blobs", "sha256", digest.replace(/^sha256:/, ""));
  }

  private addJson(mediaType: string, value: unknown): Promise<Descriptor> {
    return this.addBlob(mediaType, Buffer.from(JSON.stringify(value)));
  }

  private async addBlob(mediaType: string, bytes: Buffer): Promise<Descriptor> {
    const descriptor = descriptorOf(mediaType, bytes);
    await writeFile(this.blobPath(descriptor.digest), bytes);
    return descriptor;
  }

  /**
   * Writes index.json with every name given so far. Concurrent pushes name their artifacts at
   * once and skopeo reads the index meanwhile, so each write is whole (temp file, rename) and
   * the writes are queued: a write computed earlier can never replace one that holds more names.
   */
  private writeIndex(): Promise<void> {
    const write = async (): Promise<void> => {
      const manifests = [...this.refs].map(([refName, d]) => ({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        annotations: { "org.opencontainers.image.ref.name": refName },
      }));
      const path = join(this.dir, "index.json");
      const temp = `${path}.${randomUUID()}.tmp`;
      await writeFile(temp, JSON.stringify({ schemaVersion: 2, manifests }));
      await rename(temp, path);
    };
    this.indexWrites = this.indexWrites.then(write, write);
    return this.indexWrites;
  }
}

/**
 * Pushes `artifact` (an image or a whole index, every platform) from `layout` to
 * registry/repository:tag with `skopeo copy --all --preserve-digests`, so the registry holds
 * exactly these digests. Credentials go through a private temp auth file.
 */
export async function pushImage(layout: OciLayout, artifact: Descriptor, target: PushTarget): Promise<void> {
  const refName = `push-${randomUUID()}`;
  await layout.name(artifact, refName);
  const authDir = await mkdtemp(join(tmpdir(), "ecr-sync-auth-"));
  try {
    const authFile = join(authDir, "auth.json");
    await writeAuthFile(authFile, { [target.registry]: target });
    const reference = `${target.registry}/${target.repository}${target.tag === undefined ? `@${artifact.digest}` : `:${target.tag}`}`;
    await execFileAsync(
      "skopeo",
      [
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-authfile",
        authFile,
        `oci:${layout.dir}:${refName}`,
        `docker://${reference}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
      if (error.code === "ENOENT") throw new Error(missingTool("skopeo", error));
      throw new Error(
        `skopeo push of ${artifact.digest} to ${reference} failed: ${error.stderr ?? error.message}`,
      );
    });
  } finally {
    await rm(authDir, { recursive: true, force: true });
  }
}

/** Builds and pushes in one call; the common case in tests. */
export async function pushNewImage(
  layout: OciLayout,
  spec: ImageSpec,
  target: PushTarget,
): Promise<BuiltImage> {
  const image = await layout.addImage(spec);
  await pushImage(layout, image, target);
  return image;
}

/** Sum of the layer blob sizes of an image or of every image of an index. */
export function layerBytes(artifact: BuiltArtifact): number {
  const images = artifact.kind === "index" ? artifact.images : [artifact];
  const unique = new Map<string, number>();
  for (const image of images) for (const layer of image.layers) unique.set(layer.digest, layer.size);
  return [...unique.values()].reduce((a, b) => a + b, 0);
}

function* tarOfOneFile(name: string, size: number, key: Buffer): Generator<Buffer> {
  yield tarHeader(name, size);
  const keystream = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) {
    yield keystream.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
  const padding = (512 - (size % 512)) % 512;
  yield Buffer.alloc(padding + 1024); // pad the file to a block, then the two end-of-archive blocks
}

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, "ascii");
  field(0, 100, name);
  field(100, 8, "0000644\0");
  field(108, 8, "0000000\0");
  field(116, 8, "0000000\0");
  field(124, 12, `${size.toString(8).padStart(11, "0")}\0`);
  field(136, 12, "00000000000\0");
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

function hashing(hash: Hash, count?: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      count?.(chunk.length);
      callback(null, chunk);
    },
  });
}

/**
 * Small images made and pushed over HTTP (scripts/bench/http.ts), without a tool start per
 * image: how the reconcile, backfill and burst stages get tens or hundreds of tags quickly.
 * Each has one layer of the given content (gzip level 0, not a tar: no tool unpacks it) and a
 * labelled config.
 */
import { gzipSync } from "node:zlib";
import { descriptorOf, imageConfig, imageManifest, MEDIA_TYPES, sha256Digest } from "../../local/oci";
import { Endpoint, putManifest, uploadBlob } from "./http";

/** A repository on a registry: where a seeded image goes. */
export type Place = readonly [Endpoint, string];

const layerBlob = (content: Buffer) => gzipSync(content, { level: 0 });

/**
 * Uploads a layer shared by many seeded images once per repository, before they are seeded:
 * concurrent uploads of one blob into one repository race in distribution 2.8.
 */
export async function uploadSharedLayer(places: readonly Place[], content: Buffer): Promise<void> {
  for (const [endpoint, repository] of places) await uploadBlob(endpoint, repository, layerBlob(content));
}

export interface SeedSpec {
  readonly tag: string;
  readonly layerContent: Buffer;
  /** Goes into the config: tells apart images that share their layer. */
  readonly label: string;
  /** The layer is already in every repository (uploadSharedLayer): upload only config and manifest. */
  readonly layerUploaded?: boolean;
}

/** Pushes one image to every place under `spec.tag`; returns its manifest digest. */
export async function seedImage(places: readonly Place[], spec: SeedSpec): Promise<string> {
  const layer = layerBlob(spec.layerContent);
  const config = imageConfig({ os: "linux", architecture: "amd64" }, spec.label, [
    sha256Digest(spec.layerContent),
  ]);
  const manifest = imageManifest(descriptorOf(MEDIA_TYPES.config, config), [
    descriptorOf(MEDIA_TYPES.layer, layer),
  ]);
  let digest = "";
  for (const [endpoint, repository] of places) {
    if (!spec.layerUploaded) await uploadBlob(endpoint, repository, layer);
    await uploadBlob(endpoint, repository, config);
    digest = await putManifest(endpoint, repository, spec.tag, manifest, MEDIA_TYPES.manifest);
  }
  return digest;
}

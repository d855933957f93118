/** Which platforms a tag carries, read from the registry: the index's list, or a single image's config. */
import { MEDIA_TYPES } from "../oci";
import { MANIFEST_ACCEPT, Registry } from "../registry";
import { basicAuth } from "./world";

export function platformName(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

export /** The platforms of an index ("os/arch"), or of a single image's config. */
async function platformsOf(
  registry: Registry,
  login: { username: string; password: string },
  repository: string,
  digest: string,
): Promise<string[]> {
  const response = await fetch(`http://${registry.host}/v2/${repository}/manifests/${digest}`, {
    headers: { Accept: MANIFEST_ACCEPT, Authorization: basicAuth(login) },
  });
  if (!response.ok) throw new Error(`reading ${repository}@${digest}: HTTP ${response.status}`);
  const manifest = (await response.json()) as {
    mediaType?: string;
    manifests?: Array<{ platform?: { os: string; architecture: string; variant?: string } }>;
    config?: { digest: string };
  };
  if (manifest.mediaType === MEDIA_TYPES.index || manifest.manifests !== undefined)
    return (manifest.manifests ?? []).map((m) => (m.platform ? platformName(m.platform) : "unknown")).sort();
  // A single image: its platform is in its config.
  const config = await fetch(`http://${registry.host}/v2/${repository}/blobs/${manifest.config?.digest}`, {
    headers: { Authorization: basicAuth(login) },
  });
  if (!config.ok) throw new Error(`reading the config of ${repository}@${digest}: HTTP ${config.status}`);
  return [platformName((await config.json()) as { os: string; architecture: string; variant?: string })];
}

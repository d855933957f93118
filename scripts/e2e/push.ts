/**
 * The test image of `npm run test:e2e` and its push: a tiny two-platform index under a tag no
 * one else uses, pushed to the source repository with its digests unchanged.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuiltIndex, OciLayout, writeAuthFile } from "../../local/oci";
import { AwsAccount, reason, runTool } from "./aws";
import { Failed, log } from "./outcome";
import { Settings } from "./settings";

/** ecr-sync-e2e-<UTC time to the second>-<8 hex digits>: unique, sortable, and says what made it. */
export function uniqueTag(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `ecr-sync-e2e-${stamp}-${randomBytes(4).toString("hex")}`;
}

/** Two platforms of one 1 KiB layer each, labelled with the tag. */
export function buildTestImage(layout: OciLayout, tag: string): Promise<BuiltIndex> {
  return layout.addMultiArch(
    [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
    [{ size: 1024 }],
    tag,
  );
}

/** The registry the image goes to: ECR_SYNC_E2E_SOURCE_REGISTRY, or the source account's ECR. */
export function sourceRegistry(settings: Settings): string {
  return (
    settings.sourceRegistry ?? `${settings.source.expectedAccountId}.dkr.ecr.${settings.region}.amazonaws.com`
  );
}

/** Pushes every platform of `image` with its digests unchanged; returns the digest the registry stored. */
export async function push(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  source: AwsAccount,
  layout: OciLayout,
  image: BuiltIndex,
  tag: string,
): Promise<string> {
  const registry = sourceRegistry(settings);
  const password = await source.call(["ecr", "get-login-password"]);
  if (password.code !== 0)
    throw new Failed(`ecr get-login-password for the source account failed: ${reason(password)}`);
  const refName = `e2e-${tag}`;
  await layout.name(image, refName);
  const authDir = await mkdtemp(join(tmpdir(), "ecr-sync-e2e-auth-"));
  try {
    const authFile = join(authDir, "auth.json");
    const digestFile = join(authDir, "digest");
    await writeAuthFile(authFile, { [registry]: { username: "AWS", password: password.stdout.trim() } });
    const destination = `docker://${registry}/${settings.source.repository}:${tag}`;
    log(`pushing ${image.images.length} platforms as ${destination}`);
    const result = await runTool(
      "skopeo",
      [
        "copy",
        ...["--quiet", "--all", "--preserve-digests", "--dest-tls-verify=true"],
        ...["--dest-authfile", authFile, "--digestfile", digestFile],
        `oci:${layout.dir}:${refName}`,
        destination,
      ],
      env,
    );
    if (result.code !== 0) throw new Failed(`push to ${destination} failed: ${reason(result)}`);
    return (await readFile(digestFile, "utf8")).trim();
  } finally {
    await rm(authDir, { recursive: true, force: true });
  }
}

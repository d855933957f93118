/**
 * Waiting for the sync: polls the target repository (ECR DescribeImages) until the test tag is
 * there, then checks that every platform manifest of the index arrived too.
 */
import { BuiltIndex } from "../../local/oci";
import { AwsAccount, reason } from "./aws";
import { Failed } from "./outcome";
import { Settings } from "./settings";

const POLL_INTERVAL_MS = 3000;

interface ImageDetail {
  readonly imageDigest: string;
  readonly imageTags?: string[];
}

const imageDetails = (stdout: string) => (JSON.parse(stdout) as { imageDetails: ImageDetail[] }).imageDetails;

/** Polls the target until `tag` exists; its digest, or a Failed after the timeout. */
export async function waitForTarget(
  settings: Settings,
  target: AwsAccount,
  tag: string,
  interrupted: () => boolean,
): Promise<string> {
  const repository = settings.target.repository;
  const deadline = Date.now() + settings.timeoutSeconds * 1000;
  for (;;) {
    const result = await target.call([
      "ecr",
      "describe-images",
      ...["--repository-name", repository, "--image-ids", `imageTag=${tag}`],
    ]);
    if (result.code === 0) {
      const details = imageDetails(result.stdout);
      if (details.length > 0) return details[0].imageDigest;
    } else if (!result.stderr.includes("ImageNotFoundException")) {
      throw new Failed(`reading ${repository}:${tag} in the target account failed: ${reason(result)}`);
    }
    if (interrupted()) throw new Failed("interrupted while waiting");
    if (Date.now() >= deadline) {
      throw new Failed(
        `${repository}:${tag} did not arrive in the target account within ${settings.timeoutSeconds} s ` +
          "(see docs/runbook.md: the sync command's output in CloudWatch Logs, the dead-letter queue)",
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now()))),
    );
  }
}

/** Every platform manifest of the index is in the target too (skopeo copies them before the index). */
export async function checkPlatforms(
  settings: Settings,
  target: AwsAccount,
  image: BuiltIndex,
): Promise<void> {
  const ids = image.images.map((platformImage) => `imageDigest=${platformImage.digest}`);
  const result = await target.call([
    "ecr",
    "describe-images",
    ...["--repository-name", settings.target.repository, "--image-ids", ...ids],
  ]);
  if (result.code !== 0)
    throw new Failed(`the target is missing platform manifests of ${image.digest}: ${reason(result)}`);
  const found = new Set(imageDetails(result.stdout).map((detail) => detail.imageDigest));
  const missing = image.images.filter((platformImage) => !found.has(platformImage.digest));
  if (missing.length > 0) {
    throw new Failed(
      `the target is missing ${missing.map((m) => `${m.platform.os}/${m.platform.architecture} ${m.digest}`).join(", ")}`,
    );
  }
}

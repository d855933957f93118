/**
 * Removing the test image from both repositories, also when the check failed or was
 * interrupted; what cannot be removed is printed for removal by hand.
 */
import { BuiltIndex } from "../../local/oci";
import { AwsAccount, reason, Sides } from "./aws";
import { EXIT_CODES, log } from "./outcome";
import { Settings } from "./settings";

/** What removes the test image: the tagged index first, then its (now untagged) platform manifests. */
export function deleteBatches(tag: string, image: BuiltIndex): string[][] {
  return [[`imageTag=${tag}`], image.images.map((platformImage) => `imageDigest=${platformImage.digest}`)];
}

interface DeleteFailure {
  readonly imageId: unknown;
  readonly failureCode: string;
  readonly failureReason?: string;
}

/**
 * Deletes the tagged index, then its platform manifests (ECR refuses to delete a manifest an
 * index still references). Returns what could not be deleted; "not found" is not a failure.
 */
async function removeImage(side: AwsAccount, tag: string, image: BuiltIndex): Promise<string[]> {
  const problems: string[] = [];
  const { role, repository } = side.account;
  for (const ids of deleteBatches(tag, image)) {
    const result = await side.call([
      "ecr",
      "batch-delete-image",
      ...["--repository-name", repository, "--image-ids", ...ids],
    ]);
    if (result.code !== 0) {
      problems.push(`${role} ${repository}: batch-delete-image failed: ${reason(result)}`);
      continue;
    }
    const failures = (JSON.parse(result.stdout) as { failures?: DeleteFailure[] }).failures ?? [];
    for (const failure of failures) {
      if (failure.failureCode === "ImageNotFound") continue;
      problems.push(
        `${role} ${repository} ${JSON.stringify(failure.imageId)}: ${failure.failureCode} ${failure.failureReason ?? ""}`.trim(),
      );
    }
  }
  return problems;
}

/** The commands that remove the test image from the target, should it arrive after a failed check. */
export function laterRemovalCommands(settings: Settings, tag: string, image: BuiltIndex): string[] {
  const profile = settings.target.profile ? ` --profile ${settings.target.profile}` : "";
  return deleteBatches(tag, image).map(
    (ids) =>
      `aws ecr batch-delete-image --region ${settings.region}${profile} --repository-name ${settings.target.repository} --image-ids ${ids.join(" ")}`,
  );
}

/**
 * Removes the test image from both sides and reports; returns the exit code `outcome` becomes:
 * a pass whose cleanup failed is exit 4. After a failure it prints how to remove a late arrival.
 */
export async function removeTestImage(
  settings: Settings,
  sides: Sides,
  tag: string,
  image: BuiltIndex,
  outcome: number,
): Promise<number> {
  const problems = [
    ...(await removeImage(sides.source, tag, image)),
    ...(await removeImage(sides.target, tag, image)),
  ];
  if (problems.length === 0) {
    log(`removed ${tag} from ${settings.source.repository} and ${settings.target.repository}`);
  } else {
    console.error(`e2e CLEANUP FAILED, delete by hand:\n  ${problems.join("\n  ")}`);
  }
  if (outcome === EXIT_CODES.failed) {
    console.error(
      `if ${settings.target.repository}:${tag} arrives later, remove it:\n  ${laterRemovalCommands(settings, tag, image).join("\n  ")}`,
    );
  }
  return problems.length > 0 && outcome === EXIT_CODES.passed ? EXIT_CODES.cleanupFailed : outcome;
}

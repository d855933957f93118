/**
 * `npm run test:e2e`: the real end-to-end check, for people with access to both accounts.
 *
 * Pushes a tiny two-platform image with a unique tag to the mapped source repository (css
 * account), waits until the target repository (legacy account) holds the same tag with the same
 * digest (ECR DescribeImages, polled), reports how long that took, and deletes the image on both
 * sides. Credentials: the source from ECR_SYNC_E2E_SOURCE_PROFILE or else the default credential
 * chain, the target from ECR_SYNC_E2E_TARGET_PROFILE (required: one chain cannot be two accounts).
 *
 * Exit codes: 0 passed · 1 failed (push failed, image did not arrive, digest differs) ·
 * 3 did not run (configuration, credentials, tools or the stack missing; nothing was pushed) ·
 * 4 passed but cleanup failed (the images it names are still there).
 * It prints "did not run" with the reason rather than passing when it cannot run.
 *
 * The steps, one file each under scripts/e2e/: settings.ts (the ECR_SYNC_E2E_* variables),
 * preflight.ts (tools, identities, repositories), push.ts, wait.ts, cleanup.ts; aws.ts runs the
 * tools, outcome.ts holds the exit codes and verdicts.
 */
import { BuiltIndex, OciLayout } from "../local/oci";
import { onInterrupt } from "./interrupt";
import { AwsAccount, Sides } from "./e2e/aws";
import { removeTestImage } from "./e2e/cleanup";
import { EXIT_CODES, Failed, log, report } from "./e2e/outcome";
import { preflight } from "./e2e/preflight";
import { buildTestImage, push, uniqueTag } from "./e2e/push";
import { readSettings, Settings } from "./e2e/settings";
import { checkPlatforms, waitForTarget } from "./e2e/wait";

export { EXIT_CODES } from "./e2e/outcome";

/** Push, wait, compare: prints the verdict line and returns EXIT_CODES.passed, or throws. */
async function pushAndWait(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  sides: Sides,
  layout: OciLayout,
  image: BuiltIndex,
  tag: string,
  interrupted: () => boolean,
): Promise<number> {
  const pushed = await push(settings, env, sides.source, layout, image, tag);
  if (pushed !== image.digest)
    throw new Failed(`the source registry stored ${pushed}, not the pushed ${image.digest}`);
  const pushedAt = Date.now();
  log(
    `pushed ${settings.source.repository}:${tag} ${pushed}; waiting up to ${settings.timeoutSeconds} s for ${settings.target.repository}:${tag}`,
  );
  const arrived = await waitForTarget(settings, sides.target, tag, interrupted);
  const seconds = ((Date.now() - pushedAt) / 1000).toFixed(1);
  if (arrived !== pushed) {
    throw new Failed(
      `${settings.target.repository}:${tag} arrived after ${seconds} s with digest ${arrived}, not ${pushed}`,
    );
  }
  await checkPlatforms(settings, sides.target, image);
  console.log(
    `e2e PASSED: ${settings.source.repository}:${tag} (${pushed}, ${image.images.length} platforms) ` +
      `arrived in ${settings.target.repository} with the same digest after ${seconds} s`,
  );
  return EXIT_CODES.passed;
}

/** Builds the image, runs the check, and removes the image again whatever happened. */
async function runCheck(settings: Settings, env: NodeJS.ProcessEnv, sides: Sides): Promise<number> {
  const tag = uniqueTag();
  let interrupted = false;
  const stopListening = onInterrupt(() => {
    interrupted = true;
    log("interrupted: cleaning up after the current step");
  });
  const layout = await OciLayout.create();
  let image: BuiltIndex | undefined;
  let outcome: number = EXIT_CODES.failed;
  try {
    image = await buildTestImage(layout, tag);
    outcome = await pushAndWait(settings, env, sides, layout, image, tag, () => interrupted);
  } catch (error) {
    outcome = report(error);
  } finally {
    if (image !== undefined) outcome = await removeTestImage(settings, sides, tag, image, outcome);
    await layout.remove();
    stopListening();
  }
  return outcome;
}

/**
 * The whole check in the environment `env`: its ECR_SYNC_E2E_* settings, and the environment
 * aws and skopeo run in (AWS_* variables, PATH). Returns the exit code.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let settings: Settings;
  let sides: Sides;
  try {
    settings = readSettings(env);
    sides = {
      source: new AwsAccount(settings.source, settings.region, env),
      target: new AwsAccount(settings.target, settings.region, env),
    };
    await preflight(env, settings.region, sides);
  } catch (error) {
    return report(error);
  }
  return runCheck(settings, env, sides);
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`e2e FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = EXIT_CODES.failed;
    },
  );
}

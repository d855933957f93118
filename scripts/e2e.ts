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
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAccountId, isRegion, isRepositoryName } from "../common/naming";
import { BuiltIndex, OciLayout } from "../local/oci";
import { onInterrupt } from "./interrupt";

export const EXIT_CODES = { passed: 0, failed: 1, didNotRun: 3, cleanupFailed: 4 } as const;

/** Could not start: nothing was pushed. */
class DidNotRun extends Error {}
/** Ran and the sync did not deliver. */
class Failed extends Error {}

const CSS_ACCOUNT = "770203350335";
const LEGACY_ACCOUNT = "730096353738";
const POLL_INTERVAL_MS = 3000;
const TOOL_TIMEOUT_MS = 120_000;

interface Account {
  /** "source" or "target", for messages. */
  readonly role: "source" | "target";
  /** Named profile, or undefined for the default credential chain. */
  readonly profile: string | undefined;
  readonly expectedAccountId: string;
  readonly repository: string;
}

interface Settings {
  readonly source: Account;
  readonly target: Account;
  readonly region: string;
  /** host[:port] the image is pushed to; default the source account's ECR registry. */
  readonly sourceRegistry: string | undefined;
  readonly timeoutSeconds: number;
  readonly tlsVerify: boolean;
}

function describeCredentials(account: Account): string {
  return account.profile === undefined ? "the default credential chain" : `profile '${account.profile}'`;
}

/** Reads and checks the ECR_SYNC_E2E_* variables; every error names the variable and value. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const repository = (name: string, fallback: string): string => {
    const name_ = value(name) ?? fallback;
    if (!isRepositoryName(name_))
      throw new DidNotRun(`${name}='${name_}' is not a valid ECR repository name`);
    return name_;
  };
  const account = (name: string, fallback: string): string => {
    const id = value(name) ?? fallback;
    if (!isAccountId(id)) throw new DidNotRun(`${name}='${id}' is not a 12-digit AWS account id`);
    return id;
  };

  const targetProfile = value("ECR_SYNC_E2E_TARGET_PROFILE");
  if (targetProfile === undefined) {
    throw new DidNotRun(
      "ECR_SYNC_E2E_TARGET_PROFILE is not set: name the AWS profile of the legacy account " +
        "(ECR_SYNC_E2E_SOURCE_PROFILE names the css account's, or the default credential chain is used for it)",
    );
  }
  const timeoutText = value("ECR_SYNC_E2E_TIMEOUT_SECONDS") ?? "120";
  const timeoutSeconds = Number(timeoutText);
  if (!/^[0-9]+$/.test(timeoutText) || timeoutSeconds < 1) {
    throw new DidNotRun(`ECR_SYNC_E2E_TIMEOUT_SECONDS='${timeoutText}' is not a whole number of seconds ≥ 1`);
  }
  const tlsText = value("ECR_SYNC_E2E_TLS_VERIFY") ?? "true";
  if (tlsText !== "true" && tlsText !== "false")
    throw new DidNotRun(`ECR_SYNC_E2E_TLS_VERIFY='${tlsText}' must be true or false`);
  const region = value("ECR_SYNC_E2E_REGION") ?? "us-east-1";
  if (!isRegion(region)) throw new DidNotRun(`ECR_SYNC_E2E_REGION='${region}' is not an AWS region name`);

  const settings: Settings = {
    source: {
      role: "source",
      profile: value("ECR_SYNC_E2E_SOURCE_PROFILE"),
      expectedAccountId: account("ECR_SYNC_E2E_SOURCE_ACCOUNT", CSS_ACCOUNT),
      repository: repository("ECR_SYNC_E2E_SOURCE_REPOSITORY", "kuali-coeus"),
    },
    target: {
      role: "target",
      profile: targetProfile,
      expectedAccountId: account("ECR_SYNC_E2E_TARGET_ACCOUNT", LEGACY_ACCOUNT),
      repository: repository("ECR_SYNC_E2E_TARGET_REPOSITORY", "coeus"),
    },
    region,
    sourceRegistry: value("ECR_SYNC_E2E_SOURCE_REGISTRY"),
    timeoutSeconds,
    tlsVerify: tlsText === "true",
  };
  if (settings.source.expectedAccountId === settings.target.expectedAccountId) {
    throw new DidNotRun(
      `source and target account are both ${settings.source.expectedAccountId}: the check needs the two accounts`,
    );
  }
  return settings;
}

interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | string | null;
}

function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : ((error as NodeJS.ErrnoException).code ?? 1);
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}

/** The last meaningful line of a tool's error output (the AWS CLI puts the reason there). */
function reason(result: ToolResult): string {
  if (result.code === "ENOENT") return "not found on PATH";
  const lines = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? `exit code ${String(result.code)}`;
}

/** Runs `aws` for one account: its profile (and nothing from the environment) or the default chain. */
class AwsAccount {
  constructor(
    readonly account: Account,
    private readonly region: string,
  ) {}

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_PAGER: "" };
    if (this.account.profile !== undefined) {
      // A named profile must not be overridden by keys that happen to be in the environment.
      for (const name of [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
      ])
        delete env[name];
    }
    return env;
  }

  async call(args: readonly string[]): Promise<ToolResult> {
    const profile = this.account.profile === undefined ? [] : ["--profile", this.account.profile];
    return runTool("aws", [...args, "--region", this.region, "--output", "json", ...profile], this.env());
  }

  async json<T>(args: readonly string[]): Promise<T> {
    const result = await this.call(args);
    if (result.code !== 0) throw new Error(reason(result));
    return JSON.parse(result.stdout) as T;
  }
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} e2e: ${message}\n`);
}

function uniqueTag(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `ecr-sync-e2e-${stamp}-${randomBytes(4).toString("hex")}`;
}

/** Preflight: tools, both identities in the expected accounts, both repositories exist. */
async function preflight(settings: Settings, source: AwsAccount, target: AwsAccount): Promise<void> {
  for (const tool of ["aws", "skopeo"]) {
    const result = await runTool(tool, ["--version"], process.env);
    if (result.code !== 0)
      throw new DidNotRun(
        `${tool}: ${reason(result)} (install it: the AWS CLI, and skopeo from your distribution)`,
      );
  }
  for (const side of [source, target]) {
    const { role, profile, expectedAccountId } = side.account;
    const identity = await side
      .json<{ Account: string; Arn: string }>(["sts", "get-caller-identity"])
      .catch((error: Error) => {
        throw new DidNotRun(
          `no usable credentials for the ${role} account from ${describeCredentials(side.account)}: ${error.message}`,
        );
      });
    if (identity.Account !== expectedAccountId) {
      const variable = role === "source" ? "ECR_SYNC_E2E_SOURCE_ACCOUNT" : "ECR_SYNC_E2E_TARGET_ACCOUNT";
      throw new DidNotRun(
        `${describeCredentials(side.account)} acts in account ${identity.Account}, not the ${role} account ${expectedAccountId} ` +
          `(use the right profile, or set ${variable})`,
      );
    }
    log(
      `${role}: ${identity.Arn}${profile === undefined ? " (default credential chain)" : ` (profile ${profile})`}`,
    );
    const repositories = await side.call([
      "ecr",
      "describe-repositories",
      "--repository-names",
      side.account.repository,
    ]);
    if (repositories.code !== 0) {
      throw new DidNotRun(
        `${role} repository '${side.account.repository}' in account ${identity.Account} (${settings.region}) cannot be read: ${reason(repositories)}` +
          (repositories.stderr.includes("RepositoryNotFoundException")
            ? " (is the stack deployed and the mapping right?)"
            : ""),
      );
    }
  }
}

/** Pushes every platform of `image` with its digests unchanged; returns the digest the registry stored. */
async function push(
  settings: Settings,
  source: AwsAccount,
  layout: OciLayout,
  image: BuiltIndex,
  tag: string,
): Promise<string> {
  const registry =
    settings.sourceRegistry ??
    `${settings.source.expectedAccountId}.dkr.ecr.${settings.region}.amazonaws.com`;
  const password = await source.call(["ecr", "get-login-password"]);
  if (password.code !== 0)
    throw new Failed(`ecr get-login-password for the source account failed: ${reason(password)}`);
  const refName = `e2e-${tag}`;
  await layout.name(image, refName);
  const authDir = await mkdtemp(join(tmpdir(), "ecr-sync-e2e-auth-"));
  try {
    const authFile = join(authDir, "auth.json");
    const digestFile = join(authDir, "digest");
    const auth = Buffer.from(`AWS:${password.stdout.trim()}`).toString("base64");
    await writeFile(authFile, JSON.stringify({ auths: { [registry]: { auth } } }), { mode: 0o600 });
    await chmod(authFile, 0o600);
    const destination = `docker://${registry}/${settings.source.repository}:${tag}`;
    log(`pushing ${image.images.length} platforms as ${destination}`);
    const result = await runTool(
      "skopeo",
      [
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        `--dest-tls-verify=${settings.tlsVerify}`,
        "--dest-authfile",
        authFile,
        "--digestfile",
        digestFile,
        `oci:${layout.dir}:${refName}`,
        destination,
      ],
      process.env,
    );
    if (result.code !== 0) throw new Failed(`push to ${destination} failed: ${reason(result)}`);
    return (await readFile(digestFile, "utf8")).trim();
  } finally {
    await rm(authDir, { recursive: true, force: true });
  }
}

interface ImageDetail {
  readonly imageDigest: string;
  readonly imageTags?: string[];
}

/** Polls the target until `tag` exists; its digest, or a Failed after the timeout. */
async function waitForTarget(
  settings: Settings,
  target: AwsAccount,
  tag: string,
  interrupted: () => boolean,
): Promise<string> {
  const deadline = Date.now() + settings.timeoutSeconds * 1000;
  for (;;) {
    const result = await target.call([
      "ecr",
      "describe-images",
      "--repository-name",
      settings.target.repository,
      "--image-ids",
      `imageTag=${tag}`,
    ]);
    if (result.code === 0) {
      const details = (JSON.parse(result.stdout) as { imageDetails: ImageDetail[] }).imageDetails;
      if (details.length > 0) return details[0].imageDigest;
    } else if (!result.stderr.includes("ImageNotFoundException")) {
      throw new Failed(
        `reading ${settings.target.repository}:${tag} in the target account failed: ${reason(result)}`,
      );
    }
    if (interrupted()) throw new Failed("interrupted while waiting");
    if (Date.now() >= deadline) {
      throw new Failed(
        `${settings.target.repository}:${tag} did not arrive in the target account within ${settings.timeoutSeconds} s ` +
          "(see the README's runbook: the sync command's output in CloudWatch Logs, the dead-letter queue)",
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now()))),
    );
  }
}

/** Every platform manifest of the index is in the target too (skopeo copies them before the index). */
async function checkPlatforms(settings: Settings, target: AwsAccount, image: BuiltIndex): Promise<void> {
  const ids = image.images.map((platformImage) => `imageDigest=${platformImage.digest}`);
  const result = await target.call([
    "ecr",
    "describe-images",
    "--repository-name",
    settings.target.repository,
    "--image-ids",
    ...ids,
  ]);
  if (result.code !== 0)
    throw new Failed(`the target is missing platform manifests of ${image.digest}: ${reason(result)}`);
  const found = new Set(
    (JSON.parse(result.stdout) as { imageDetails: ImageDetail[] }).imageDetails.map(
      (detail) => detail.imageDigest,
    ),
  );
  const missing = image.images.filter((platformImage) => !found.has(platformImage.digest));
  if (missing.length > 0) {
    throw new Failed(
      `the target is missing ${missing.map((m) => `${m.platform.os}/${m.platform.architecture} ${m.digest}`).join(", ")}`,
    );
  }
}

/**
 * Deletes the tagged index, then its platform manifests (ECR refuses to delete a manifest an
 * index still references). Returns what could not be deleted; "not found" is not a failure.
 */
/** What removes the test image: the tagged index first, then its (now untagged) platform manifests. */
function deleteBatches(tag: string, image: BuiltIndex): string[][] {
  return [[`imageTag=${tag}`], image.images.map((platformImage) => `imageDigest=${platformImage.digest}`)];
}

async function removeImage(side: AwsAccount, tag: string, image: BuiltIndex): Promise<string[]> {
  const problems: string[] = [];
  const repository = side.account.repository;
  for (const ids of deleteBatches(tag, image)) {
    const result = await side.call([
      "ecr",
      "batch-delete-image",
      "--repository-name",
      repository,
      "--image-ids",
      ...ids,
    ]);
    if (result.code !== 0) {
      problems.push(`${side.account.role} ${repository}: batch-delete-image failed: ${reason(result)}`);
      continue;
    }
    const failures =
      (
        JSON.parse(result.stdout) as {
          failures?: Array<{ imageId: unknown; failureCode: string; failureReason?: string }>;
        }
      ).failures ?? [];
    for (const failure of failures) {
      if (failure.failureCode === "ImageNotFound") continue;
      problems.push(
        `${side.account.role} ${repository} ${JSON.stringify(failure.imageId)}: ${failure.failureCode} ${failure.failureReason ?? ""}`.trim(),
      );
    }
  }
  return problems;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let settings: Settings;
  try {
    settings = readSettings(env);
  } catch (error) {
    return report(error);
  }
  const source = new AwsAccount(settings.source, settings.region);
  const target = new AwsAccount(settings.target, settings.region);
  try {
    await preflight(settings, source, target);
  } catch (error) {
    return report(error);
  }

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
    image = await layout.addMultiArch(
      [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      [{ size: 1024 }],
      tag,
    );
    const pushed = await push(settings, source, layout, image, tag);
    if (pushed !== image.digest)
      throw new Failed(`the source registry stored ${pushed}, not the pushed ${image.digest}`);
    const pushedAt = Date.now();
    log(
      `pushed ${settings.source.repository}:${tag} ${pushed}; waiting up to ${settings.timeoutSeconds} s for ${settings.target.repository}:${tag}`,
    );
    const arrived = await waitForTarget(settings, target, tag, () => interrupted);
    const seconds = ((Date.now() - pushedAt) / 1000).toFixed(1);
    if (arrived !== pushed) {
      throw new Failed(
        `${settings.target.repository}:${tag} arrived after ${seconds} s with digest ${arrived}, not ${pushed}`,
      );
    }
    await checkPlatforms(settings, target, image);
    console.log(
      `e2e PASSED: ${settings.source.repository}:${tag} (${pushed}, ${image.images.length} platforms) ` +
        `arrived in ${settings.target.repository} with the same digest after ${seconds} s`,
    );
    outcome = EXIT_CODES.passed;
  } catch (error) {
    outcome = report(error);
  } finally {
    if (image !== undefined) {
      const problems = [
        ...(await removeImage(source, tag, image)),
        ...(await removeImage(target, tag, image)),
      ];
      if (problems.length === 0) {
        log(`removed ${tag} from ${settings.source.repository} and ${settings.target.repository}`);
      } else {
        console.error(`e2e CLEANUP FAILED, delete by hand:\n  ${problems.join("\n  ")}`);
      }
      if (problems.length > 0 && outcome === EXIT_CODES.passed) outcome = EXIT_CODES.cleanupFailed;
      if (outcome === EXIT_CODES.failed) {
        const profile = settings.target.profile ? ` --profile ${settings.target.profile}` : "";
        const commands = deleteBatches(tag, image).map(
          (ids) =>
            `aws ecr batch-delete-image --region ${settings.region}${profile} --repository-name ${settings.target.repository} --image-ids ${ids.join(" ")}`,
        );
        console.error(
          `if ${settings.target.repository}:${tag} arrives later, remove it:\n  ${commands.join("\n  ")}`,
        );
      }
    }
    await layout.remove();
    stopListening();
  }
  return outcome;
}

function report(error: unknown): number {
  if (error instanceof DidNotRun) {
    console.error(`e2e DID NOT RUN: ${error.message}`);
    console.error("This is not a pass. See the README (npm run test:e2e) for what the check needs.");
    return EXIT_CODES.didNotRun;
  }
  console.error(`e2e FAILED: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_CODES.failed;
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

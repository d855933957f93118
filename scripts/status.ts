/**
 * `npm run status -- IMAGE`: is one tag in sync, and if not, why and what to do. With the operator's
 * own credentials (a profile per account, or the SDK's default chain), it reads the tag's digest in
 * the css source repository and in the legacy target repository the stack's map names for it (ECR
 * DescribeImages in each account), and when they differ, the last result line the copier wrote for
 * that tag (CloudWatch Logs, the results log group) and the runbook's step for it.
 * `npm run status -- --repositories`: every mapped repository in both accounts, and what is missing
 * (the check before a first deploy or a new mapping: docs/decisions/0012-legacy-repositories-checked.md).
 *
 * The map, the accounts and the region come from the committed stack file (Pulumi.<stack>.yaml,
 * read as the Pulumi CLI reads it, checked as `pulumi up` checks it): what deploy.yml deploys.
 * The decisions are pure functions (`resolveImage`, `verdict`, `repositoryReport`); the AWS calls
 * are the edge. `usage()` is the one description of the flags and exit codes.
 */
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { isImageTag, isRepositoryName } from "../common/naming";
import { ImageLine, IMAGE_RESULTS, ImageResult, isReferrerLine } from "../common/result-lines";
import { shown } from "../common/shown";
import { resultsLogGroupName } from "../common/telemetry";
import { parseStackConfig, rawStackConfig, SourceSettings } from "../components/config";
import { withoutQueries } from "../ec2-scripts/copier/skopeo";
import { ORGANIZATION, projectName, readStackConfig, stackNames } from "../local/render/config";

/** The exit codes; `usage()` says when each is used. */
export const STATUS_EXIT = { inSync: 0, notInSync: 1, usage: 2, access: 3 } as const;

/** A mistake in how status was called, or an IMAGE the map does not hold: exit 2, with the usage. */
export class UsageError extends Error {}
/** Credentials, permissions or the stack file stop the check: exit 3. */
export class AccessError extends Error {}

/**
 * Where the copier writes each result line: the results log group of the component index.ts names
 * "ecr-sync" (the css stack's resultsLogGroupName output; test/unit/status.test.ts keeps them equal).
 */
export const RESULTS_LOG_GROUP = resultsLogGroupName("ecr-sync");
/** How far back the last result is looked for. */
export const RESULTS_LOOKBACK_DAYS = 30;

export function usage(): string {
  return `usage: npm run -s status -- IMAGE [--stack NAME] [--css-profile P] [--legacy-profile P]
       npm run -s status -- --repositories [--stack NAME] [--css-profile P] [--legacy-profile P]

IMAGE is REPOSITORY:TAG, the repository either side's name in the map (kuali-coeus:1.2.3 or
coeus:1.2.3). It says whether the legacy tag holds the css tag's digest; if not, the copier's last
result for the tag (in ${RESULTS_LOG_GROUP}, the last ${RESULTS_LOOKBACK_DAYS} days) and what to do.

  --repositories      instead: every mapped repository in both accounts, the missing ones with the
                      command that creates each, and tag mutabilities that would refuse copies
  --stack NAME        the css (source) stack whose map and accounts to use (default css; stacks:
                      ${stackNames().join(", ")})
  --css-profile P     the AWS profile for the css account (default: the SDK's default chain)
  --legacy-profile P  the AWS profile for the legacy account (default: the SDK's default chain)
  -h, --help          print this and exit

One credential chain acts in one account, so give at least one profile. What each side needs:
docs/security.md#the-principals (the operator's row).

Examples:
  npm run -s status -- kuali-coeus:1.2.3 --css-profile css --legacy-profile legacy
  npm run -s status -- --repositories --stack css-staging --legacy-profile sandbox-legacy

Exit status: 0 in sync (every repository present); 1 not in sync (a repository missing), the reason
and what to do on stdout; 2 a usage error, or IMAGE names no repository of the map; 3 the check
could not run (credentials in the wrong account, access denied, the stack file refused).`;
}

export interface Options {
  /** `undefined` with --repositories. */
  readonly image: { readonly repository: string; readonly tag: string } | undefined;
  readonly stack: string;
  readonly cssProfile: string | undefined;
  readonly legacyProfile: string | undefined;
}

const FLAGS_WITH_VALUE = ["--stack", "--css-profile", "--legacy-profile"] as const;

/** The options, or `undefined` for --help; every problem at once in one UsageError. */
export function parseArgs(
  argv: readonly string[],
  stacks: readonly string[] = stackNames(),
): Options | undefined {
  const problems: string[] = [];
  const values = new Map<string, string>();
  const images: string[] = [];
  let repositories = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const flag = FLAGS_WITH_VALUE.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (arg === "--help" || arg === "-h") return undefined;
    else if (arg === "--repositories") repositories = true;
    else if (flag !== undefined) {
      const value = arg === flag ? argv[++i] : arg.slice(flag.length + 1);
      if (value === undefined || value === "" || value.startsWith("-"))
        problems.push(`${flag} needs a value`);
      else if (values.has(flag))
        problems.push(`${flag} is given twice (${shown(values.get(flag))}, ${shown(value)})`);
      else values.set(flag, value);
    } else if (arg.startsWith("-")) problems.push(`unknown argument ${shown(arg)}`);
    else images.push(arg);
  }
  const stack = values.get("--stack") ?? "css";
  if (!stacks.includes(stack))
    problems.push(
      `unknown stack ${shown(stack)}: there is no Pulumi.${stack}.yaml (stacks: ${stacks.join(", ")})`,
    );
  let image: Options["image"];
  if (repositories && images.length > 0)
    problems.push(
      `--repositories checks every mapping: give it no IMAGE (got ${images.map(shown).join(", ")})`,
    );
  else if (!repositories && images.length !== 1)
    problems.push(
      images.length === 0
        ? "IMAGE is required: REPOSITORY:TAG, e.g. coeus:1.2.3 (or --repositories)"
        : `one IMAGE at a time (got ${images.map(shown).join(", ")})`,
    );
  else if (!repositories) {
    const text = images[0];
    const colon = text.lastIndexOf(":");
    const repository = text.slice(0, Math.max(colon, 0));
    const tag = colon < 0 ? "" : text.slice(colon + 1);
    if (text.includes("@"))
      problems.push(`IMAGE ${shown(text)}: give a tag, not a digest: REPOSITORY:TAG, e.g. coeus:1.2.3`);
    else if (colon < 0 || tag === "" || tag.includes("/"))
      problems.push(`IMAGE ${shown(text)} has no tag: write REPOSITORY:TAG, e.g. coeus:1.2.3`);
    else if (repositoryCandidates(repository).every((name) => !isRepositoryName(name)))
      problems.push(`IMAGE ${shown(text)}: ${shown(repository)} is not a repository name ECR accepts`);
    else if (!isImageTag(tag))
      problems.push(
        `IMAGE ${shown(text)}: ${shown(tag)} is not an image tag (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
    else image = { repository, tag };
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n  "));
  return {
    image,
    stack,
    cssProfile: values.get("--css-profile"),
    legacyProfile: values.get("--legacy-profile"),
  };
}

/** The source (css) stack's checked settings, read from Pulumi.<stack>.yaml as `pulumi up` reads them. */
export function sourceSettings(stack: string, root?: string): SourceSettings {
  let settings;
  try {
    const config = readStackConfig(stack, {}, root);
    settings = parseStackConfig(rawStackConfig(config, `${ORGANIZATION}/${projectName(root)}/${stack}`));
  } catch (error) {
    throw new AccessError(`Pulumi.${stack}.yaml: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (settings.participant !== "source")
    throw new UsageError(
      `--stack ${stack} is a legacy (target) stack: name the css stack it reads (${settings.sourceStack.split("/").pop()}), which holds the map`,
    );
  return settings;
}

/**
 * The repository names IMAGE's repository part may mean: itself, and, when its first part could be a
 * registry (a '.' or a ':', as in 770203350335.dkr.ecr.us-east-1.amazonaws.com/kuali-coeus, what a
 * push prints), the rest.
 */
function repositoryCandidates(repository: string): string[] {
  const slash = repository.indexOf("/");
  return slash > 0 && /[.:]/.test(repository.slice(0, slash))
    ? [repository, repository.slice(slash + 1)]
    : [repository];
}

export interface Pair {
  readonly source: string;
  readonly target: string;
  readonly tag: string;
}

/** The map's pair for REPOSITORY (either side's name), or a UsageError naming the value and the map. */
export function resolveImage(
  map: Readonly<Record<string, string>>,
  image: { repository: string; tag: string },
  stackFile: string,
): Pair {
  const { repository, tag } = image;
  for (const name of repositoryCandidates(repository)) {
    if (Object.hasOwn(map, name)) return { source: name, target: map[name], tag };
    const source = Object.keys(map).find((s) => map[s] === name);
    if (source !== undefined) return { source, target: name, tag };
  }
  const pairs = Object.entries(map)
    .map(([s, t]) => `${s} → ${t}`)
    .join(", ");
  throw new UsageError(
    `${shown(repository)} (in IMAGE ${shown(`${repository}:${tag}`)}) is neither a source nor a target repository of ` +
      `${stackFile}'s map (${pairs}): name one of them, or add the mapping first (docs/runbook.md#add-a-mapping)`,
  );
}

/** What one side's repository holds under the tag. */
export type TagState =
  | { readonly kind: "digest"; readonly digest: string; readonly pushedAt?: Date }
  | { readonly kind: "no-tag" }
  | { readonly kind: "no-repository" };

/** The copier's last line for the tag, and when it was written. */
export interface LastResult {
  readonly at: Date;
  readonly line: ImageLine;
}

export interface Verdict {
  readonly inSync: boolean;
  /** Lines for people, the first one the answer. */
  readonly lines: readonly string[];
}

const short = (digest: string) => `${digest.slice(0, 19)}…`;

/** What the copier's last result means for a tag that is not in sync, and what to do. */
function adviceFor(last: LastResult | undefined, pair: Pair, source: TagState): string[] {
  const backfill = `backfill: docs/runbook.md#backfill-now (or wait for the next scheduled reconcile)`;
  if (last === undefined) {
    return [
      `no result for ${pair.target}:${pair.tag} in ${RESULTS_LOG_GROUP} in the last ${RESULTS_LOOKBACK_DAYS} days: ` +
        `no copy of it was tried, or its run's telemetry was lost (a "telemetry:" line on its stderr).`,
      `what to do: look for a dead letter (docs/runbook.md#dead-letters) and whether the worker is ready ` +
        `(docs/runbook.md#worker-not-ready), then ${backfill}.`,
    ];
  }
  const { line, at } = last;
  const when = at.toISOString().replace(/\.\d+Z$/, "Z");
  const head = `last result (${when}): ${line.result}${line.digest === undefined ? "" : ` ${short(line.digest)}`}`;
  const movedSince =
    source.kind === "digest" && source.pushedAt !== undefined && source.pushedAt.getTime() > at.getTime();
  switch (line.result) {
    case "failed":
      return [
        // Lines written before the copier cut URL queries may hold a presigned URL's credentials.
        `${head}: ${line.error === undefined ? "(no error text)" : withoutQueries(line.error)}`,
        `what to do: the error names the side; act on it as docs/runbook.md#failed-command says for its kind ` +
          `(a missing target repository: create it; an immutable tag: decide with the image's owners), then ${backfill}.`,
      ];
    case "planned":
      return [`${head} (a reconcile --dry-run: nothing was copied)`, `what to do: ${backfill}.`];
    case "unsupported":
      return [
        `${head}: ${withoutQueries(line.reason ?? "")}`,
        `what to do: push it under a tag of at most 128 characters too.`,
      ];
    default:
      // copied, unchanged, superseded: the copy was right when it was made; one of the tags moved since.
      return [
        head,
        movedSince
          ? `what to do: the css tag was pushed again after that result; its copy should follow within minutes ` +
            `(docs/runbook.md#latency-high if not), else ${backfill}.`
          : `what to do: the legacy tag changed after that result (re-pushed or deleted by hand, or a lifecycle ` +
            `policy: docs/operations.md#lifecycle-policies-on-the-legacy-repositories); ${backfill}.`,
      ];
  }
}

/** The answer for one tag: in sync or not, and why and what to do. */
export function verdict(
  pair: Pair,
  source: TagState,
  target: TagState,
  last: LastResult | undefined,
): Verdict {
  const s = `css ${pair.source}:${pair.tag}`;
  const t = `legacy ${pair.target}:${pair.tag}`;
  if (source.kind === "no-repository")
    return {
      inSync: false,
      lines: [
        `not in sync: css has no repository ${pair.source}, which the map names: create it, or fix the map (docs/runbook.md#add-a-mapping).`,
      ],
    };
  if (source.kind === "no-tag")
    return {
      inSync: false,
      lines: [
        `not in sync: ${s} does not exist, so there is nothing to copy: check the tag, and that it was pushed to ${pair.source}.`,
      ],
    };
  if (target.kind === "digest" && target.digest === source.digest)
    return { inSync: true, lines: [`in sync: ${s} and ${t} both hold ${source.digest}.`] };
  const why =
    target.kind === "no-repository"
      ? `legacy has no repository ${pair.target}: copies to it fail (exit 5); create it (npm run -s status -- --repositories)`
      : target.kind === "no-tag"
        ? `${t} does not exist`
        : `${t} holds ${target.digest}, ${s} holds ${source.digest}`;
  return { inSync: false, lines: [`not in sync: ${why}.`, ...adviceFor(last, pair, source)] };
}

/** A result line from the results log, if `message` is one about the tag `target:tag`. */
export function imageLineFor(message: string, pair: Pair): ImageLine | undefined {
  let line: unknown;
  try {
    line = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (line === null || typeof line !== "object") return undefined;
  const { result, target } = line as Record<string, unknown>;
  if (typeof target !== "string" || !IMAGE_RESULTS.includes(result as ImageResult)) return undefined;
  // A referrer's line names the tag too, but is about a signature or SBOM, not the tag's image.
  if (isReferrerLine(line)) return undefined;
  // TARGET_REGISTRY/REPOSITORY:TAG: the registry (host[:port]) has no '/'.
  return target.slice(target.indexOf("/") + 1) === `${pair.target}:${pair.tag}`
    ? (line as ImageLine)
    : undefined;
}

export interface RepositoryState {
  readonly name: string;
  /** `undefined`: missing. */
  readonly mutability: string | undefined;
  readonly scanOnPush?: boolean;
}

/** The --repositories answer: a line per mapping, then every missing repository with its fix. */
export function repositoryReport(
  pairs: ReadonlyArray<{ source: RepositoryState; target: RepositoryState }>,
  accounts: { source: string; target: string; region: string },
): Verdict {
  const lines: string[] = [];
  const fixes: string[] = [];
  const describe = (r: RepositoryState) =>
    r.mutability === undefined
      ? "MISSING"
      : `${r.mutability}${r.scanOnPush === undefined ? "" : r.scanOnPush ? ", scan on push" : ", no scan on push"}`;
  for (const { source, target } of pairs) {
    lines.push(`${source.name} → ${target.name}: css ${describe(source)}; legacy ${describe(target)}`);
    if (source.mutability === undefined)
      fixes.push(
        `css (${accounts.source}) has no ${source.name}: pushes there create nothing to copy; create it, or fix the map`,
      );
    if (target.mutability === undefined) {
      // Mutable unless the source is immutable: a moved css tag must be able to move in legacy too.
      const mutability = source.mutability?.startsWith("IMMUTABLE") === true ? "IMMUTABLE" : "MUTABLE";
      fixes.push(
        `legacy (${accounts.target}) has no ${target.name}: copies to it fail with exit 5; with legacy credentials:\n` +
          `    aws ecr create-repository --region ${accounts.region} --repository-name ${target.name} ` +
          `--image-tag-mutability ${mutability} --image-scanning-configuration scanOnPush=true`,
      );
    } else if (
      target.mutability.startsWith("IMMUTABLE") &&
      source.mutability?.startsWith("MUTABLE") === true
    ) {
      fixes.push(
        `legacy ${target.name} is ${target.mutability} while css ${source.name} is ${source.mutability}: a css tag pushed ` +
          `again fails to copy with exit 6 (docs/runbook.md#failed-command); keep it only if tags are never re-pushed`,
      );
    }
  }
  const missing = pairs.some((p) => p.source.mutability === undefined || p.target.mutability === undefined);
  return {
    inSync: !missing,
    lines: [
      missing ? "missing repositories:" : "every mapped repository exists in both accounts.",
      ...lines.map((l) => `  ${l}`),
      ...fixes.map((f) => `- ${f}`),
    ],
  };
}

/** One account as the operator reaches it. */
interface Side {
  readonly name: "css" | "legacy";
  readonly accountId: string;
  readonly profile: string | undefined;
  readonly credentials: ReturnType<typeof fromIni>;
  readonly ecr: ECRClient;
  readonly sts: STSClient;
}

function credentialsText(side: { name: string; profile: string | undefined }): string {
  return side.profile === undefined ? "the default credential chain" : `profile ${shown(side.profile)}`;
}

function side(name: Side["name"], accountId: string, region: string, profile: string | undefined): Side {
  const credentials = profile === undefined ? fromNodeProviderChain() : fromIni({ profile });
  return {
    name,
    accountId,
    profile,
    credentials,
    ecr: new ECRClient({ region, credentials }),
    sts: new STSClient({ region, credentials }),
  };
}

const errorName = (error: unknown) => (error as { name?: string })?.name ?? "Error";

/** An AWS error that stops the check, naming the side, the call and what to do. */
function accessError(s: Side, call: string, error: unknown): AccessError {
  const message = error instanceof Error ? error.message : String(error);
  return new AccessError(
    `${s.name} (${s.accountId}) with ${credentialsText(s)}: ${call} failed: ${errorName(error)}: ${message}` +
      ` (what the check needs: docs/security.md#the-principals, the operator's row)`,
  );
}

/** Each side's credentials act in its account; else an AccessError saying which profile to give. */
async function checkAccount(s: Side): Promise<void> {
  let account: string | undefined;
  try {
    account = (await s.sts.send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    throw new AccessError(
      `no usable credentials for ${s.name} (${s.accountId}) from ${credentialsText(s)}: ${errorName(error)}: ` +
        `${error instanceof Error ? error.message : String(error)}; pass --${s.name}-profile`,
    );
  }
  if (account !== s.accountId)
    throw new AccessError(
      `${credentialsText(s)} acts in account ${account}, not ${s.name}'s ${s.accountId}: pass --${s.name}-profile ` +
        `with a profile for ${s.accountId}`,
    );
}

async function tagState(s: Side, repository: string, tag: string): Promise<TagState> {
  try {
    const answer = await s.ecr.send(
      new DescribeImagesCommand({
        registryId: s.accountId,
        repositoryName: repository,
        imageIds: [{ imageTag: tag }],
      }),
    );
    const image = answer.imageDetails?.[0];
    if (image?.imageDigest === undefined) return { kind: "no-tag" };
    return { kind: "digest", digest: image.imageDigest, pushedAt: image.imagePushedAt };
  } catch (error) {
    if (errorName(error) === "ImageNotFoundException") return { kind: "no-tag" };
    if (errorName(error) === "RepositoryNotFoundException") return { kind: "no-repository" };
    throw accessError(s, `ecr:DescribeImages on ${repository}:${tag}`, error);
  }
}

async function repositoryState(s: Side, name: string): Promise<RepositoryState> {
  try {
    const answer = await s.ecr.send(
      new DescribeRepositoriesCommand({ registryId: s.accountId, repositoryNames: [name] }),
    );
    const repository = answer.repositories?.[0];
    return {
      name,
      mutability: repository?.imageTagMutability ?? "MUTABLE",
      scanOnPush: repository?.imageScanningConfiguration?.scanOnPush,
    };
  } catch (error) {
    if (errorName(error) === "RepositoryNotFoundException") return { name, mutability: undefined };
    throw accessError(s, `ecr:DescribeRepositories on ${name}`, error);
  }
}

/** The newest result line for the tag in the results log group, within the lookback. */
async function lastResult(
  s: Side,
  logs: CloudWatchLogsClient,
  pair: Pair,
  now: number,
): Promise<LastResult | undefined> {
  const logGroupName = RESULTS_LOG_GROUP;
  let newest: LastResult | undefined;
  let nextToken: string | undefined;
  try {
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName,
          startTime: now - RESULTS_LOOKBACK_DAYS * 86_400_000,
          // A quoted term narrows the scan; imageLineFor checks each event exactly.
          filterPattern: `"/${pair.target}:${pair.tag}"`,
          nextToken,
        }),
      );
      for (const event of page.events ?? []) {
        const line = imageLineFor(event.message ?? "", pair);
        const at = event.timestamp ?? 0;
        if (line !== undefined && (newest === undefined || at >= newest.at.getTime()))
          newest = { at: new Date(at), line };
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") return undefined;
    throw accessError(s, `logs:FilterLogEvents on ${logGroupName}`, error);
  }
  return newest;
}

/** The whole check: what it prints on stdout, and the exit code. */
export async function run(options: Options, root?: string): Promise<{ text: string; code: number }> {
  const settings = sourceSettings(options.stack, root);
  const stackFile = `Pulumi.${options.stack}.yaml`;
  const pair =
    options.image === undefined ? undefined : resolveImage(settings.repositories, options.image, stackFile);
  const css = side("css", settings.sourceAccountId, settings.region, options.cssProfile);
  const legacy = side("legacy", settings.targetAccountId, settings.region, options.legacyProfile);
  const logs = new CloudWatchLogsClient({ region: settings.region, credentials: css.credentials });
  try {
    await Promise.all([checkAccount(css), checkAccount(legacy)]);
    let answer: Verdict;
    let heading: string;
    if (pair === undefined) {
      heading = `${stackFile}: css ${settings.sourceAccountId}, legacy ${settings.targetAccountId}, ${settings.region}`;
      const pairs = await Promise.all(
        Object.entries(settings.repositories).map(async ([source, target]) => ({
          source: await repositoryState(css, source),
          target: await repositoryState(legacy, target),
        })),
      );
      answer = repositoryReport(pairs, {
        source: settings.sourceAccountId,
        target: settings.targetAccountId,
        region: settings.region,
      });
    } else {
      heading = `${pair.source}:${pair.tag} (css ${settings.sourceAccountId}) → ${pair.target}:${pair.tag} (legacy ${settings.targetAccountId}), ${stackFile}`;
      const [source, target] = await Promise.all([
        tagState(css, pair.source, pair.tag),
        tagState(legacy, pair.target, pair.tag),
      ]);
      const synced = source.kind === "digest" && target.kind === "digest" && source.digest === target.digest;
      const last =
        synced || source.kind !== "digest" ? undefined : await lastResult(css, logs, pair, Date.now());
      answer = verdict(pair, source, target, last);
    }
    return {
      text: [heading, ...answer.lines].join("\n"),
      code: answer.inSync ? STATUS_EXIT.inSync : STATUS_EXIT.notInSync,
    };
  } finally {
    css.ecr.destroy();
    css.sts.destroy();
    legacy.ecr.destroy();
    legacy.sts.destroy();
    logs.destroy();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  if (options === undefined) {
    process.stdout.write(`${usage()}\n`);
    return STATUS_EXIT.inSync;
  }
  const { text, code } = await run(options);
  process.stdout.write(`${text}\n`);
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof UsageError) {
        process.stderr.write(`status: ${message}\n(usage and examples: npm run -s status -- --help)\n`);
        process.exitCode = STATUS_EXIT.usage;
      } else if (error instanceof AccessError) {
        process.stderr.write(`status: ${message}\n`);
        process.exitCode = STATUS_EXIT.access;
      } else {
        process.stderr.write(`status: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
        process.exitCode = STATUS_EXIT.access;
      }
    },
  );
}

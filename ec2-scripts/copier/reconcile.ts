import { IMAGE_TAG_MAX_LENGTH, IMAGE_TAG_PATTERN, isImageTag, isReferrersTag } from "../../common/naming";
import { ExitCode } from "../../common/result-lines";
import { Copier } from "./copy";
import { decidePlanned, reconcileExitCode } from "./decide";
import { asFailure } from "./failure";
import { log } from "./log";
import { isTagImmutable, TagPolicy } from "./mutability";
import { Results } from "./results";
import { Limiter } from "./limiter";
import { Config } from "./config";

/**
 * reconcile: for every mapping, the source's tags (its tag list), both sides' digests read a few
 * at a time, and a copy under the lock (copy.ts) for each tag whose digest the target lacks,
 * `parallelism` at a time. In-sync tags are decided without the lock: nothing is written for them.
 */
export async function reconcile(
  config: Config,
  copier: Copier,
  results: Results,
  policies: ReadonlyMap<string, TagPolicy | Error>,
  dryRun: boolean,
  parallelism: number,
  startedAt: number,
): Promise<ExitCode> {
  const failures: ExitCode[] = [];
  const jobs = new Limiter(parallelism);
  const copies: Array<Promise<void>> = [];
  for (const [sourceRepository, targetRepository] of config.mappings) {
    const sourceBase = `${config.sourceRegistry}/${sourceRepository}`;
    const targetBase = `${config.targetRegistry}/${targetRepository}`;
    let policy: TagPolicy;
    let listed: string[];
    try {
      const described = policies.get(targetRepository);
      if (described === undefined || described instanceof Error) throw described;
      policy = described;
      listed = [...new Set(await copier.source.listTags(sourceRepository))].sort();
    } catch (error) {
      const failure = asFailure(error);
      results.image("failed", { source: sourceBase, target: targetBase }, { error: failure.message });
      failures.push(failure.code);
      continue;
    }
    log(`reconcile ${sourceBase} -> ${targetBase}: ${listed.length} source tags`);
    // ECR accepts tags (up to 300 characters) that an image reference cannot carry (128), so no
    // copier can name them: one line each, every run, and no failure (nothing a retry can fix).
    const tags: string[] = [];
    let referrerIndexes = 0;
    for (const tag of listed) {
      if (config.copyReferrers && isReferrersTag(tag)) referrerIndexes++;
      else if (isImageTag(tag)) tags.push(tag);
      else unsupported(results, `${sourceBase}:${tag}`, `${targetBase}:${tag}`, tag);
    }
    if (referrerIndexes > 0)
      log(
        `reconcile ${sourceBase}: ${referrerIndexes} referrers tags (sha256-HEX, a registry without the referrers API lists referrers there) not copied as images: their referrers travel with their images`,
      );
    const referrersCompared = new Set<string>();
    const listedTags = new Set(listed);
    const [sourceReads, targetReads] = await Promise.all([
      copier.source.manifestDigests(sourceRepository, tags, (tag) => `reading ${sourceBase}:${tag}`),
      copier.target.manifestDigests(targetRepository, tags, (tag) => `reading ${targetBase}:${tag}`),
    ]);
    tags.forEach((tag, i) => {
      const images = { source: `${sourceBase}:${tag}`, target: `${targetBase}:${tag}` };
      const decision = decidePlanned({
        images,
        source: sourceReads[i],
        target: targetReads[i],
        immutable: isTagImmutable(policy, tag),
        dryRun,
      });
      if (decision.do === "lock") {
        copies.push(
          jobs
            .run(() =>
              copier.copyImage(sourceRepository, targetRepository, tag, policy, "plan", decision.digest),
            )
            .then((code) => {
              if (code !== 0) failures.push(code);
            }),
        );
        return;
      }
      if (decision.result === "superseded" && decision.reason) log(decision.reason);
      results.image(decision.result, images, {
        digest: decision.digest,
        error: decision.error,
        reason: decision.reason,
      });
      if (decision.code !== 0) failures.push(decision.code);
      const inSync = decision.result === "unchanged" ? decision.digest : undefined;
      const read = sourceReads[i];
      // Tags of one image share its referrers: compared (and healed) once per digest.
      if (config.copyReferrers && !dryRun && inSync !== undefined && !referrersCompared.has(inSync)) {
        referrersCompared.add(inSync);
        copies.push(
          jobs
            .run(() =>
              copier.healReferrers(sourceRepository, targetRepository, tag, inSync, {
                listed: listedTags,
                mediaType: read.kind === "found" ? read.mediaType : undefined,
              }),
            )
            .then((code) => {
              if (code !== 0) failures.push(code);
            }),
        );
      }
    });
  }
  await Promise.all(copies);
  results.summary(startedAt, dryRun);
  const code = reconcileExitCode(failures);
  if (failures.length > 0) log(`error: reconcile: ${failures.length} image(s) failed (see the failed lines)`);
  else log(dryRun ? "reconcile dry run done: nothing was written" : "reconcile done");
  return code;
}

function unsupported(results: Results, source: string, target: string, tag: string): void {
  const reason =
    tag.length > IMAGE_TAG_MAX_LENGTH
      ? `the tag has ${tag.length} characters: ECR accepts up to 300, but an image reference carries at most ${IMAGE_TAG_MAX_LENGTH}, so it cannot be copied (push the image under a shorter tag as well)`
      : `the tag is not one an image reference can carry (${IMAGE_TAG_PATTERN}), so it cannot be copied (push the image under such a tag as well)`;
  log(`warning: skipping ${source}: ${reason}`);
  results.image("unsupported", { source, target }, { reason });
}

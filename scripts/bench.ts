/**
 * `npm run bench`: measures the copier (ec2-scripts/copier, its bundle) doing real work against
 * real local servers, and compares it with the physical limit of moving the same bytes once over
 * plain HTTP.
 *
 * World: the integration tests' own (local/world.ts): moto_server for STS and ECR behind a proxy
 * that records every AWS call (the target side is reached only through an assumed role), a source
 * docker-registry and, for every measured copy that must start from an empty target, a fresh
 * target docker-registry (htpasswd auth, access log on) on a free loopback port (scripts/bench/
 * session.ts says why). These run on this machine; every copier run, skopeo alone and `node -e 0`
 * run inside the worker's Debian root with its node, skopeo and flock (scripts/bench/in-root.ts),
 * as `npm run bench` builds or reuses it first. Every time around such a run includes bwrap's
 * start, measured alone. Each copier run's AWS calls are counted at moto's door.
 *
 * Stages, in order, one file each under scripts/bench/ (each figure the median of several runs;
 * docs/benchmarks.md says what each means):
 *  1. full-copy.ts: a ~200 MiB 5-layer image vs. the plain-HTTP baseline (http.ts) and skopeo alone
 *  2. unchanged.ts: time (next to `node -e 0` in the root, same rounds), AWS calls and layer bytes
 *     moved (registry access logs); breakdown.ts: where a full and an unchanged copy spend their
 *     time (the copier's own trace, ECR_SYNC_TRACE=1: traced.ts, profile.ts) and CPU (cpu.ts);
 *     bwrap's start
 *  3. incremental.ts: bytes moved / size of the one changed layer
 *  4. multiarch.ts: an index of three platforms: time, digest preserved
 *  5. reconcile.ts: reconcile of 10, 50, 200 tags in sync; backfill.ts: 50 small missing tags
 *  6. burst.ts: 20 copies of 20 tags started at once: total time, all arrived
 * runner.ts sequences them and owns the world; targets.ts judges each figure that has a target
 * (met, or missed by how much); report.ts prints the result.
 *
 * Output: progress on stderr; on stdout a header and a Markdown table (it pastes into
 * docs/benchmarks.md as it is), then as the very last line one JSON object (with the copier's tool
 * versions and the User-Agents that reached the target registries).
 * `--quick` shrinks sizes and run counts (a smoke test of the bench itself, not figures to keep).
 * Exit 1 when a stage fails, or (after the report) when the multi-arch digest is not preserved
 * or a burst copy does not arrive.
 * Servers and temp dirs are removed on exit, failure, Ctrl-C and SIGTERM.
 */
import { progress } from "./bench/measure";
import { parseArguments } from "./bench/plan";
import { runBench } from "./bench/runner";

async function main(): Promise<void> {
  const { plan, quick } = parseArguments(process.argv.slice(2));
  await runBench(plan, quick);
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});

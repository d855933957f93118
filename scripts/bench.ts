/**
 * `npm run bench`: measures the copier (ec2-scripts/copier, its bundle) doing real work against
 * real local servers, and compares it with the physical limit of moving the same bytes once over
 * plain HTTP.
 *
 * World: the integration tests' own (local/world.ts): moto_server for STS and ECR behind a proxy
 * that records every AWS call (the target side is reached only through an assumed role), a source
 * docker-registry and, for every measured copy that must start from an empty target, a fresh
 * target docker-registry (htpasswd auth, access log on) on a free loopback port (scripts/bench/
 * session.ts says why). These run on this machine; every copier run and `node -e 0` run inside
 * the worker's Debian root with its node, skopeo and flock (scripts/bench/in-root.ts), as
 * `npm run bench` builds or reuses it first. Each copier run's AWS calls are counted at moto's
 * door, and its CPU, the registries' and moto's are measured (cpu.ts).
 *
 * Stages, in order, one file each under scripts/bench/, each a figure issue 18 sets a target for
 * (targets.ts; each the median of several runs; docs/benchmarks.md says what each means):
 *  1. full-copy.ts: a ~200 MiB 5-layer image vs. the plain-HTTP baseline (http.ts): the ratio
 *  2. unchanged.ts: time (next to `node -e 0` in the root, same rounds), layer bytes moved
 *  3. incremental.ts: bytes moved / size of the one changed layer
 *  4. multiarch.ts: an index of three platforms: digest preserved
 *  5. reconcile.ts: 200 tags in sync; backfill.ts: 50 small missing tags
 *  6. burst.ts: 20 copies of 20 tags started at once: total time, all arrived
 * runner.ts sequences them and owns the world; report.ts prints the result; record.ts writes it
 * into docs/benchmarks.md.
 *
 * Output: progress on stderr; on stdout a header, a Markdown table, under it one line per time
 * target missed with the CPU the run used and the floor that gives on this machine's cores, then
 * as the very last line one JSON object (with the copier's tool versions and the User-Agents that
 * reached the target registries).
 * `--quick` shrinks sizes and run counts (a smoke test of the bench itself, not figures to keep).
 * `--record` rewrites the latest run in docs/benchmarks.md (a --quick run under a heading that says so).
 * Exit 1 when a stage fails, or (after the report, recording nothing) when the multi-arch digest is
 * not preserved or a burst copy does not arrive.
 * Servers and temp dirs are removed on exit, failure, Ctrl-C and SIGTERM.
 */
import { progress } from "./bench/measure";
import { parseArguments } from "./bench/plan";
import { runBench } from "./bench/runner";

const USAGE = `usage: npm run bench [-- --quick] [-- --record]

  --quick   small sizes, few runs: a smoke test of the bench itself, not figures to keep
  --record  write this run into docs/benchmarks.md (between its markers), in place of the last one
  -h, --help  this text

Progress on stderr; the table, the why lines of missed time targets and one JSON line on stdout.
Exit 1 when a stage fails or a correctness check (multi-arch digest, burst arrivals) fails; 2 for
a usage error. docs/benchmarks.md says what each figure means.
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  let parsed;
  try {
    parsed = parseArguments(args);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  await runBench(parsed);
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});

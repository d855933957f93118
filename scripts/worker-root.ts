/**
 * `npm run -s worker-root`: builds the worker's Debian root (local/worker-root.ts) when it is
 * missing or its package list changed, else reuses it; prints where it is, how long it took and the
 * versions of the tools the copier runs; likewise the fresh-image root the user-data test starts from. The tests, the bench and `npm start` run the copier in it.
 */
import { performance } from "node:perf_hooks";
import { buildWorkerRoot, FRESH_IMAGE_SPEC, workerRootVersions } from "../local/worker-root";

const COPIER_TOOLS = ["nodejs", "bash", "skopeo", "awscli", "jq", "curl", "chrony"];

function main(): void {
  const started = performance.now();
  const { root, built } = buildWorkerRoot();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const versions = workerRootVersions(root);
  const tools = COPIER_TOOLS.map((name) => `${name} ${versions[name] ?? "?"}`).join(", ");
  process.stderr.write(`worker root ${built ? `built in ${seconds} s` : "reused"}: ${root}\n  ${tools}\n`);
  // The image before its first boot, for the test that runs the user data itself.
  const freshStarted = performance.now();
  const fresh = buildWorkerRoot(FRESH_IMAGE_SPEC);
  const freshSeconds = ((performance.now() - freshStarted) / 1000).toFixed(1);
  process.stderr.write(
    `fresh image root ${fresh.built ? `built in ${freshSeconds} s` : "reused"}: ${fresh.root}\n`,
  );
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

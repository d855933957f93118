/**
 * `npm run -s worker-root`: builds the worker's Debian root (local/worker-root.ts) when it is
 * missing or its package list changed, else reuses it; prints where it is, how long it took and the
 * versions of the packages the worker runs (WORKER_TOOLS); likewise the fresh-image root the
 * user-data test starts from, and the tests' own tools from that release (TEST_TOOLS). The tests,
 * the bench and `npm start` run the copier in it.
 */
import { performance } from "node:perf_hooks";
import {
  buildWorkerRoot,
  debianTestTool,
  FRESH_IMAGE_SPEC,
  TEST_TOOLS,
  workerRootVersions,
} from "../local/worker-root";

/**
 * The copier's (nodejs, skopeo, util-linux: flock and setpriv), the SSM documents' (awscli) and the
 * user data's (curl, jq, chrony) packages.
 */
const WORKER_TOOLS = ["nodejs", "skopeo", "oras", "util-linux", "awscli", "curl", "jq", "chrony"];

function main(): void {
  const started = performance.now();
  const { root, built } = buildWorkerRoot();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const versions = workerRootVersions(root);
  const tools = WORKER_TOOLS.map((name) => `${name} ${versions[name] ?? "?"}`).join(", ");
  process.stderr.write(`worker root ${built ? `built in ${seconds} s` : "reused"}: ${root}\n  ${tools}\n`);
  // The image before its first boot, for the test that runs the user data itself.
  const freshStarted = performance.now();
  const fresh = buildWorkerRoot(FRESH_IMAGE_SPEC);
  const freshSeconds = ((performance.now() - freshStarted) / 1000).toFixed(1);
  process.stderr.write(
    `fresh image root ${fresh.built ? `built in ${freshSeconds} s` : "reused"}: ${fresh.root}\n`,
  );
  // The tests' and npm start's tools from the same release (cosign signs their images).
  for (const { pkg, program } of TEST_TOOLS)
    process.stderr.write(`test tool ${pkg}: ${debianTestTool(pkg, program, true)}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

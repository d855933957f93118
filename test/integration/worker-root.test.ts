/**
 * The copier's tools are the worker's: the tests run the copier's bundle in the Debian 13 root
 * (local/worker-root.ts) the way local/world.ts spawnScript does, with this machine's PATH handed
 * in. This prints what the copier, the SSM documents and the user data see there and fails when a
 * tool is not the root's own package.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { WORKER_DEBIAN, WORKER_PACKAGES } from "../../common/worker-os";
import { spawnSyncInWorkerRoot, workerRoot, workerRootVersions } from "../../local/worker-root";

/** Debian's package version without epoch and Debian revision: 1:2.23.6-1 → 2.23.6. */
const upstream = (version: string) => version.replace(/^\d+:/, "").replace(/[-+~].*$/, "");

/**
 * Each tool run on the worker, the package that must provide it, and how it prints its version
 * (jq 1.7.1 prints only "jq-1.7", so its check compares two parts of the version). The copier runs
 * node, skopeo, flock and setpriv (ec2-scripts/copier); the SSM documents fetch it with aws and
 * check it with sha256sum (components/document-content.ts); the user data, a bash script, fetches
 * the SSM agent with curl and configures it with jq (components/user-data.ts).
 */
const TOOLS: Array<{ tool: string; pkg: string; version: string; parts?: number }> = [
  { tool: "node", pkg: "nodejs", version: "node --version" },
  { tool: "skopeo", pkg: "skopeo", version: "skopeo --version" },
  { tool: "flock", pkg: "util-linux", version: "flock --version" },
  { tool: "setpriv", pkg: "util-linux", version: "setpriv --version" },
  { tool: "aws", pkg: "awscli", version: "aws --version" },
  { tool: "sha256sum", pkg: "coreutils", version: "sha256sum --version | head -n 1" },
  { tool: "bash", pkg: "bash", version: "bash --version | head -n 1" },
  { tool: "curl", pkg: "curl", version: "curl --version | head -n 1" },
  { tool: "jq", pkg: "jq", version: "jq --version", parts: 2 },
];

describe("the worker's Debian 13 root, where the copier runs", function () {
  this.timeout(60000);

  it("is built from the worker's package list", () => {
    const versions = workerRootVersions(workerRoot());
    for (const pkg of WORKER_PACKAGES) expect(versions, pkg).to.have.property(pkg);
  });

  it("gives the copier the root's own tools, whatever this machine's PATH holds", () => {
    const versions = workerRootVersions(workerRoot());
    const program = [
      "cat /etc/debian_version",
      ...TOOLS.flatMap(({ tool, version }) => [`command -v ${tool}`, version]),
      "command -v moto_server docker-registry || true",
    ].join("\n");
    // This machine's PATH, as the tests hand it to the copier: its own aws, skopeo and servers first.
    const run = spawnSyncInWorkerRoot(["bash", "-c", program], { env: { PATH: process.env.PATH ?? "" } });
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split("\n");
    process.stdout.write(`      the copier sees: Debian ${lines[0]}\n`);
    expect(lines.shift()).to.match(new RegExp(`^${WORKER_DEBIAN.version}\\.\\d+$`));
    for (const { tool, pkg, parts } of TOOLS) {
      const path = lines.shift();
      const printed = lines.shift() ?? "";
      process.stdout.write(`        ${path}: ${printed} (Debian package ${pkg} ${versions[pkg]})\n`);
      expect(path, tool).to.equal(`/usr/bin/${tool}`);
      const expected = upstream(versions[pkg])
        .split(".")
        .slice(0, parts ?? Infinity)
        .join(".");
      expect(printed, `${tool} is the root's ${pkg} ${versions[pkg]}`).to.include(expected);
    }
    expect(lines, "this machine's servers are not reachable as programs inside").to.deep.equal([]);
  });

  it("shares a folder wherever it is, also below a folder the root has (a checkout in /home, /var or /root)", () => {
    for (const parent of ["/var/tmp", "/root"]) {
      const dir = mkdtempSync(join(parent, "ecr-sync-shared-"));
      try {
        writeFileSync(join(dir, "seen"), "from outside\n");
        const run = spawnSyncInWorkerRoot(["sh", "-c", 'cat "$0/seen"; cat /etc/debian_version', dir], {
          binds: [dir],
        });
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stdout).to.match(new RegExp(`^from outside\\n${WORKER_DEBIAN.version}\\.`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

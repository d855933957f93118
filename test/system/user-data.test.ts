/**
 * The worker's user data, run as it is in a fresh Debian 13 root (a stand-in for the cloud image
 * before first boot: local/worker-root.ts FRESH_IMAGE_SPEC), with Debian's archive for real. What a
 * root cannot do is replaced by stand-ins on PATH, each named here:
 * - `systemctl`: no systemd in a root; it records what it was asked;
 * - `curl` for the agent's URL only: AWS's bucket is not reachable here, so it hands over a
 *   stand-in amazon-ssm-agent .deb holding a configuration template shaped like the agent's
 *   (amazon-ssm-agent.json.template in aws/amazon-ssm-agent); every other URL goes to the root's curl;
 * - `apt-get`: a flaky mirror, failing its first call once, then the root's apt-get;
 * - `sleep`: records the retry's pause instead of waiting it.
 * One thing is added to the image: this machine may reach Debian's archive through a TLS-inspecting
 * proxy whose CA only this machine's bundle holds, so apt in the copy is told to trust that bundle
 * (Acquire::https::CAInfo); the worker's apt trusts its own.
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { WORKER_PACKAGES } from "../../common/worker-os";
import {
  AMAZON_TIME_SYNC_SOURCE,
  SSM_AGENT_COMMAND_WORKERS,
  workerUserData,
} from "../../components/user-data";
import { FRESH_IMAGE_SPEC, spawnSyncInWorkerRoot, workerRoot } from "../../local/worker-root";

/** This machine's CA bundle (Debian's path), which its proxy's CA is in when it has one. */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** The stand-in agent's configuration template: the agent's own shape, trimmed to a few keys. */
const AGENT_TEMPLATE = {
  Mds: { CommandWorkersLimit: 5, StopTimeoutMillis: 20000, Endpoint: "", CommandRetryLimit: 15 },
  Agent: { Region: "", SelfUpdate: false },
};

describe("the worker's user data, in a fresh Debian 13 root", function () {
  // Two runs with apt against Debian's archive; 2 cores shared with the rest of the suite.
  this.timeout(15 * 60 * 1000);
  let scratch: string;
  let root: string;
  let standIns: string;
  let failed: SpawnSyncReturns<string>;
  let agentAfterFailure: SpawnSyncReturns<string>;
  let pausesOfFailedRun: string;
  let aptCallsOfFailedRun: string[];
  let run: SpawnSyncReturns<string>;

  before(async () => {
    const fresh = workerRoot(FRESH_IMAGE_SPEC);
    scratch = await mkdtemp(join(tmpdir(), "ecr-sync-user-data-"));
    root = join(scratch, "root");
    const copy = spawnSync("cp", ["-a", fresh, root], { encoding: "utf8" });
    expect(copy.status, copy.stderr).to.equal(0);
    standIns = join(scratch, "stand-ins");
    await mkdir(standIns);
    await buildStandInAgent(join(scratch, "amazon-ssm-agent.deb"));
    await imageSources(root);
    // Inside the root (apt reads it as its _apt user, who cannot enter the scratch directory).
    await copyFile(HOST_CA_BUNDLE, join(root, "etc/apt/ecr-sync-test-ca.crt"));
    await writeFile(
      join(root, "etc/apt/apt.conf.d/00ecr-sync-test-ca"),
      'Acquire::https::CAInfo "/etc/apt/ecr-sync-test-ca.crt";\n',
    );
    const script = (name: string, lines: string[]) =>
      writeFile(join(standIns, name), ["#!/bin/sh", ...lines, ""].join("\n")).then(() =>
        chmod(join(standIns, name), 0o755),
      );
    await script("systemctl", [`echo "$*" >>'${scratch}/systemctl.log'`]);
    await script("sleep", [`echo "$*" >>'${scratch}/sleep.log'`]);
    await script("apt-get", [
      `echo "$*" >>'${scratch}/apt-get.log'`,
      `if [ ! -e '${scratch}/apt-failed-once' ]; then : >'${scratch}/apt-failed-once'; echo 'E: stand-in: mirror hiccup' >&2; exit 100; fi`,
      'exec /usr/bin/apt-get "$@"',
    ]);
    await script("curl", [
      'for arg in "$@"; do last="$arg"; done',
      'case "$last" in',
      "  */amazon-ssm-agent.deb)",
      `    [ -e '${scratch}/agent-download-fails' ] && { echo 'curl: (22) stand-in: 503' >&2; exit 22; }`,
      '    while [ "$1" != --output ]; do shift; done',
      `    exec cp '${scratch}/amazon-ssm-agent.deb' "$2" ;;`,
      "esac",
      'exec /usr/bin/curl "$@"',
    ]);
    await writeFile(join(scratch, "user-data.sh"), workerUserData("us-east-1"));

    // First boot with the agent's download failing, then the same script again.
    await writeFile(join(scratch, "agent-download-fails"), "");
    failed = runUserData();
    agentAfterFailure = inRoot(["dpkg-query", "-W", "amazon-ssm-agent"]);
    pausesOfFailedRun = await readFile(join(scratch, "sleep.log"), "utf8");
    aptCallsOfFailedRun = (await readFile(join(scratch, "apt-get.log"), "utf8")).trim().split("\n");
    await rm(join(scratch, "agent-download-fails"));
    run = runUserData();
  });

  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const runUserData = () =>
    spawnSyncInWorkerRoot(["bash", join(scratch, "user-data.sh")], {
      root,
      writable: true,
      env: { PATH: standIns, HOME: "/root" },
    });
  const inRoot = (argv: string[]) => spawnSyncInWorkerRoot(argv, { root, env: { PATH: "" } });

  it("fails naming its step when the agent cannot be fetched, after retrying apt with its lock wait", () => {
    expect(failed.status, failed.stderr).to.not.equal(0);
    expect(failed.stderr).to.match(/ecr-sync bootstrap FAILED at line \d+: curl /);
    expect(agentAfterFailure.status, "no agent installed by the failed run").to.not.equal(0);
    // The flaky mirror's first answer was retried after a pause, with apt waiting for its lock.
    expect(pausesOfFailedRun).to.equal("15\n");
    expect(aptCallsOfFailedRun.slice(0, 2)).to.deep.equal([
      "-o DPkg::Lock::Timeout=600 update",
      "-o DPkg::Lock::Timeout=600 update",
    ]);
  });

  it("succeeds when run again, and says which tools and how many command workers it set up", () => {
    expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stdout.trim().split("\n").at(-1)).to.match(
      new RegExp(
        `^ecr-sync worker ready: skopeo version 1\\.18\\.\\d+, aws-cli/2\\.\\S+ .*, agent 3\\.3\\.0\\.0-stand-in, ${SSM_AGENT_COMMAND_WORKERS} command workers$`,
      ),
    );
  });

  it("installs every worker package from Debian's archive over https", () => {
    const installed = inRoot([
      "dpkg-query",
      "-W",
      "-f",
      "${Package} ${db:Status-Abbrev}\n",
      ...WORKER_PACKAGES,
    ]);
    expect(installed.status, installed.stderr).to.equal(0);
    for (const line of installed.stdout.trim().split("\n")) expect(line).to.match(/^\S+ ii *$/);
    const mirrors = inRoot([
      "sh",
      "-c",
      "cat /etc/apt/mirrors/debian.list /etc/apt/mirrors/debian-security.list",
    ])
      .stdout.trim()
      .split("\n");
    expect(mirrors).to.deep.equal([
      "https://deb.debian.org/debian",
      "https://deb.debian.org/debian-security",
    ]);
  });

  it("sets the agent's command workers in the agent's own configuration, keeping the rest of its template", () => {
    const config = JSON.parse(inRoot(["cat", "/etc/amazon/ssm/amazon-ssm-agent.json"]).stdout);
    expect(config).to.deep.equal({
      ...AGENT_TEMPLATE,
      Mds: { ...AGENT_TEMPLATE.Mds, CommandWorkersLimit: SSM_AGENT_COMMAND_WORKERS },
    });
  });

  it("takes time from the Amazon Time Sync Service only, and starts chrony and the agent", async () => {
    // chronyd -p prints the configuration chrony reads; the sources directory holds the rest.
    const printed = inRoot(["chronyd", "-p"]);
    expect(printed.status, printed.stderr).to.equal(0);
    expect(printed.stdout).to.not.match(/^(pool|server|peer) /m);
    expect(printed.stdout).to.match(/^sourcedir \/etc\/chrony\/sources\.d$/m);
    const sources = inRoot(["sh", "-c", "cat /etc/chrony/sources.d/*.sources"]).stdout;
    expect(sources.trim()).to.equal(AMAZON_TIME_SYNC_SOURCE);
    const systemctl = (await readFile(join(scratch, "systemctl.log"), "utf8")).trim().split("\n");
    expect(systemctl).to.include.members([
      "enable chrony",
      "restart chrony",
      "enable amazon-ssm-agent",
      "restart amazon-ssm-agent",
    ]);
  });

  /**
   * The apt sources as Debian's cloud images lay them out: deb822 files whose URIs are mirror lists
   * (`mirror+file:`), the lists holding http URLs that the user data switches to https.
   */
  async function imageSources(dir: string): Promise<void> {
    await rm(join(dir, "etc/apt/sources.list"), { force: true });
    await mkdir(join(dir, "etc/apt/mirrors"), { recursive: true });
    await writeFile(join(dir, "etc/apt/mirrors/debian.list"), "http://deb.debian.org/debian\n");
    await writeFile(
      join(dir, "etc/apt/mirrors/debian-security.list"),
      "http://deb.debian.org/debian-security\n",
    );
    const stanza = (list: string, suites: string) =>
      [
        "Types: deb",
        `URIs: mirror+file:///etc/apt/mirrors/${list}.list`,
        `Suites: ${suites}`,
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      ].join("\n");
    await writeFile(
      join(dir, "etc/apt/sources.list.d/debian.sources"),
      `${stanza("debian", "trixie trixie-updates")}\n\n${stanza("debian-security", "trixie-security")}\n`,
    );
  }

  /** A .deb named amazon-ssm-agent that installs only the configuration template. */
  async function buildStandInAgent(file: string): Promise<void> {
    const dir = join(scratch, "agent-deb");
    await mkdir(join(dir, "DEBIAN"), { recursive: true });
    await mkdir(join(dir, "etc/amazon/ssm"), { recursive: true });
    await writeFile(
      join(dir, "DEBIAN/control"),
      [
        "Package: amazon-ssm-agent",
        "Version: 3.3.0.0-stand-in",
        "Architecture: all",
        "Maintainer: ecr-sync tests <nobody@example.invalid>",
        "Description: stand-in for AWS's SSM agent package (configuration template only)",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(dir, "etc/amazon/ssm/amazon-ssm-agent.json.template"),
      JSON.stringify(AGENT_TEMPLATE, null, 4),
    );
    const build = spawnSync("dpkg-deb", ["--root-owner-group", "--build", dir, file], { encoding: "utf8" });
    expect(build.status, build.stderr).to.equal(0);
  }
});

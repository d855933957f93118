/**
 * The worker's own Debian root, for the tests, the bench and the twin: Debian 13 built from
 * Debian's archive with `debootstrap`, holding exactly the worker's packages (common/worker-os.ts),
 * cached outside the checkout and rebuilt when the list changes. `inWorkerRoot` runs a command
 * inside it with `bubblewrap`: the root read-only as `/`, the network, the temp dir and the
 * checkout shared (so paths are the same inside and out), and a fresh tmpfs on /run, as the
 * worker's /run is. The copier then runs with the root's own node, skopeo, flock and setpriv (the
 * documents with its sh and AWS CLI), while the registries and moto stay outside on loopback.
 *
 * The root holds one thing the worker does not: an empty directory where the host's libfaketime is
 * mounted, for the tests that move the copier's clock with `faketime` (see FAKETIME_DIR).
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { APT_INSTALL_OPTIONS, WORKER_DEBIAN, WORKER_PACKAGES } from "../common/worker-os";

/** The checkout, shared into the root at the same path. */
const CHECKOUT = resolve(__dirname, "..");
/** Bumped when the build steps below change, so that a root built by older steps is rebuilt. */
const BUILD_STEPS_VERSION = 2;
/** Where roots are kept between runs: outside the checkout, so git, Prettier and tsc never see them. */
export const WORKER_ROOT_CACHE = process.env.ECR_SYNC_WORKER_ROOT_CACHE ?? "/var/tmp/ecr-sync-worker-root";
/** The PATH of a root shell on Debian (/etc/profile's), which the worker's agent runs commands with. */
export const WORKER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The host's libfaketime, mounted at the same path (its `faketime` program preloads it by that path). */
const FAKETIME_DIR = `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/faketime`;
/** Debian's archive key: debootstrap checks the release's signature with it (it only warns without). */
const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
/** Debian's security archive: not every mirror carries it. */
const DEBIAN_SECURITY = "http://deb.debian.org/debian-security";
/** Every installed package and its version (TSV), written last by a build: a root without it is built again. */
const READY_FILE = "ecr-sync-versions.tsv";

/** The Debian archive this machine's apt uses (deb822 or one-line sources), else Debian's CDN. */
export function debianMirror(): string {
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    const uri = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+\/debian)\/?(?:\s|$)/m.exec(text);
    if (uri !== null) return uri[1];
  }
  return "http://deb.debian.org/debian";
}

export interface WorkerRootSpec {
  readonly codename: string;
  readonly mirror: string;
  readonly packages: readonly string[];
}

export const WORKER_ROOT_SPEC: WorkerRootSpec = {
  codename: WORKER_DEBIAN.codename,
  mirror: debianMirror(),
  packages: [...WORKER_PACKAGES],
};

/**
 * A stand-in for the Debian cloud image before its first boot, for running the user data itself:
 * the same release's minimal base plus the CA bundle, which the cloud image has and apt's first
 * https fetch needs. Copied before each run (the user data writes to it).
 */
export const FRESH_IMAGE_SPEC: WorkerRootSpec = { ...WORKER_ROOT_SPEC, packages: ["ca-certificates"] };

/** The root's folder for a spec: a new spec (another package, release or mirror) is a new root. */
export function workerRootDir(spec: WorkerRootSpec = WORKER_ROOT_SPEC): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ ...spec, packages: [...spec.packages].sort(), BUILD_STEPS_VERSION }))
    .digest("hex")
    .slice(0, 16);
  return join(WORKER_ROOT_CACHE, `${spec.codename}-${key}`, "root");
}

export class WorkerRootMissing extends Error {}

/**
 * The built root's folder; throws WorkerRootMissing, saying how to build it, when there is none.
 * Tests call it and fail with that message: they never skip and never fall back to this machine's tools.
 */
export function workerRoot(spec: WorkerRootSpec = WORKER_ROOT_SPEC): string {
  const dir = workerRootDir(spec);
  if (!existsSync(join(dir, READY_FILE))) {
    throw new WorkerRootMissing(
      `the worker's Debian ${spec.codename} root is not built (${dir}): run \`npm run -s worker-root\` ` +
        "(needs root, and debootstrap and bubblewrap from Debian), whose output says why a build failed",
    );
  }
  return dir;
}

/** The Debian package versions recorded when the root was built: package → version. */
export function workerRootVersions(root: string = workerRoot()): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(root, READY_FILE), "utf8").split("\n")) {
    const [name, version] = line.split("\t");
    if (name && version) versions[name] = version;
  }
  return versions;
}

export interface InWorkerRootOptions {
  /** Further host folders shared at the same path (the temp dir and the checkout always are). */
  readonly binds?: readonly string[];
  /** The root to run in (default: the built worker root). */
  readonly root?: string;
  /** Mount the root writable (only for a throwaway copy, such as the user-data test's). */
  readonly writable?: boolean;
}

/** `bwrap …` argv that runs `argv` inside the root (the caller sets env and cwd as for the bare command). */
export function inWorkerRoot(argv: readonly string[], options: InWorkerRootOptions = {}): string[] {
  const root = options.root ?? workerRoot();
  const shared = [...new Set([tmpdir(), CHECKOUT, ...(options.binds ?? [])])].map((dir) => resolve(dir));
  return [
    "bwrap",
    ...(options.writable === true ? ["--bind", root, "/"] : readOnlyRoot(root, shared)),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    // POSIX shared memory stays shared: libfaketime's `faketime` hands its clock to the processes
    // it starts through it (FAKETIME_SHARED), and without it the copier's own clock would not move.
    "--bind",
    "/dev/shm",
    "/dev/shm",
    "--tmpfs",
    "/run",
    ...shared.flatMap((dir) => ["--bind", dir, dir]),
    // This machine's resolver: the user-data test's apt looks Debian's archive up by name.
    ...(existsSync("/etc/resolv.conf") && existsSync(join(root, "etc/resolv.conf"))
      ? ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
      : []),
    ...(existsSync(join(root, FAKETIME_DIR)) && existsSync(FAKETIME_DIR)
      ? ["--ro-bind", FAKETIME_DIR, FAKETIME_DIR]
      : []),
    "--share-net",
    "--die-with-parent",
    "--",
    ...argv,
  ];
}

/**
 * The root mounted read-only on a tmpfs `/`, entry by entry, so that the shared folders' mount points
 * (the checkout's path, which differs from machine to machine: /home/…, /var/…) can be made without
 * writing to the root: a folder of the root on the way to a shared path becomes a tmpfs holding its
 * own entries, the rest are bound whole.
 */
function readOnlyRoot(root: string, shared: readonly string[]): string[] {
  const skipped = new Set(["/proc", "/dev", "/run", "/tmp"]);
  const args: string[] = ["--tmpfs", "/"];
  const mount = (path: string) => {
    for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
      const inside = join(path, entry.name);
      if (skipped.has(inside)) continue;
      if (entry.isSymbolicLink()) {
        args.push("--symlink", readlinkSync(join(root, inside)), inside);
      } else if (
        entry.isDirectory() &&
        shared.some((dir) => dir === inside || dir.startsWith(`${inside}/`))
      ) {
        // A shared folder is at or below it: its own entries, on a tmpfs the mount point can be made in.
        args.push("--tmpfs", inside);
        if (!shared.includes(inside)) mount(inside);
      } else {
        args.push("--ro-bind", join(root, inside), inside);
      }
    }
  };
  mount("/");
  return [...args, "--dir", "/tmp"];
}

/**
 * A PATH for a command in the root: the caller's folders that the root shares (a test's wrappers in
 * the temp dir), then the worker's own. This machine's tool folders are dropped, so nothing of the
 * host is found by accident.
 */
export function workerPathFrom(path: string | undefined): string {
  const sharedRoots = [tmpdir(), CHECKOUT].map((dir) => `${dir}/`);
  const kept = (path ?? "")
    .split(":")
    .filter((dir) => dir !== "" && sharedRoots.some((root) => dir.startsWith(root)))
    .filter((dir) => !dir.includes("/node_modules/"));
  return [...kept, WORKER_PATH].join(":");
}

/** Where `tool` is inside the root, as a path that is valid inside it ("" when it is not there). */
export function workerToolPath(tool: string, root: string = workerRoot()): string {
  for (const dir of WORKER_PATH.split(":")) {
    if (existsSync(join(root, dir, tool))) return join(dir, tool);
  }
  return "";
}

/** Runs `command` and throws with its output when it fails: the build's steps. */
function step(description: string, command: string, args: string[]): void {
  const run = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (run.error !== undefined || run.status !== 0) {
    const why = run.error !== undefined ? String(run.error) : `exit ${run.status ?? run.signal}`;
    throw new Error(`building the worker root: ${description} failed (${command}: ${why})`);
  }
}

/**
 * Builds the root when it is missing (under a lock, so two builders make one root), else reuses it.
 * Needs root and Debian's debootstrap and bubblewrap. Returns the root and whether it was built.
 */
export function buildWorkerRoot(spec: WorkerRootSpec = WORKER_ROOT_SPEC): { root: string; built: boolean } {
  const root = workerRootDir(spec);
  if (existsSync(join(root, READY_FILE))) return { root, built: false };
  // Both go into a script run as root: anything but a plain path or URL is refused, not quoted.
  for (const [what, value] of [
    ["ECR_SYNC_WORKER_ROOT_CACHE", WORKER_ROOT_CACHE],
    ["the Debian mirror", spec.mirror],
  ]) {
    if (!/^[A-Za-z0-9_.:/+-]+$/.test(value)) {
      throw new Error(
        `building the worker root: ${what} ${JSON.stringify(value)} is not a plain path or URL`,
      );
    }
  }
  if (!existsSync(DEBIAN_KEYRING)) {
    throw new Error(
      `building the worker root needs Debian's archive key (${DEBIAN_KEYRING}): apt-get install -y debian-archive-keyring`,
    );
  }
  for (const tool of ["debootstrap", "bwrap", "flock"]) {
    if (spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool]).status !== 0) {
      throw new Error(
        `building the worker root needs ${tool}: apt-get install -y debootstrap bubblewrap (as root)`,
      );
    }
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`building the worker root needs root (debootstrap and chroot): run it once with sudo`);
  }
  // The steps run in one shell under flock, so a second builder waits and then finds the root ready.
  // The root appears by one rename, complete with its versions file, or not at all.
  const home = dirname(root);
  const partial = `${root}.partial`;
  const security = DEBIAN_SECURITY;
  const script = [
    "set -euo pipefail",
    `[[ -f '${root}/${READY_FILE}' ]] && exit 0`,
    // A build killed mid-way (a CI timeout) can leave debootstrap's /proc and /sys mounted inside.
    `{ grep -o " ${partial}/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r umount -l`,
    `rm -rf --one-file-system '${partial}' '${root}'`,
    `debootstrap --variant=minbase --keyring='${DEBIAN_KEYRING}' '${spec.codename}' '${partial}' '${spec.mirror}'`,
    // The worker's image also has the point-release updates and the security archive.
    `printf '%s\\n' 'deb ${spec.mirror} ${spec.codename} main' 'deb ${spec.mirror} ${spec.codename}-updates main' ` +
      `'deb ${security} ${spec.codename}-security main' >'${partial}/etc/apt/sources.list'`,
    `chroot '${partial}' /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH='${WORKER_PATH}' ` +
      `sh -c 'apt-get update -qq && apt-get install -y -qq ${APT_INSTALL_OPTIONS.join(" ")} ${spec.packages.join(" ")} && apt-get clean'`,
    `mkdir -p '${partial}${FAKETIME_DIR}'`,
    // dpkg-query fails when a listed package is not installed.
    `chroot '${partial}' dpkg-query -W -f '\${Package}\\t\${Version}\\n' ${spec.packages.join(" ")} bash >/dev/null`,
    `chroot '${partial}' dpkg-query -W -f '\${Package}\\t\${Version}\\n' >'${partial}/${READY_FILE}'`,
    `mv '${partial}' '${root}'`,
  ].join("\n");
  step(`debootstrap ${spec.codename} and apt-get install ${spec.packages.join(" ")}`, "bash", [
    "-c",
    `mkdir -p '${home}' && exec flock '${home}/build.lock' bash -c "$0"`,
    script,
  ]);
  return { root, built: true };
}

/** `env` for a command in the root: the same, with its PATH made a worker PATH (workerPathFrom). */
export function workerEnvironment(env: Record<string, string>): Record<string, string> {
  return { ...env, PATH: workerPathFrom(env.PATH) };
}

/** spawnSync of `argv` inside the root (inWorkerRoot's options), in workerEnvironment(env). */
export function spawnSyncInWorkerRoot(
  argv: readonly string[],
  options: InWorkerRootOptions & { env?: Record<string, string>; cwd?: string } = {},
): SpawnSyncReturns<string> {
  const [command, ...args] = inWorkerRoot(argv, options);
  return spawnSync(command, args, {
    encoding: "utf8",
    cwd: options.cwd,
    env: workerEnvironment(options.env ?? { PATH: process.env.PATH ?? "" }),
    maxBuffer: 64 * 1024 * 1024,
  });
}

/**
 * A program the tests need from the worker's Debian release that the worker itself does not run
 * (cosign, which signs test images): its .deb fetched from the same archive the root came from,
 * checked against the sha256 that the root's apt index (signature-checked when the root was built)
 * gives for it, and unpacked beside the root. Returns the program's path; the program runs on this
 * machine (cosign needs only libc). Fetched by `npm run -s worker-root`; a test that finds it
 * missing fails saying so.
 */
export function debianTestTool(pkg: string, program: string = pkg, fetch = false): string {
  const root = workerRoot();
  const lists = join(root, "var/lib/apt/lists");
  // The newest version any of the root's indexes (the release, its updates, its security archive)
  // offers, as apt would install.
  let best: Record<string, string> | undefined;
  for (const file of readdirSync(lists).filter((f) => f.endsWith("_Packages"))) {
    const stanza = readFileSync(join(lists, file), "utf8")
      .split("\n\n")
      .find((s) => s.startsWith(`Package: ${pkg}\n`));
    if (stanza === undefined) continue;
    const fields = Object.fromEntries(
      [...stanza.matchAll(/^(Filename|SHA256|Version): (.+)$/gm)].map((m) => [m[1], m[2]]),
    );
    if (best === undefined || newer(fields.Version, best.Version)) best = fields;
  }
  const { Filename: filename, SHA256: sha256, Version: version } = best ?? {};
  if (filename === undefined || sha256 === undefined || version === undefined)
    throw new Error(
      `${pkg} is not in the worker root's Debian ${WORKER_DEBIAN.codename} package index (${lists})`,
    );
  const dir = join(dirname(dirname(root)), "test-tools", `${pkg}_${version}`);
  const path = join(dir, "usr", "bin", program);
  if (existsSync(path)) return path;
  if (!fetch)
    throw new WorkerRootMissing(
      `${pkg} ${version} (a test tool from Debian ${WORKER_DEBIAN.codename}) is not fetched: run npm run -s worker-root`,
    );
  // Unpacked aside, then renamed into place: an interrupted fetch leaves no half a tool at `dir`.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const deb = join(partial, `${pkg}.deb`);
  step(`fetching ${pkg} ${version}`, "curl", [
    "-sSfL",
    "--retry",
    "3",
    "-o",
    deb,
    `${WORKER_ROOT_SPEC.mirror}/${filename}`,
  ]);
  const actual = createHash("sha256").update(readFileSync(deb)).digest("hex");
  if (actual !== sha256)
    throw new Error(`${deb}: sha256 ${actual}, not the ${sha256} Debian's index gives: not used`);
  step(`unpacking ${pkg}`, "dpkg-deb", ["-x", deb, partial]);
  rmSync(deb);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return path;
}

/** Debian's version order (dpkg --compare-versions): whether `a` is newer than `b`. */
function newer(a: string, b: string): boolean {
  return spawnSync("dpkg", ["--compare-versions", a, "gt", b]).status === 0;
}

/** Tools from the worker's release that the tests and npm start use (cosign signs their images): package and program. */
export const TEST_TOOLS = [{ pkg: "cosign", program: "cosign" }] as const;

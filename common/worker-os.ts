/**
 * The worker's operating system: one Debian release and one list of its packages, used by the
 * worker's first-boot script (components/user-data.ts) and by the tests, which run the copier in a
 * root built from exactly these packages (local/worker-root.ts). Why Debian 13 and these packages:
 * docs/decisions/0001-worker-os.md.
 */

/** Debian 13 "trixie": regular security support until 2028-08-09, LTS until 2030-06-30 (wiki.debian.org/DebianReleases). */
export const WORKER_DEBIAN = { version: "13", codename: "trixie" } as const;

/**
 * The public SSM parameter of the Debian cloud team's current Debian 13 image for an architecture
 * (they publish `/aws/service/debian/release/{13,trixie}/latest/{amd64,arm64}`, see
 * https://wiki.debian.org/Cloud/AmazonEC2Image).
 */
export const debianAmiParameter = (architecture: "arm64" | "amd64"): string =>
  `/aws/service/debian/release/${WORKER_DEBIAN.version}/latest/${architecture}`;

/**
 * Debian packages the worker installs on first boot, beyond the cloud image: the copier's runtime
 * (Node.js) and copy tool (skopeo; its flock, for the per-tag lock, and setpriv, which ends skopeo
 * with the copier, come from util-linux, which every Debian system has), AWS CLI v2 (the SSM
 * documents download the copier with `aws s3 cp`), curl and jq (the first boot fetches the SSM
 * agent with curl and writes the agent's configuration with jq: components/user-data.ts), oras
 * (which copies an image's referrers, its signatures and SBOMs, as skopeo does not: docs/copier.md),
 * the CA bundle, security updates, and chrony for Amazon Time Sync.
 */
export const WORKER_PACKAGES = [
  "nodejs",
  "skopeo",
  "oras",
  "jq",
  "curl",
  "awscli",
  "ca-certificates",
  "unattended-upgrades",
  "chrony",
] as const;

/**
 * The Node.js of the worker's release (Debian 13 ships nodejs 20.19): esbuild's target for the
 * copier's bundle (ec2-scripts/bundle.ts), so the bundle uses no syntax that Node lacks.
 */
export const WORKER_NODE_TARGET = "node20";

/**
 * How both install them: no recommended packages, so the worker and the tests' root hold the same
 * set whatever apt's local defaults are (a recommends change upstream cannot add a program to one).
 */
export const APT_INSTALL_OPTIONS = ["--no-install-recommends"] as const;

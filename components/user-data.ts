import { isRegion } from "../common/naming";

/**
 * The worker's first-boot script (cloud-init user data) for Debian 12. Why Debian, and why
 * these packages: docs/decisions/0001-worker-os.md. It runs once, when the instance is
 * created; everything that changes with the sync itself travels in the SSM document instead.
 */

/** Debian packages the worker needs: the copy tool, ecr-sync.sh's helpers, AWS CLI v2. */
export const WORKER_PACKAGES = [
  "skopeo",
  "jq",
  "curl",
  "awscli",
  "ca-certificates",
  "unattended-upgrades",
] as const;

/**
 * The user data for a worker in `region`. The security group allows HTTPS out only, so apt is
 * switched to https before it runs; the SSM agent comes from AWS's package for Debian in the
 * region's own bucket (Debian's images do not ship it).
 */
export function workerUserData(region: string): string {
  // The region is written into a shell script: refuse anything but a region name.
  if (!isRegion(region))
    throw new Error(`region: ${JSON.stringify(region)} is not an AWS region name (e.g. us-east-1)`);
  return `#!/bin/bash
# ecr-sync worker bootstrap (Debian 12): skopeo, jq and AWS CLI v2 from Debian's archive,
# the SSM agent from AWS. No SSH, no inbound ports: the instance is reached through SSM only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
readonly REGION='${region}'

# Outbound traffic is limited to HTTPS, so fetch packages over https (apt supports it natively).
for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources /etc/apt/mirrors/*.list; do
  if [[ -f "\${sources}" ]]; then
    sed -i 's#http://#https://#g' "\${sources}"
  fi
done
apt-get update
apt-get install -y ${WORKER_PACKAGES.join(" ")}

arch="$(dpkg --print-architecture)"
agent="$(mktemp --suffix=.deb)"
curl --fail --silent --show-error --location --proto '=https' --retry 5 \\
  --output "\${agent}" \\
  "https://s3.\${REGION}.amazonaws.com/amazon-ssm-\${REGION}/latest/debian_\${arch}/amazon-ssm-agent.deb"
dpkg -i "\${agent}"
rm -f "\${agent}"
systemctl enable amazon-ssm-agent
systemctl restart amazon-ssm-agent

skopeo --version
aws --version
`;
}

import { isRegion } from "../common/naming";
import { APT_INSTALL_OPTIONS, WORKER_DEBIAN, WORKER_PACKAGES } from "../common/worker-os";

/**
 * The worker's first-boot script (cloud-init user data) for Debian 13. Why Debian, and why these
 * packages: docs/decisions/0001-worker-os.md. It runs once, when the instance is created;
 * everything that changes with the sync itself travels in the SSM document instead. The tests run
 * it in a fresh Debian 13 root (test/system/user-data.test.ts).
 */

/**
 * How many commands the SSM agent runs at once (`Mds.CommandWorkersLimit`; the agent's default is
 * 5, agent/appconfig/constants.go in aws/amazon-ssm-agent). A reconcile holds one worker for as long
 * as it runs (hours for a backfill; its own copies run in parallel inside that one command), and a
 * copy of a tag another copy holds waits on the tag's lock inside its worker. Six keeps the agent's
 * five for pushes while a reconcile runs. More would not copy faster: the copies share the instance's
 * network and two vCPUs, and a burst of 30 pushes already drains in under a minute with five
 * (test/system/twin-agent.test.ts). Commands beyond the workers wait, first in the agent's buffer
 * (`Mds.CommandWorkerBufferLimit`, 5), then in SSM, until their delivery timeout.
 */
export const SSM_AGENT_COMMAND_WORKERS = 6;

/** apt waits this long for another apt (unattended-upgrades at first boot) to free its lock. */
const APT_LOCK_TIMEOUT_SECONDS = 600;
/** Attempts of each apt step; a mirror hiccup at first boot must not leave a worker without an agent. */
const APT_ATTEMPTS = 5;

/**
 * The Amazon Time Sync Service's IPv4 address: link-local, so the security group (HTTPS out only)
 * does not filter it, while the image's public NTP pools are unreachable through it. The line is
 * AWS's recommended chrony source: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configure-ec2-ntp.html
 */
export const AMAZON_TIME_SYNC_SOURCE = "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4";

/** Where the agent's download lives: AWS's package for Debian in the region's own bucket. */
export const SSM_AGENT_DEB_URL =
  "https://s3.${REGION}.amazonaws.com/amazon-ssm-${REGION}/latest/debian_${arch}/amazon-ssm-agent.deb";

/**
 * The user data for a worker in `region`. The security group allows HTTPS out only, so apt is
 * switched to https before it runs; the SSM agent comes from AWS's package for Debian in the
 * region's own bucket (Debian's images do not ship it). Every step that reaches the network is
 * retried; a failure ends the script with a line naming the step, in the console output.
 */
export function workerUserData(region: string): string {
  // The region is written into a shell script: refuse anything but a region name.
  if (!isRegion(region))
    throw new Error(`region: ${JSON.stringify(region)} is not an AWS region name (e.g. us-east-1)`);
  return `#!/bin/bash
# ecr-sync worker bootstrap (Debian ${WORKER_DEBIAN.version}): skopeo, jq, AWS CLI v2 and chrony from
# Debian's archive, the SSM agent from AWS. No SSH, no inbound ports: the instance is reached through
# SSM only. Its output is in /var/log/cloud-init-output.log and the console (aws ec2 get-console-output).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
readonly REGION='${region}'
readonly COMMAND_WORKERS_LIMIT=${SSM_AGENT_COMMAND_WORKERS}
trap 'echo "ecr-sync bootstrap FAILED at line \${LINENO}: \${BASH_COMMAND}" >&2' ERR

# Runs apt-get, waiting for another apt's lock and retrying a failed attempt with a growing pause.
apt_get() {
  local attempt
  for ((attempt = 1; attempt <= ${APT_ATTEMPTS}; attempt++)); do
    if apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS} "$@"; then
      return 0
    fi
    echo "apt-get $1 failed (attempt \${attempt} of ${APT_ATTEMPTS})" >&2
    if ((attempt < ${APT_ATTEMPTS})); then
      sleep $((attempt * 15))
    fi
  done
  return 1
}

# Outbound traffic is limited to HTTPS, so fetch packages over https (apt supports it natively).
for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources /etc/apt/mirrors/*.list; do
  if [[ -f "\${sources}" ]]; then
    sed -i 's#http://#https://#g' "\${sources}"
  fi
done
apt_get update
apt_get install -y ${APT_INSTALL_OPTIONS.join(" ")} ${WORKER_PACKAGES.join(" ")}

arch="$(dpkg --print-architecture)"
agent="$(mktemp --suffix=.deb)"
curl --fail --silent --show-error --location --proto '=https' --retry 5 --retry-all-errors \\
  --output "\${agent}" \\
  "${SSM_AGENT_DEB_URL}"
dpkg -i "\${agent}"
rm -f "\${agent}"
# The agent's configuration, from its own template, with the command workers set on purpose (the
# agent reads a file without the other keys with its defaults for them).
config=/etc/amazon/ssm/amazon-ssm-agent.json
if [[ -f "\${config}.template" ]]; then
  jq --argjson workers "\${COMMAND_WORKERS_LIMIT}" '.Mds.CommandWorkersLimit = $workers' "\${config}.template" >"\${config}.new"
else
  jq -n --argjson workers "\${COMMAND_WORKERS_LIMIT}" '{Mds: {CommandWorkersLimit: $workers}}' >"\${config}.new"
fi
mv "\${config}.new" "\${config}"
systemctl enable amazon-ssm-agent
systemctl restart amazon-ssm-agent

# Time from the Amazon Time Sync Service only: the public pools are unreachable from here. After the
# agent, so that a problem here leaves a worker that can still be reached and fixed through SSM.
sed -i -E 's/^(pool|server|peer) /# ecr-sync: Amazon Time Sync instead: &/' /etc/chrony/chrony.conf
echo '${AMAZON_TIME_SYNC_SOURCE}' >/etc/chrony/sources.d/amazon-time-sync.sources
systemctl enable chrony
systemctl restart chrony

echo "ecr-sync worker ready: $(skopeo --version), $(aws --version), agent $(dpkg-query -W -f '\${Version}' amazon-ssm-agent), \${COMMAND_WORKERS_LIMIT} command workers"
`;
}

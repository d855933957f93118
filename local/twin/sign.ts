/**
 * The twin's signer: Debian 13's cosign (the tools `npm run -s worker-root` fetches beside the
 * worker's root), a key pair made for the run, signatures attached by subject (OCI 1.1, a referrer
 * of the image) with no transparency log, and `cosign verify` with the same key. It logs in as
 * the twin's clients do, with each registry's ECR password, from a docker config of its own.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { debianTestTool } from "../worker-root";

export interface Signer {
  /** Signs `host/repository@digest`; fails with cosign's own words. */
  sign(host: string, repository: string, digest: string): Promise<void>;
  /** cosign verify of `host/repository@digest` with this run's key: undefined when it verified, else why not. */
  verify(host: string, repository: string, digest: string): Promise<string | undefined>;
}

/** cosign's signature artifact type (the config media type of its signature manifests). */
export const COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json";

/** The password of a key made for one run, whose files go with the run's `dir`: not a secret. */
const KEY_PASSWORD = "ecr-sync-twin";

const COSIGN_TIMEOUT_MS = 120000;

/** The login a client of `host` uses. */
export type LoginOf = (host: string) => { username: string; password: string };

export async function createSigner(dir: string, loginOf: LoginOf): Promise<Signer> {
  const cosign = debianTestTool("cosign");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let calls = 0;
  /** Runs cosign with a docker config of its own holding `host`'s login (calls may overlap). */
  const run = async (args: string[], host?: string) => {
    const config = join(dir, `docker-${++calls}`);
    await mkdir(config, { mode: 0o700 });
    if (host !== undefined) {
      const { username, password } = loginOf(host);
      const auth = Buffer.from(`${username}:${password}`).toString("base64");
      await writeFile(join(config, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }), {
        mode: 0o600,
      });
    }
    return new Promise<{ ok: boolean; said: string }>((resolve) =>
      execFile(
        cosign,
        args,
        {
          cwd: dir,
          encoding: "utf8",
          // A cosign that hangs (a registry that stalls) fails the run instead of holding it.
          timeout: COSIGN_TIMEOUT_MS,
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            DOCKER_CONFIG: config,
            COSIGN_PASSWORD: KEY_PASSWORD,
            // cosign 2.x attaches by subject (--registry-referrers-mode=oci-1-1) only as an experiment.
            COSIGN_EXPERIMENTAL: "1",
          },
        },
        (error, _stdout, stderr) =>
          resolve({ ok: error === null, said: stderr.trim().split("\n").slice(-3).join(" ") }),
      ),
    );
  };
  const made = await run(["generate-key-pair"]);
  if (!made.ok) throw new Error(`cosign generate-key-pair in ${dir} failed: ${made.said}`);
  return {
    async sign(host, repository, digest) {
      const signed = await run(
        [
          "sign",
          "--yes",
          "--key",
          "cosign.key",
          "--tlog-upload=false",
          "--allow-http-registry",
          "--registry-referrers-mode=oci-1-1",
          `${host}/${repository}@${digest}`,
        ],
        host,
      );
      if (!signed.ok) throw new Error(`cosign sign ${host}/${repository}@${digest} failed: ${signed.said}`);
    },
    async verify(host, repository, digest) {
      const verified = await run(
        [
          "verify",
          "--key",
          "cosign.pub",
          "--insecure-ignore-tlog",
          "--allow-http-registry",
          "--experimental-oci11",
          `${host}/${repository}@${digest}`,
        ],
        host,
      );
      return verified.ok ? undefined : verified.said || "cosign verify exited non-zero";
    },
  };
}

/**
 * The twin's world: moto_server (both accounts: the css one and the legacy one, each reached
 * through an assumed role, since plain test credentials act in moto's default account, which
 * is neither), a "css" and a "legacy" docker-registry on free loopback ports, each accepting
 * only the ECR password moto hands out in its own account, and a listener for the css
 * registry's push notifications. The accounts come from the rendering.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MotoServer, startMoto } from "../moto";
import { OciLayout, pushImage } from "../oci";
import { Registry, requireTools, startRegistry } from "../registry";
import { ecrPassword } from "../world";
import { MotoApi } from "../moto-api";
import { PushListener, startPushListener } from "./events";

/**
 * What the twin itself runs on this machine: moto, the registries (htpasswd makes their logins) and
 * skopeo for its own pushes. The worker's tools (aws, skopeo, jq, curl) come from the worker's root.
 */
const TWIN_TOOLS = ["moto_server", "docker-registry", "htpasswd", "skopeo"];

export interface TwinWorld {
  readonly dir: string;
  readonly moto: MotoServer;
  readonly css: Registry;
  readonly legacy: Registry;
  readonly pushes: PushListener;
  readonly layout: OciLayout;
  /** An administrator in `account` (the twin's own identity there, not a rendered one). */
  admin(account: string): Promise<MotoApi>;
  /** The login a client of `registry` uses: moto's ECR password for the registry's account. */
  login(registry: Registry): { username: string; password: string };
  stop(): Promise<void>;
}

export async function startTwinWorld(accounts: { source: string; target: string }): Promise<TwinWorld> {
  await requireTools(...TWIN_TOOLS);
  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    stoppers.length = 0;
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "ecr-sync-twin-"));
    stoppers.push(() => rm(dir, { recursive: true, force: true }));
    const pushes = await startPushListener();
    stoppers.push(() => pushes.stop());
    const [moto, css, legacy, layout] = await Promise.all([
      startMoto(),
      startRegistry({
        name: "css",
        users: { AWS: ecrPassword(accounts.source) },
        notificationsUrl: pushes.url,
      }),
      startRegistry({ name: "legacy", users: { AWS: ecrPassword(accounts.target) } }),
      OciLayout.create(join(dir, "layout")),
    ]);
    stoppers.push(
      () => moto.stop(),
      () => css.stop(),
      () => legacy.stop(),
    );
    const plain = moto.api();
    const admins = new Map<string, Promise<MotoApi>>();
    const accountOf = (registry: Registry) => (registry === css ? accounts.source : accounts.target);
    return {
      dir,
      moto,
      css,
      legacy,
      pushes,
      layout,
      admin(account) {
        let admin = admins.get(account);
        if (admin === undefined) {
          admin = plain
            .assumeRole(`arn:aws:iam::${account}:role/twin-admin`, "twin")
            .then((credentials) => plain.as(credentials));
          admins.set(account, admin);
        }
        return admin;
      },
      login: (registry) => ({ username: "AWS", password: ecrPassword(accountOf(registry)) }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Makes `repository` exist, empty, in `registry`, as an ECR repository exists before its first
 * push: the registry knows a repository only once something was pushed to it, so a placeholder
 * image is pushed and its manifest deleted (the tag list is then empty, not "unknown").
 */
export async function createEmptyRepository(world: TwinWorld, registry: Registry, repository: string) {
  const placeholder = await world.layout.addImage({ layers: [], label: "placeholder" });
  const login = world.login(registry);
  await pushImage(world.layout, placeholder, {
    registry: registry.host,
    repository,
    tag: "placeholder",
    ...login,
  });
  const response = await fetch(`http://${registry.host}/v2/${repository}/manifests/${placeholder.digest}`, {
    method: "DELETE",
    headers: { Authorization: basicAuth(login) },
  });
  if (response.status !== 202)
    throw new Error(`emptying ${registry.host}/${repository}: HTTP ${response.status}`);
}

export function basicAuth(login: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
}

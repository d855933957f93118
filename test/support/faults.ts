/**
 * What the copier's fault tests share (test/integration/ecr-sync-faults*.test.ts): one world per
 * file, pairs of repositories each with a state directory of its own, wrappers on PATH that act just
 * before the worker root's real tool runs, and small proxies in front of the real registries and
 * moto (test tools, named as such) that hold, drop or cut their answers.
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FaultProxy, startFaultProxy } from "./fault-proxy";
import { BuiltImage } from "../../local/oci";
import { Registry, startRegistry } from "../../local/registry";
import { workerToolPath } from "../../local/worker-root";
import { copyArgs, EcrSyncWorld, ecrPassword, startEcrSyncWorld, TARGET_ACCOUNT } from "../../local/world";

export interface FaultKit {
  /** The world of this file (moto, both registries, the copier as the worker runs it). */
  readonly world: EcrSyncWorld;
  /** A folder of this file's under the world's temp dir. */
  readonly scratch: string;
  /** Run after each test, last first. */
  readonly cleanups: Array<() => Promise<unknown>>;
  unique(base: string): string;
  pair(tag?: string): Promise<Pair>;
  wrapperPath(tool: string, before: string): Promise<string>;
  writesSince(registry: Registry, mark: number): ReturnType<Registry["accessLog"]>;
  trickProxy(upstream: string, trick: (method: string, path: string) => Trick | undefined): Promise<string>;
  proxyFor(upstream: string): Promise<FaultProxy>;
  targetThatStopsBeforeTheCopy(
    name: string,
  ): Promise<{ doomed: Registry; path: string; stops: () => number }>;
}

/** What trickProxy does to one request: hold it, never answer it, drop headers of its answer, or cut the answer's body short. */
export interface Trick {
  readonly delayMs?: number;
  readonly stall?: boolean;
  readonly dropHeaders?: readonly string[];
  /** Send the answer's headers (its full Content-Length) and this many body bytes, then close the connection. */
  readonly cutBodyAt?: number;
}

/** A mapped pair with one image under its tag, and the environment that maps it with a state directory of its own. */
export interface Pair {
  readonly source: string;
  readonly target: string;
  readonly image: BuiltImage;
  readonly args: string[];
  readonly map: { ECR_SYNC_REPOSITORY_MAP: string; ECR_SYNC_STATE_DIR: string };
}

/** Registers the world's hooks in the calling describe and returns the helpers. */
export function faultKit(): FaultKit {
  let world: EcrSyncWorld;
  let scratch: string;
  let counter = 0;
  const unique = (base: string) => `${base}-${++counter}`;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
    scratch = await mkdtemp(join(world.scriptTmpDir, "..", "faults-"));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  after(async () => {
    await world?.stop();
  });

  /** A mapped pair with one image under `tag`; the env maps it (copy is bound to the mapping). */
  async function pair(tag = "v1"): Promise<Pair> {
    const source = unique("kuali-coeus");
    const target = unique("coeus");
    await world.createTargetRepository(target);
    const image = await world.layout.addImage({ layers: [{ size: 48 * 1024 }, { size: 4 * 1024 }] });
    await world.pushToSource(image, source, tag);
    const args = copyArgs(source, target, tag);
    return {
      source,
      target,
      image,
      args,
      // A state directory of its own, so that no case meets another's locks or run directories.
      map: {
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify({ [source]: target }),
        ECR_SYNC_STATE_DIR: join(scratch, unique("state")),
      },
    };
  }

  /** A PATH whose `tool` runs `before` (sh) and then execs the real tool with the same arguments. */
  async function wrapperPath(tool: string, before: string): Promise<string> {
    const dir = await mkdtemp(join(scratch, `${tool}-wrapper-`));
    await writeFile(join(dir, tool), `#!/bin/sh\n${before}\nexec '${workerToolPath(tool)}' "$@"\n`);
    await chmod(join(dir, tool), 0o755);
    return `${dir}:${process.env.PATH ?? ""}`;
  }

  /** Write requests (anything but GET and HEAD) a registry received since `mark`. */
  async function writesSince(registry: Registry, mark: number) {
    return (await registry.accessLog())
      .slice(mark)
      .filter((entry) => !["GET", "HEAD"].includes(entry.method));
  }

  /**
   * A proxy in front of a registry that forwards every request, and does to each what
   * `trick(method, path)` says (nothing when it says undefined). Returns its host:port.
   */
  async function trickProxy(
    upstream: string,
    trick: (method: string, path: string) => Trick | undefined,
  ): Promise<string> {
    const [host, port] = upstream.split(":");
    const server = http.createServer((request, response) => {
      const what = trick(request.method ?? "GET", request.url ?? "/") ?? {};
      if (what.stall) return;
      setTimeout(() => {
        const forwarded = http.request(
          { host, port: Number(port), method: request.method, path: request.url, headers: request.headers },
          (answer) => {
            const headers = { ...answer.headers };
            for (const name of what.dropHeaders ?? []) delete headers[name.toLowerCase()];
            response.writeHead(answer.statusCode ?? 502, headers);
            if (what.cutBodyAt === undefined) {
              answer.pipe(response);
              return;
            }
            let sent = 0;
            answer.on("data", (chunk: Buffer) => {
              const room = (what.cutBodyAt ?? 0) - sent;
              if (room > 0) response.write(chunk.subarray(0, room));
              sent += chunk.length;
              if (sent >= (what.cutBodyAt ?? 0)) {
                answer.destroy();
                response.socket?.destroy();
              }
            });
          },
        );
        forwarded.once("error", () => request.socket.destroy());
        request.pipe(forwarded);
      }, what.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function proxyFor(upstream: string): Promise<FaultProxy> {
    const proxy = await startFaultProxy(upstream);
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  /**
   * A target registry and a PATH whose skopeo, on `copy`, first asks a control server to stop that
   * registry and waits until it has stopped: the login, the ECR calls and the target reads have
   * all succeeded by then. `stops()` is how many times it did.
   */
  async function targetThatStopsBeforeTheCopy(name: string) {
    const doomed = await startRegistry({ name, users: { AWS: ecrPassword(TARGET_ACCOUNT) } });
    cleanups.push(() => doomed.stop());
    let stopped = 0;
    const control = http.createServer((_request, response) => {
      stopped += 1;
      void doomed.stop().then(() => response.end("stopped"));
    });
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise((resolve) => control.close(resolve)));
    const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}/`;
    const path = await wrapperPath(
      "skopeo",
      `if [ "$1" = copy ]; then '${workerToolPath("curl")}' -fsS -o /dev/null -X POST '${controlUrl}' || exit 99; fi`,
    );
    return { doomed, path, stops: () => stopped };
  }

  return {
    get world() {
      return world;
    },
    get scratch() {
      return scratch;
    },
    cleanups,
    unique,
    pair,
    wrapperPath,
    writesSince,
    trickProxy,
    proxyFor,
    targetThatStopsBeforeTheCopy,
  };
}

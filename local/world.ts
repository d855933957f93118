import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MotoServer, startMoto } from "./moto";
import { Descriptor, OciLayout, pushImage } from "./oci";
import { Registry, requireTools, startRegistry } from "./registry";
import { inWorkerRoot, workerEnvironment, workerRoot, workerToolPath } from "./worker-root";
import { CONFIG_DEFAULTS } from "../components/config-keys";
import { bundleCopierSync } from "../ec2-scripts/bundle";

/**
 * The world the copier runs in during tests: moto_server for STS and ECR (source account =
 * moto's default 123456789012, target account 730096353738 reached only through an assumed
 * role) behind a proxy that records every AWS call, a source and a target docker-registry whose
 * htpasswd accepts only the ECR password moto hands out for that account, an OCI layout to build
 * images in, and a private state dir. The copier runs as the worker runs it: its bundle
 * (ec2-scripts/bundle.ts) with the worker root's node, skopeo and flock.
 */

/** The copier's launcher in a checkout (builds the bundle when stale, then runs it). */
export const COPIER_LAUNCHER = resolve(__dirname, "../ec2-scripts/ecr-sync");

let builtBundle: string | undefined;
/**
 * The copier's bundle, built once per test process into a private folder of the temp dir (which
 * the worker root shares): the file the tests run with the root's node. Private (0700, this
 * user's), as the worker's /var/lib/ecr-sync/copier is root's own: the copier keeps its V8 code
 * cache beside it only in such a folder (ec2-scripts/copier/start.ts), so the tests and the bench
 * run it as the worker does, from the second run on with the cache.
 */
export function copierBundle(): string {
  if (builtBundle === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "ecr-sync-copier-"));
    const file = join(dir, "ecr-sync.cjs");
    writeFileSync(file, bundleCopierSync().code, { mode: 0o644 });
    builtBundle = file;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return builtBundle;
}
export const SOURCE_ACCOUNT = "123456789012";
export const TARGET_ACCOUNT = "730096353738";
/** moto's ECR GetAuthorizationToken password for an account. */
export const ecrPassword = (account: string): string => `${account}-auth-token`;
export const TARGET_ROLE_NAME = CONFIG_DEFAULTS.targetRoleName;
export const WORKER_ROLE_ARN = `arn:aws:iam::${SOURCE_ACCOUNT}:role/ecr-sync-worker`;
/**
 * Tools these helpers need on this machine (the servers, and setpriv that ties moto's life to the
 * test process); a missing one fails the suite by name. The copier's own tools are the worker root's.
 */
export const REQUIRED_TOOLS = ["moto_server", "setpriv", "docker-registry", "htpasswd"];

/** The arguments of `ecr-sync copy` for one tag, with the push event's digest when given. */
export const copyArgs = (source: string, target: string, tag: string, digest?: string): string[] => [
  "copy",
  "--source-repository",
  source,
  "--target-repository",
  target,
  "--tag",
  tag,
  ...(digest ? ["--digest", digest] : []),
];

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as one JSON object per line. */
  readonly lines: Array<Record<string, string>>;
  readonly milliseconds: number;
}

export type TagMutability = "MUTABLE" | "IMMUTABLE" | "MUTABLE_WITH_EXCLUSION" | "IMMUTABLE_WITH_EXCLUSION";

/** One AWS API call the copier made, as the recording proxy in front of moto saw it. */
export interface AwsCall {
  /** The signing service: sts, ecr, monitoring, logs. */
  readonly service: string;
  /** The operation: AssumeRole, GetAuthorizationToken, DescribeRepositories, … */
  readonly operation: string;
  /** The access key that signed it (the worker's own, or an assumed role's session). */
  readonly accessKeyId: string;
  /** moto's HTTP status. */
  readonly status?: number;
}

/** Every AWS call through the recorder, in order; `since(mark)` the calls after a mark(). */
export interface AwsRecorder {
  readonly endpoint: string;
  mark(): number;
  since(mark: number): AwsCall[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of moto that records each AWS call: the operation from X-Amz-Target
 * (ECR's JSON protocol) or the form's Action (STS's query protocol), the service and access key
 * from the SigV4 Authorization header. The SDK honours AWS_ENDPOINT_URL, so this is how the
 * tests count the calls the copier makes.
 */
export async function startAwsRecorder(upstream: string): Promise<AwsRecorder> {
  const target = new URL(upstream);
  const calls: AwsCall[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(request.headers["x-amz-target"] ?? "");
      const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString("utf8"))?.[1];
      const credential = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(
        String(request.headers.authorization ?? ""),
      );
      const call = {
        service: credential?.[2] ?? "unknown",
        operation:
          amzTarget !== ""
            ? (amzTarget.split(".").pop() ?? amzTarget)
            : (action ?? `${request.method} ${request.url}`),
        accessKeyId: credential?.[1] ?? "",
      };
      const forwarded = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          calls.push({ ...call, status: answer.statusCode });
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.once("error", () => request.socket.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolvePromise());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    mark: () => calls.length,
    since: (mark) => calls.slice(mark),
    stop: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

/** `SERVICE OPERATION` of each call, e.g. "sts AssumeRole". */
export const callNames = (calls: readonly AwsCall[]): string[] =>
  calls.map((call) => `${call.service} ${call.operation}`);

export interface EcrSyncWorld {
  readonly moto: MotoServer;
  /** Every AWS call the copier made (env() points AWS_ENDPOINT_URL here, in front of moto). */
  readonly awsCalls: AwsRecorder;
  readonly source: Registry;
  readonly target: Registry;
  readonly layout: OciLayout;
  /** ECR_SYNC_STATE_DIR given to the copier (created by it, mode 0700). */
  readonly stateDir: string;
  /** Where the copier keeps its per-tag lock files: stateDir/locks. */
  readonly lockDir: string;
  /** TMPDIR given to the copier, to check it leaves no files (auth files) behind. */
  readonly scriptTmpDir: string;
  readonly targetRoleArn: string;
  /** Environment for the copier: the recorder's endpoint and worker credentials plus ECR_SYNC_*. */
  env(overrides?: Record<string, string | undefined>): Record<string, string>;
  /**
   * Adds source → target to the ECR_SYNC_REPOSITORY_MAP that env() passes by default (the SSM
   * documents export the stack's map; copy accepts only its pairs).
   */
  mapRepository(source: string, target: string): void;
  /**
   * Creates ECR repositories in the target account (moto), as the legacy stack would;
   * `exclusionFilters` are ECR's WILDCARD filters for the *_WITH_EXCLUSION mutabilities.
   */
  createTargetRepository(
    name: string,
    mutability?: TagMutability,
    exclusionFilters?: string[],
  ): Promise<void>;
  pushToSource(artifact: Descriptor, repository: string, tag: string): Promise<void>;
  pushToTarget(artifact: Descriptor, repository: string, tag: string): Promise<void>;
  /** Runs the copier with `args` in env(overrides), from `cwd` (default: the test's). */
  run(args: string[], overrides?: Record<string, string | undefined>, cwd?: string): Promise<RunResult>;
  /** Starts the copier as run() does, with spawnScript's options; its pid is known before it ends. */
  spawn(
    args: string[],
    overrides?: Record<string, string | undefined>,
    options?: SpawnOptions,
  ): ScriptProcess;
  stop(): Promise<void>;
}

export async function startEcrSyncWorld(): Promise<EcrSyncWorld> {
  await requireTools(...REQUIRED_TOOLS);
  workerRoot();
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "ecr-sync-world-"));
    stoppers.push(() => rm(dir, { recursive: true, force: true }));
    const [moto, source, target, layout] = await Promise.all([
      startMoto(),
      startRegistry({ name: "source", users: { AWS: ecrPassword(SOURCE_ACCOUNT) } }),
      startRegistry({ name: "target", users: { AWS: ecrPassword(TARGET_ACCOUNT) } }),
      OciLayout.create(join(dir, "layout")),
    ]);
    stoppers.push(
      () => moto.stop(),
      () => source.stop(),
      () => target.stop(),
    );
    const awsCalls = await startAwsRecorder(moto.endpoint);
    stoppers.push(() => awsCalls.stop());
    const stateDir = join(dir, "state");
    const lockDir = join(stateDir, "locks");
    const scriptTmpDir = join(dir, "tmp");
    await mkdir(scriptTmpDir);

    // An administrator in the target account: moto lets any caller assume a role there. Calls go
    // straight to moto's APIs: an AWS CLI start costs most of a second of CPU.
    const targetAdmin = moto
      .api()
      .as(await moto.api().assumeRole(`arn:aws:iam::${TARGET_ACCOUNT}:role/test-admin`, "test-setup"));
    const created = await targetAdmin.query("iam", "CreateRole", {
      RoleName: TARGET_ROLE_NAME,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: WORKER_ROLE_ARN }, Action: "sts:AssumeRole" }],
      }),
    });
    const targetRoleArn = /<Arn>([^<]+)<\/Arn>/.exec(created)?.[1] ?? `(no Arn in moto's answer: ${created})`;
    if (!targetRoleArn.includes(`::${TARGET_ACCOUNT}:`))
      throw new Error(`target role landed in the wrong account: ${targetRoleArn}`);

    const repositoryMap: Record<string, string> = {};
    const env = (overrides: Record<string, string | undefined> = {}) => {
      const base: Record<string, string | undefined> = {
        PATH: process.env.PATH,
        HOME: dir,
        TMPDIR: scriptTmpDir,
        ...moto.env(),
        AWS_ENDPOINT_URL: awsCalls.endpoint,
        ECR_SYNC_SOURCE_REGISTRY: source.host,
        ECR_SYNC_TARGET_REGISTRY: target.host,
        ECR_SYNC_TARGET_ROLE_ARN: targetRoleArn,
        ECR_SYNC_REGION: "us-east-1",
        ECR_SYNC_TLS_VERIFY: "false",
        ECR_SYNC_STATE_DIR: stateDir,
        ECR_SYNC_REPOSITORY_MAP:
          Object.keys(repositoryMap).length > 0 ? JSON.stringify(repositoryMap) : undefined,
        ...overrides,
      };
      return Object.fromEntries(
        Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
    };

    const world: EcrSyncWorld = {
      moto,
      awsCalls,
      source,
      target,
      layout,
      stateDir,
      lockDir,
      scriptTmpDir,
      targetRoleArn,
      env,
      mapRepository(source, target) {
        repositoryMap[source] = target;
      },
      async createTargetRepository(name, mutability = "MUTABLE", exclusionFilters = []) {
        const body = await targetAdmin.json("ecr", "CreateRepository", {
          repositoryName: name,
          imageTagMutability: mutability,
          ...(exclusionFilters.length > 0
            ? {
                imageTagMutabilityExclusionFilters: exclusionFilters.map((filter) => ({
                  filter,
                  filterType: "WILDCARD",
                })),
              }
            : {}),
        });
        if (body.repository?.registryId !== TARGET_ACCOUNT) {
          throw new Error(
            `CreateRepository ${name} landed outside ${TARGET_ACCOUNT}: ${JSON.stringify(body)}`,
          );
        }
      },
      pushToSource: (artifact, repository, tag) =>
        pushImage(layout, artifact, {
          registry: source.host,
          repository,
          tag,
          username: "AWS",
          password: ecrPassword(SOURCE_ACCOUNT),
        }),
      pushToTarget: (artifact, repository, tag) =>
        pushImage(layout, artifact, {
          registry: target.host,
          repository,
          tag,
          username: "AWS",
          password: ecrPassword(TARGET_ACCOUNT),
        }),
      run: (args, overrides, cwd) => runScript(args, env(overrides), cwd),
      spawn: (args, overrides, options) => spawnScript(args, env(overrides), options),
      stop: stopAll,
    };
    return world;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Runs the copier with exactly `env`; never rejects (the exit code is the result). */
export function runScript(args: string[], env: Record<string, string>, cwd?: string): Promise<RunResult> {
  return spawnScript(args, env, { cwd }).result;
}

export interface SpawnOptions {
  /** The working directory (default: the test's). */
  readonly cwd?: string;
  /** A command the copier runs under, e.g. ["faketime", "-f", "+2h"]: PREFIX... bwrap … node BUNDLE ARGS... */
  readonly prefix?: readonly string[];
  /** The copier leads a process group of its own, so that kill(-pid) reaches every process it started. */
  readonly detached?: boolean;
}

export interface ScriptProcess {
  /**
   * The pid of the first process (bwrap, or the prefix's command), -1 when it could not start (then
   * `result` rejects); with `detached`, its process group's id too.
   */
  readonly pid: number;
  /** Its result once it and its output have ended; never rejects for an exit code or a signal (code -1). */
  readonly result: Promise<RunResult>;
}

/**
 * Starts the copier's bundle with exactly `env` inside the worker's root (local/worker-root.ts),
 * as the worker runs it: the root's node, skopeo and flock; env's PATH keeps only folders the root
 * shares (a test's wrappers) before the worker's own.
 */
export function spawnScript(
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): ScriptProcess {
  const started = Date.now();
  const [command, ...commandArgs] = [
    ...(options.prefix ?? []),
    ...inWorkerRoot(["node", copierBundle(), ...args]),
  ];
  const child = spawn(command, commandArgs, {
    env: workerEnvironment(env),
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = new Promise<RunResult>((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      const lines: Array<Record<string, string>> = [];
      for (const line of stdout.split("\n").filter((text) => text.trim() !== "")) {
        try {
          lines.push(JSON.parse(line) as Record<string, string>);
        } catch {
          // --help prints usage on stdout; anything else there must be one JSON object per line.
          if (args.includes("--help")) continue;
          reject(new Error(`ecr-sync wrote a stdout line that is not JSON: ${line}\nstderr:\n${stderr}`));
          return;
        }
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, lines, milliseconds: Date.now() - started });
    });
  });
  return { pid: child.pid ?? -1, result };
}

/**
 * A PATH directory whose `skopeo` and `flock` append their argv (one line per call) to `log` and
 * then exec the worker root's tool: lets a test read every command line the copier ran.
 */
export async function recordingPath(dir: string, log: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const tool of ["skopeo", "flock"]) {
    const real = workerToolPath(tool);
    const file = join(dir, tool);
    await writeFile(file, `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${log}'\nexec '${real}' "$@"\n`);
    await chmod(file, 0o755);
  }
  return `${dir}:${process.env.PATH ?? ""}`;
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

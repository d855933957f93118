/**
 * What the bench runs as the worker runs it: inside the worker's Debian root
 * (local/worker-root.ts) with the root's node, skopeo and flock, never this machine's. The
 * copier's runs go through local/world.ts (spawnScript), which starts them in the root, under
 * WITH_TIMES (session.ts); `node -e 0` and the tools' versions go through spawnInRoot. The
 * registries, moto and the plain-HTTP baseline (Node) stay on this machine.
 *
 * Every time measured around such a run includes bwrap's start, and so does `node -e 0` in the
 * root (nodeStartOnce), as the copier's runs do. The registries' access logs say which clients
 * really talked to them (registryClients), so the report can show that the copies were the root's
 * skopeo.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Registry } from "../../local/registry";
import { inWorkerRoot, workerEnvironment } from "../../local/worker-root";
import { timed } from "./measure";

/**
 * A POSIX shell that runs its arguments, then prints `times` (the CPU of every process it waited
 * for, and they for theirs) on stderr, after all they wrote: the copier's CPU measured from outside,
 * its stdout left as its result lines.
 */
export const WITH_TIMES = ["sh", "-c", '"$@"; code=$?; times >&2; exit "$code"', "sh"];

export interface Collected {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command here: its stdout, stderr and exit code. */
function spawnCollect(argv: readonly string[], env: Record<string, string>): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Runs `argv` inside the worker root with `env`, whose PATH keeps only the folders the root shares
 * (a test's wrappers) before the worker's own.
 */
export function spawnInRoot(argv: readonly string[], env: Record<string, string>): Promise<Collected> {
  return spawnCollect(inWorkerRoot(argv), workerEnvironment(env));
}

/** Wall seconds of one `node -e 0` in the worker root, bwrap's start included as in every copier run. */
export async function nodeStartOnce(): Promise<number> {
  const { value, seconds } = await timed(() =>
    spawnInRoot(["node", "-e", "0"], { PATH: process.env.PATH ?? "" }),
  );
  if (value.code !== 0) throw new Error(`node -e 0 in the worker root exited ${value.code}: ${value.stderr}`);
  return seconds;
}

const VERSION_COMMANDS: Readonly<Record<string, string>> = {
  worker_root: 'echo "Debian $(cat /etc/debian_version)"',
  worker_node: "node --version",
  skopeo: "skopeo --version",
  flock: "flock --version",
};

/**
 * The first line each of the copier's tools prints for its version, found as the copier finds it
 * (inside the root, on the PATH of `env`), or "unknown (…)" when it does not answer.
 */
export async function copierTools(env: Record<string, string>): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  for (const [name, command] of Object.entries(VERSION_COMMANDS)) {
    const run = await spawnInRoot(["sh", "-c", command], env).catch((error: Error) => ({
      code: -1,
      stdout: "",
      stderr: error.message,
    }));
    const first = (text: string) => text.trim().split("\n")[0];
    tools[name] = run.code === 0 ? first(run.stdout) : `unknown (${first(run.stderr) || `exit ${run.code}`})`;
  }
  return tools;
}

/** The last quoted field of an access-log line (Apache combined format): the client's User-Agent. */
const USER_AGENT = /"([^"]*)"\s*$/;

/**
 * The User-Agents of every request in `registry`'s access log, with how many requests each sent:
 * skopeo names its version ("skopeo/1.18.0"), so this shows which build did the copying. "": no
 * User-Agent (Node's http requests: the baseline, the seeding); "node": Node's fetch (the copier's
 * registry reads, and the bench's own).
 */
export async function registryClients(registry: Registry): Promise<Record<string, number>> {
  const log = await readFile(join(dirname(registry.storageDir), "access.log"), "utf8");
  const clients: Record<string, number> = {};
  for (const line of log.split("\n")) {
    const agent = USER_AGENT.exec(line)?.[1];
    if (agent !== undefined) clients[agent] = (clients[agent] ?? 0) + 1;
  }
  return clients;
}

/**
 * `npm start`: the local twin (docs/twin.md). This process only guards it: it runs the twin
 * (local/twin/main.ts) in a process group of its own with a temp dir of its own as TMPDIR, and
 * however the run ends (done, Ctrl-C, SIGTERM, SIGHUP, or the npm that started it gone) it stops
 * every process left in that group (moto, the registries, the copier, a render or push in flight)
 * and removes that temp dir. The twin cannot promise that itself: a signal can come while it
 * starts a server it has not yet recorded, and npm's shell does not pass a SIGTERM on.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { constants, tmpdir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { invocationAncestors, ProcessEntry, stillRunning, stopGroup } from "../local/twin/process-group";
import { InterruptSignal, onInterrupt } from "./interrupt";

const PROJECT_ROOT = resolve(__dirname, "..");
const TWIN_MAIN = join(PROJECT_ROOT, "local/twin/main.ts");
/** With --keep, how long the twin may take to finish following a push after Ctrl-C. */
const KEEP_STOP_MS = 15000;

const USAGE = "usage: npm start [-- --keep]     (npm start -- --help says more)";

const HELP = `usage: npm start [-- --keep]

Sends one image along the whole ecr-sync path on this machine, with no AWS account: renders the css
and legacy stacks as \`npm run synth\` does, deploys them into moto, pushes a two-platform image to
the first mapped css repository and signs it with cosign (a key made for the run, the signature
attached by subject), follows it until the copier has verified it in legacy and cosign verify
accepts its signature there, then deletes
it there and lets the reconcile bring it back. About 20 s. It runs the copier in the worker's
Debian root, which npm start builds first (once, as root).

  --keep   then stay up: prints a one-line command that pushes a test image (and one that reads it
           in legacy), follows every push you make, until Ctrl-C
  --help   this text

Output: progress and the timeline on stdout, then one JSON line with the result (latency_s: push
to verified in legacy, as the copier measured it; copy_s: the copy itself). Last, on stderr, one
sentence that says what happened.

Exit status: 0 the image arrived with its digest and signature and the reconcile healed its deletion; 1 it did not
(stderr names the broken link); 2 a usage error; 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM,
129 SIGHUP); with --keep, Ctrl-C after the image arrived exits 0. Whatever ends it, it stops every
process it started (moto, both registries, the copier) and removes its temp files.

Examples:
  npm start
  npm start -- --keep
  npm start 2>/dev/null | tail -n 1 | jq .latency_s

More: docs/twin.md
`;

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = args.filter((a) => a !== "--keep");
  if (unknown.length > 0) {
    process.stderr.write(
      `npm start: unknown argument ${unknown.map((a) => JSON.stringify(a)).join(", ")}\n${USAGE}\n`,
    );
    return 2;
  }

  // A terminal that hangs up must not end this process by a failed write before it has cleaned up.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  let stopped: { signal: InterruptSignal; why: string } | undefined;
  let stopNow: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolvePromise) => (stopNow = resolvePromise));
  const stop = (signal: InterruptSignal, why: string) => {
    stopped ??= { signal, why };
    stopNow();
  };
  onInterrupt((signal) => stop(signal, `on ${signal}`));
  const ancestors = invocationAncestors();
  const watch = setInterval(() => {
    const gone = ancestors.find((a: ProcessEntry) => !stillRunning(a));
    if (gone !== undefined) stop("SIGHUP", `because the process that ran it (pid ${gone.pid}) ended`);
  }, 250);

  const runDir = mkdtempSync(join(tmpdir(), "ecr-sync-start-"));
  shareTsxCache(runDir);
  const twin = spawn(process.execPath, ["--import", "tsx", TWIN_MAIN, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TMPDIR: runDir, ECR_SYNC_START_DIR: runDir },
    // Its own process group (and session), which this process stops whole.
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    twin.once("exit", (code, signal) => resolvePromise({ code, signal }));
    twin.once("error", (error) => {
      process.stderr.write(`npm start: could not start the twin: ${error.message}\n`);
      resolvePromise({ code: 1, signal: null });
    });
  });

  const first = await Promise.race([exited.then(() => "ended" as const), stopRequested]);
  if (first !== "ended" && stopped !== undefined && twin.pid !== undefined) {
    // With --keep, the twin ends its watch and stops what it started; otherwise the signal ends it at once.
    signal(twin.pid, stopped.signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, KEEP_STOP_MS))]);
  }
  // After a normal end too: whatever the twin left running (an esbuild service on its way out) goes.
  const group = twin.pid === undefined ? { found: [], left: [] } : await stopGroup(twin.pid);
  const status = await exited;
  clearInterval(watch);
  rmSync(runDir, { recursive: true, force: true });

  const { left } = group;
  if (left.length > 0)
    process.stderr.write(
      `npm start: could not stop processes ${left.join(", ")} (process group ${twin.pid})\n`,
    );
  if (stopped !== undefined) {
    const finished = status.code === 0;
    process.stderr.write(
      `npm start: stopped ${stopped.why}${finished ? "" : " before it finished"}; ` +
        `${left.length === 0 ? "every process it started (moto, both registries, the copier) is stopped" : "see above"} ` +
        `and its temp files are removed.\n`,
    );
    return finished ? 0 : 128 + constants.signals[stopped.signal];
  }
  return status.code ?? 128 + constants.signals[status.signal ?? "SIGKILL"];
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // It has ended already.
  }
}

/**
 * tsx keeps its compile cache under the temp dir (tsx-UID); the run's own temp dir links to it, so
 * that the twin does not compile everything afresh each run. Removing the run's dir removes only the link.
 */
function shareTsxCache(runDir: string): void {
  const name = `tsx-${process.geteuid?.() ?? userInfo().username}`;
  try {
    mkdirSync(join(tmpdir(), name), { recursive: true });
    symlinkSync(join(tmpdir(), name), join(runDir, name));
  } catch {
    // Without it tsx compiles into the run's dir: slower, and removed all the same.
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));

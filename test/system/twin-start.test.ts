/**
 * `npm start` as an operator runs it, stopped by a signal at a given line of its output: SIGTERM to
 * npm alone (as `kill PID` sends it), SIGINT and SIGHUP to its whole process group (as Ctrl-C and a
 * terminal's hang-up send them). Once its output closes, nothing it started may be left: none of the
 * processes that ran when the signal came (moto, both registries, the twin, the copier), no port they
 * listened on, no file under the temp dir it was given; nor when npm start itself is killed outright.
 * And `--help` answers.
 */
import { ChildProcessByStdio, execFile, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { expect } from "chai";
import { PROJECT_ROOT } from "../../local/render";
import { allProcesses, ProcessEntry, stillRunning, until } from "../../local/twin/process-group";

const run = promisify(execFile);

/**
 * What npm and tsx keep in the temp dir from run to run, not npm start: npm's compile cache, tsx's
 * cache and IPC folder. The test's temp dir links them to the machine's.
 */
const SHARED_CACHES = ["node-compile-cache", `tsx-${process.geteuid?.() ?? userInfo().username}`];

interface Seen extends ProcessEntry {
  readonly command: string;
}

/** npm start, running in a process group of its own (as a terminal's job), with its own temp dir. */
class NpmStart {
  stdout = "";
  stderr = "";
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: Array<() => void> = [];

  private constructor(
    readonly child: ChildProcessByStdio<null, Readable, Readable>,
    readonly tmp: string,
  ) {
    const wake = () => {
      for (const w of this.waiters.splice(0)) w();
    };
    child.stdout.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
      wake();
    });
    child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    // "close": npm and every process that shares its stdout or stderr (npm start, the twin) ended.
    this.closed = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    this.closed.then(wake);
  }

  static async start(args: string[] = []): Promise<NpmStart> {
    const tmp = await mkdtemp(join(tmpdir(), "ecr-sync-start-test-"));
    for (const cache of SHARED_CACHES) {
      mkdirSync(join(tmpdir(), cache), { recursive: true });
      symlinkSync(join(tmpdir(), cache), join(tmp, cache));
    }
    const child = spawn("npm", ["start", ...(args.length > 0 ? ["--", ...args] : [])], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: "1", TMPDIR: tmp },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new NpmStart(child, tmp);
  }

  /** Resolves with the first match of `pattern` in stdout; fails if npm start ends first. */
  printed(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const match = pattern.exec(this.stdout);
        if (match) return resolve(match);
        if (this.child.exitCode !== null || this.child.signalCode !== null)
          return reject(new Error(`npm start ended before ${pattern}:\n${this.stdout}\n${this.stderr}`));
        this.waiters.push(look);
      };
      look();
    });
  }

  /** Every process below npm now, and every member of their process groups (the twin runs in its own). */
  async processes(): Promise<Seen[]> {
    this.seen = await this.processesNow();
    return this.seen;
  }

  private seen: Seen[] = [];

  private async processesNow(): Promise<Seen[]> {
    const all = await allProcesses();
    const below = new Set([this.child.pid!]);
    for (let grew = true; grew;) {
      grew = false;
      for (const p of all)
        if (!below.has(p.pid) && below.has(p.ppid)) {
          below.add(p.pid);
          grew = true;
        }
    }
    const groups = new Set(all.filter((p) => below.has(p.pid)).map((p) => p.pgid));
    return all
      .filter((p) => (below.has(p.pid) || groups.has(p.pgid)) && !p.zombie)
      .map((p) => ({ ...p, command: commandOf(p.pid) }));
  }

  /** After a failure too: npm's group, and whatever it was seen running (the twin's group is its own). */
  async remove(): Promise<void> {
    for (const pid of [-this.child.pid!, ...this.seen.filter(stillRunning).map((p) => p.pid)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Ended.
      }
    }
    await rm(this.tmp, { recursive: true, force: true });
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** The TCP ports the processes listen on (/proc/net/tcp*, matched by socket inode). */
function listeningPorts(pids: readonly number[]): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (socket) inodes.add(socket[1]);
      } catch {
        // Closed in between.
      }
    }
  }
  return listeners()
    .filter((l) => inodes.has(l.inode))
    .map((l) => l.port);
}

/** Every listening TCP socket on this machine: its port and inode. */
function listeners(): Array<{ port: number; inode: string }> {
  const found: Array<{ port: number; inode: string }> = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue;
      found.push({ port: parseInt(fields[1].split(":").pop()!, 16), inode: fields[9] });
    }
  }
  return found;
}

/**
 * Runs npm start until `line` appears, sends `signal` (to npm alone, or to its process group), waits
 * for its output to close, and checks that nothing it started is left. Returns the run.
 */
async function stopAt(
  line: RegExp,
  signal: NodeJS.Signals,
  to: "npm" | "group" | "npm start",
  args: string[] = [],
): Promise<NpmStart> {
  const start = await NpmStart.start(args);
  try {
    await start.printed(line);
    const seen = await start.processes();
    const ports = listeningPorts(seen.map((p) => p.pid));
    const commands = seen.map((p) => p.command);
    // What must be stopped was there: moto and both registries, listening.
    expect(
      commands.filter((c) => /moto_server/.test(c)),
      "moto_server",
    ).to.have.length(1);
    expect(
      commands.filter((c) => /^docker-registry serve/.test(c)),
      "docker-registry",
    ).to.have.length(2);
    expect(ports.length, "ports listened on").to.be.at.least(3);

    // npm start itself: the node process running scripts/start.ts.
    const script = seen.find((p) => /--import tsx scripts\/start\.ts/.test(p.command));
    process.kill(to === "npm" ? start.child.pid! : to === "group" ? -start.child.pid! : script!.pid, signal);
    await start.closed;
    // A process closes its output on its way out, a moment before it is gone from /proc: wait for that.
    await until(async () => !seen.some(stillRunning), 5000);

    const left = seen.filter(stillRunning).map((p) => `${p.pid} ${p.command}`);
    expect(left, "processes still running").to.deep.equal([]);
    const listening = new Set(listeners().map((l) => l.port));
    expect(
      ports.filter((p) => listening.has(p)),
      "ports still listened on",
    ).to.deep.equal([]);
    expect(readdirSync(start.tmp), `what is left in its temp dir ${start.tmp}`).to.deep.equal(
      [...SHARED_CACHES].sort(),
    );
    return start;
  } finally {
    await start.remove();
  }
}

const STOPPED =
  /npm start: stopped .* before it finished; every process it started \(moto, both registries, the copier\) is stopped and its temp files are removed\.\n$/;

describe("npm start as an operator runs it", function () {
  this.timeout(180000);

  it("answers --help with its flags, output and exit codes, and starts nothing", async () => {
    const { stdout } = await run("npm", ["start", "--", "--help"], { cwd: PROJECT_ROOT });
    expect(stdout).to.include("usage: npm start [-- --keep]");
    expect(stdout).to.match(/--keep +then stay up/);
    expect(stdout).to.match(/--help +this text/);
    expect(stdout).to.match(/Exit status: 0 /);
    expect(stdout).to.not.include("rendering the css and legacy stacks");
  });

  it("refuses an unknown argument in two lines, pointing to --help", async () => {
    const failed = await run(process.execPath, ["--import", "tsx", "scripts/start.ts", "--kep"], {
      cwd: PROJECT_ROOT,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.equal(
      'npm start: unknown argument "--kep"\nusage: npm start [-- --keep]     (npm start -- --help says more)\n',
    );
  });

  it("SIGTERM to npm alone while the copier starts: no process, port or temp file is left", async () => {
    const start = await stopAt(/push trigger sent 1 command/, "SIGTERM", "npm");
    expect(start.stderr).to.match(STOPPED);
    expect(start.stderr).to.match(/npm start: stopped because the process that ran it \(pid \d+\) ended/);
    // It stopped there: the copy takes seconds more, and neither the heal nor the result came.
    expect(start.stdout).to.not.match(/^\[.*\] heal|^\{"source"/m);
  });

  it("Ctrl-C (SIGINT to the process group) once deployed: no process, port or temp file is left", async () => {
    const start = await stopAt(/deployed SSM documents/, "SIGINT", "group");
    expect(start.stderr).to.match(STOPPED);
  });

  it("a hang-up (SIGHUP to the process group) while it pushes: no process, port or temp file is left", async () => {
    const start = await stopAt(/pushing kuali-coeus:twin-/, "SIGHUP", "group");
    expect(start.stderr).to.match(STOPPED);
  });

  it("npm start itself killed outright (SIGKILL) while --keep waits: its twin stops itself, nothing is left", async () => {
    await stopAt(/Ctrl-C stops everything/, "SIGKILL", "npm start", ["--keep"]);
  });
});

/**
 * The whole path on one machine, as an operator starts it (`npm start`, local/twin/): it must end with
 * its JSON line, equal digests, both platforms and a healed gap; with --keep it prints a one-line
 * push that works; without the worker's root it stops before anything runs. The twin on broken
 * renderings is in twin-broken.test.ts, its SSM agent under load in twin-agent.test.ts.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { PROJECT_ROOT } from "../../local/render";

const run = promisify(execFile);

const RESULT_KEYS = [
  "source",
  "target",
  "source_digest",
  "target_digest",
  "platforms",
  "signature_digest",
  "pushed_at",
  "available_at",
  "latency_s",
  "copy_s",
  "healed",
  "figures",
];

describe("the twin (npm start): one image through both stacks as rendered", function () {
  this.timeout(120000);

  it("npm start ends with one JSON line: the image arrived with its digest and every platform, and the gap healed", async () => {
    const started = Date.now();
    const { stdout, stderr } = await run("npm", ["start"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
      maxBuffer: 16 * 1024 * 1024,
    });
    const lines = stdout.trim().split("\n");
    const result = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    expect(Object.keys(result)).to.deep.equal(RESULT_KEYS);
    expect(result.source).to.match(/^kuali-coeus:twin-/);
    expect(result.target).to.equal(`coeus:${String(result.source).split(":")[1]}`);
    expect(result.source_digest).to.match(/^sha256:[a-f0-9]{64}$/);
    expect(result.target_digest).to.equal(result.source_digest);
    expect(result.signature_digest, "its cosign signature, copied and verified in legacy").to.match(
      /^sha256:[a-f0-9]{64}$/,
    );
    expect(result.platforms).to.deep.equal(["linux/amd64", "linux/arm64"]);
    expect(result.latency_s).to.be.a("number").and.to.be.greaterThan(0);
    // One clock for every figure: available_at is pushed_at (the event's time) plus the copier's latency.
    expect(
      (Date.parse(String(result.available_at)) - Date.parse(String(result.pushed_at))) / 1000,
    ).to.be.closeTo(Number(result.latency_s), 0.011);
    expect(result.copy_s).to.be.a("number").and.to.be.at.least(0).and.below(Number(result.latency_s));
    // latency_s comes from the copier's own result line, measured from the event's time.
    expect(stdout).to.match(/the copier measured [0-9.]+ s from the push/);
    expect(stdout).to.match(
      /verified in legacy +coeus:\S+ \(the copier: latency_s [0-9.]+, copy_s [0-9.]+\)/,
    );
    expect(result.healed).to.equal(true);
    const steps = [
      "event time",
      "pushed",
      "event matched",
      "command sent",
      "copy started",
      "verified in legacy",
    ];
    for (const step of [...steps, "read by the twin"])
      expect(stdout, `timeline step ${step}`).to.match(new RegExp(`\\+\\d+\\.\\d+s\\s+${step}`));
    // The timeline counts from the event's time, as the copier does: its verified row is latency_s.
    expect(stdout).to.include(`+${Number(result.latency_s).toFixed(2)}s  verified in legacy`);
    expect(stdout).to.include(
      `latency, push to verified in legacy: ${result.latency_s} s (the copier's latency_s, what the alarm sees); the copy itself: ${result.copy_s} s`,
    );
    expect(stdout).to.match(/healed: coeus:twin-\S+ is back in legacy/);
    // The agent shipped the copy's and the reconcile's output to moto, several lines to an event; the
    // figures the copier published are read back and printed.
    const figures = result.figures as { commandOutput: { events: number; lines: number } };
    expect(figures.commandOutput.events).to.be.at.least(2);
    expect(figures.commandOutput.lines).to.be.at.least(figures.commandOutput.events);
    expect(stdout).to.match(/CloudWatch \(moto\), namespace ecr-sync, as the copier published it: /);
    // Last, on stderr, what happened in one sentence.
    expect(stderr.trim().split("\n").pop()).to.equal(
      `npm start: ${String(result.source)} (linux/amd64 and linux/arm64) arrived in legacy as ${String(result.target)} with the same digest and its cosign signature ` +
        `${result.latency_s} s after the push (as the copier measured it; the copy itself took ${result.copy_s} s), ` +
        "and when it was deleted there the reconcile brought it back.",
    );
    expect(Date.now() - started, "under a minute").to.be.lessThan(60000);
  });

  it("with --keep prints a one-line push that works, follows it until Ctrl-C, then stops what it started", async function () {
    this.timeout(240000);
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts", "--keep"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const waiters: Array<() => void> = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const wake of waiters.splice(0)) wake();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    // Each line within a minute, or the test fails showing what npm start printed (not mocha's bare timeout).
    const printed = (pattern: RegExp, withinMs = 60000) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const late = setTimeout(
          () =>
            reject(
              new Error(
                `npm start --keep printed no line matching ${pattern} within ${withinMs / 1000} s:\n${stdout.slice(-4000)}\n${stderr.slice(-2000)}`,
              ),
            ),
          withinMs,
        );
        const look = () => {
          const match = pattern.exec(stdout);
          if (match) {
            clearTimeout(late);
            return resolve(match);
          }
          if (child.exitCode !== null) {
            clearTimeout(late);
            return reject(new Error(`exited ${child.exitCode}:\n${stdout}\n${stderr}`));
          }
          waiters.push(look);
        };
        look();
      });
    try {
      const [command, host] = await printed(/^ {2}(skopeo copy .* docker:\/\/([^/]+)\/kuali-coeus:.+)$/m);
      const [inspect] = await printed(/^ {2}skopeo inspect .*:TAG$/m);
      await printed(/Ctrl-C stops everything/);
      // The printed line as a person pastes it: one shell command, nothing to build first.
      await run("sh", ["-c", command], { timeout: 60000 });
      const [line] = await printed(/^\{"source":"kuali-coeus:mine-\d+".*\}$/m);
      const result = JSON.parse(line) as Record<string, unknown>;
      expect(result.target).to.match(/^coeus:mine-\d+$/);
      expect(result.target_digest).to.equal(result.source_digest);
      expect(result.platforms).to.deep.equal(["linux/amd64", "linux/arm64"]);
      // And the printed read in legacy finds it, with the tag you pushed.
      const tag = String(result.target).split(":")[1];
      const { stdout: manifest } = await run("sh", ["-c", inspect.trim().replace(/:TAG$/, `:${tag}`)], {
        timeout: 60000,
      });
      expect(JSON.parse(manifest).manifests).to.have.length(2);
      child.kill("SIGINT");
      expect(await exited).to.equal(0);
      expect(stderr).to.match(
        /npm start: stopped on SIGINT; every process it started .* is stopped and its temp files are removed\.\n$/,
      );
      const stopped = await fetch(`http://${host}/v2/`).then(
        () => "still up",
        () => "stopped",
      );
      expect(stopped, "the css registry after Ctrl-C").to.equal("stopped");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("npm start fails naming the worker's root when it is not built, and uses no tool of this machine instead", async () => {
    const emptyCache = await mkdtemp(join(tmpdir(), "ecr-sync-no-root-"));
    try {
      const failed = await run(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_NO_WARNINGS: "1", ECR_SYNC_WORKER_ROOT_CACHE: emptyCache },
      }).then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(failed, "npm start without the worker's root").to.not.equal(undefined);
      expect(failed!.code).to.equal(1);
      expect(failed!.stderr).to.match(
        /^npm start: the worker's Debian \w+ root is not built \(.*\): run `npm run -s worker-root`/,
      );
      // It stops before rendering: nothing ran with this machine's sh, aws or skopeo.
      expect(failed!.stdout).to.equal("");
    } finally {
      await rm(emptyCache, { recursive: true, force: true });
    }
  });
});

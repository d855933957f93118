/**
 * The whole path on one machine (`npm start`, local/twin/): run as CI runs it, the twin must end
 * with its JSON line, equal digests, both platforms and a healed gap. Run on deliberately broken
 * renderings (each transformed after rendering, before the twin deploys it), it must fail with a
 * message naming the broken link, and never report an arrival. Its SSM agent is held to the
 * rendered number of command workers: a burst of pushes during a long reconcile must still arrive
 * with no command timed out, and with one worker and a short delivery timeout the commands it
 * cannot take must time out and page.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../../common/ssm-command";
import { CommandDocument } from "../../components/document-content";
import type { PolicyDocument } from "../../components/policies";
import { SSM_AGENT_COMMAND_WORKERS } from "../../components/user-data";
import { pushImage } from "../../local/oci";
import { PROJECT_ROOT, Rendering, resourcesOfType } from "../../local/render";
import { RunningTwin, runTwin, TwinFailure } from "../../local/twin/run";
import { workerToolPath } from "../../local/worker-root";

const run = promisify(execFile);

const RESULT_KEYS = [
  "source",
  "target",
  "source_digest",
  "target_digest",
  "platforms",
  "pushed_at",
  "available_at",
  "latency_s",
  "copy_s",
  "healed",
  "figures",
];

/** The resource of `type` whose cloud name is `name` (the way the twin finds it from the outputs). */
function named(r: Rendering, type: string, name: unknown) {
  const found = resourcesOfType(r, type).find((x) => x.inputs.name === name);
  if (found === undefined) throw new Error(`test: no ${type} named ${String(name)} in ${r.stack}`);
  return found;
}

/** Edits a JSON-text input in place. */
function editJson<T>(inputs: Record<string, unknown>, key: string, edit: (value: T) => void) {
  const value = JSON.parse(inputs[key] as string) as T;
  edit(value);
  inputs[key] = JSON.stringify(value);
}

/** Edits the command of a rendered SSM document, line by line. */
function editCommand(inputs: Record<string, unknown>, edit: (line: string) => string) {
  editJson<CommandDocument>(inputs, "content", (content) => {
    const runCommand = content.mainSteps[0].inputs.runCommand as string[];
    const edited = runCommand.map(edit);
    expect(edited, "the edit changes the command").to.not.deep.equal(runCommand);
    runCommand.splice(0, runCommand.length, ...edited);
  });
}

/** Runs the twin on the transformed rendering; resolves with the failure it must end in. */
async function failureOf(
  transform: (r: { css: Rendering; legacy: Rendering }) => void,
  lines: string[] = [],
): Promise<TwinFailure> {
  try {
    await runTwin({ transform, write: (line) => lines.push(line) });
  } catch (error) {
    if (error instanceof TwinFailure) return error;
    throw error;
  }
  throw new Error(`the twin passed on a broken rendering:\n${lines.join("\n")}`);
}

/**
 * Holds the next reconcile in its worker until the test releases it: a `node` first on the worker's
 * PATH (in the temp dir, which the worker's root shares) that, in a reconcile (only its document
 * exports ECR_SYNC_RECONCILE_PARALLELISM) and once armed, blocks before running the root's node.
 * The document runs the copier with node after it has fetched and checked it, so the reconcile is
 * held before it takes a lock or makes a request; renaming "armed" to "held" takes the hold exactly once.
 */
class ReconcileGate {
  private constructor(readonly dir: string) {}

  static async create(): Promise<ReconcileGate> {
    const dir = await mkdtemp(join(tmpdir(), "ecr-sync-twin-gate-"));
    const script = [
      "#!/bin/sh",
      `if [ -n "\${ECR_SYNC_RECONCILE_PARALLELISM:-}" ] && mv '${dir}/armed' '${dir}/held' 2>/dev/null; then`,
      `  while [ ! -e '${dir}/released' ]; do sleep 0.1; done`,
      "fi",
      `exec '${workerToolPath("node")}' "$@"`,
    ];
    await writeFile(join(dir, "node"), `${script.join("\n")}\n`, { mode: 0o755 });
    return new ReconcileGate(dir);
  }

  arm(): Promise<void> {
    return writeFile(join(this.dir, "armed"), "");
  }

  /** Resolves once a reconcile is held at the gate; fails after `timeoutMs`. */
  async held(timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(join(this.dir, "held"))) {
      if (Date.now() > deadline)
        throw new Error(`no reconcile reached the gate in ${this.dir} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  release(): Promise<void> {
    return writeFile(join(this.dir, "released"), "");
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/** Pushes `count` small images under distinct tags to the mapped css repositories, in turn. */
async function pushImages(twin: RunningTwin, count: number, label: string) {
  const { world } = twin;
  const repositories = Object.keys(twin.plan.repositories);
  const pushes: Array<{ repository: string; tag: string; digest: string }> = [];
  for (let i = 0; i < count; i++) {
    const repository = repositories[i % repositories.length];
    const tag = `${label}-${String(i).padStart(2, "0")}`;
    const image = await world.layout.addImage({ layers: [{ size: 2048 }], label: tag });
    await pushImage(world.layout, image, {
      registry: world.css.host,
      repository,
      tag,
      ...world.login(world.css),
    });
    pushes.push({ repository, tag, digest: image.digest });
  }
  return pushes;
}

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
      `npm start: ${String(result.source)} (linux/amd64 and linux/arm64) arrived in legacy as ${String(result.target)} with the same digest ` +
        `${result.latency_s} s after the push (as the copier measured it; the copy itself took ${result.copy_s} s), ` +
        "and when it was deleted there the reconcile brought it back.",
    );
    expect(Date.now() - started, "under a minute").to.be.lessThan(60000);
  });

  it("fails naming the push rule when its pattern no longer matches the push", async () => {
    const failure = await failureOf(({ css }) => {
      const rule = named(css, "aws:cloudwatch/eventRule:EventRule", css.outputs.pushRuleName);
      editJson<Record<string, unknown>>(
        rule.inputs,
        "eventPattern",
        (p) => (p["detail-type"] = ["ECR Image Push"]),
      );
    });
    expect(failure.link).to.equal("push rule ecr-sync-push");
    expect(failure.message).to.include("did not match the event ECR emits for the push of kuali-coeus:twin-");
  });

  it("fails naming the worker, ecr:BatchGetImage and the source repository when the worker policy cannot pull", async () => {
    let instance = "";
    const failure = await failureOf(({ css }) => {
      instance = String(css.outputs.workerInstanceId);
      const worker = named(css, "aws:iam/role:Role", String(css.outputs.workerRoleArn).split("/").pop());
      for (const policy of resourcesOfType(css, "aws:iam/rolePolicy:RolePolicy").filter(
        (p) => p.inputs.role === worker.inputs.name,
      )) {
        editJson<PolicyDocument>(policy.inputs, "policy", (doc) => {
          for (const statement of doc.Statement) {
            if (Array.isArray(statement.Action))
              statement.Action = statement.Action.filter((a) => a !== "ecr:BatchGetImage");
          }
        });
      }
    });
    expect(failure.link).to.match(/^IAM \(worker/);
    expect(failure.message).to.include(
      `arn:aws:sts::770203350335:assumed-role/ecr-sync-worker/${instance} → ecr:BatchGetImage on arn:aws:ecr:us-east-1:770203350335:repository/kuali-coeus`,
    );
    expect(failure.message).to.include("in the css registry");
  });

  it("fails naming the target role's trust when it names another role", async () => {
    let instance = "";
    const failure = await failureOf(({ css, legacy }) => {
      instance = String(css.outputs.workerInstanceId);
      const role = named(legacy, "aws:iam/role:Role", legacy.outputs.targetRoleName);
      const other = String(legacy.outputs.trustedWorkerRoleArn).replace(/role\/.*/, "role/another-role");
      role.inputs.assumeRolePolicy = String(role.inputs.assumeRolePolicy).replaceAll(
        String(legacy.outputs.trustedWorkerRoleArn),
        other,
      );
    });
    expect(failure.link).to.match(/^IAM \(worker/);
    expect(failure.message).to.include(
      `ecr-sync-worker/${instance} → sts:AssumeRole on arn:aws:iam::730096353738:role/ecr-sync-target`,
    );
    expect(failure.message).to.include("rendered trust policy of role ecr-sync-target");
  });

  it("fails naming the sync document's tag parameter when its pattern refuses the tag", async () => {
    const failure = await failureOf(({ css }) => {
      const document = named(css, "aws:ssm/document:Document", css.outputs.syncDocumentName);
      editJson<{ parameters: Record<string, { allowedPattern: string }> }>(
        document.inputs,
        "content",
        (content) => (content.parameters.tag.allowedPattern = "^v[0-9]+$"),
      );
    });
    expect(failure.link).to.equal("document ecr-sync-copy-image");
    expect(failure.message).to.match(
      /parameter tag="twin-[^"]+" does not match the allowedPattern "\^v\[0-9\]\+\$"/,
    );
  });

  it("fails naming the sync document when the copier in S3 is not the one it names, runs none of it, and prints the on-call alert", async () => {
    const lines: string[] = [];
    const other = "0".repeat(64);
    const failure = await failureOf(({ css }) => {
      const document = named(css, "aws:ssm/document:Document", css.outputs.syncDocumentName);
      // The document names another hash for the same key: the deployed bundle no longer matches it.
      editCommand(document.inputs, (line) =>
        line.startsWith("ecr_sync_sha256=") ? `ecr_sync_sha256='${other}'` : line,
      );
    }, lines);
    expect(failure.link).to.equal("document ecr-sync-copy-image on the worker");
    expect(failure.message).to.include(`not the ${other} this document names`);
    expect(failure.message).to.include("the copier was not run");
    expect(failure.message).to.include("is not in legacy");
    const alert = lines.find((line) => line.includes("alert to the on-call engineer"));
    expect(alert, "the alert line").to.match(
      /rule ecr-sync-command-failed\): ecr-sync: the SSM command [0-9a-f-]{36} \(document ecr-sync-copy-image\) ended Failed at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. Runbook: docs\/runbook\.md#failed-command/,
    );
  });

  it("reports healed: false, naming the reconcile document, when the schedule's input is refused", async () => {
    const lines: string[] = [];
    const result = await runTwin({
      write: (line) => lines.push(line),
      transform: ({ css }) => {
        const document = named(css, "aws:ssm/document:Document", css.outputs.reconcileDocumentName);
        editJson<{ parameters: Record<string, { allowedPattern: string }> }>(
          document.inputs,
          "content",
          (content) => (content.parameters.dryRun.allowedPattern = "^true$"),
        );
      },
    });
    expect(result.target_digest).to.equal(result.source_digest);
    expect(result.healed).to.equal(false);
    expect(lines.join("\n")).to.include(
      'heal failed — document ecr-sync-reconcile: SSM refuses the command (InvalidParameters): parameter dryRun="false"',
    );
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
    const printed = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const look = () => {
          const match = pattern.exec(stdout);
          if (match) return resolve(match);
          if (child.exitCode !== null)
            return reject(new Error(`exited ${child.exitCode}:\n${stdout}\n${stderr}`));
          waiters.push(look);
        };
        look();
      });
    try {
      const [command, host] = await printed(/^ {2}(skopeo copy .* docker:\/\/([^/]+)\/kuali-coeus:.+)$/m);
      const [inspect] = await printed(/^ {2}skopeo inspect .*:TAG$/m);
      await printed(/Ctrl-C stops everything/);
      // The printed line as a person pastes it: one shell command, nothing to build first.
      await run("sh", ["-c", command]);
      const [line] = await printed(/^\{"source":"kuali-coeus:mine-\d+".*\}$/m);
      const result = JSON.parse(line) as Record<string, unknown>;
      expect(result.target).to.match(/^coeus:mine-\d+$/);
      expect(result.target_digest).to.equal(result.source_digest);
      expect(result.platforms).to.deep.equal(["linux/amd64", "linux/arm64"]);
      // And the printed read in legacy finds it, with the tag you pushed.
      const tag = String(result.target).split(":")[1];
      const { stdout: manifest } = await run("sh", ["-c", inspect.trim().replace(/:TAG$/, `:${tag}`)]);
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

  it("a burst of 30 pushes during a long reconcile all arrive: the agent at its rendered workers, no command timed out, no alert", async function () {
    this.timeout(600000);
    const gate = await ReconcileGate.create();
    const lines: string[] = [];
    let drained = 0;
    try {
      await runTwin({
        write: (line) => lines.push(line),
        agent: { path: [gate.dir] },
        whileRunning: async (twin) => {
          expect(twin.agent.limits).to.deep.equal({ workers: SSM_AGENT_COMMAND_WORKERS, buffer: 5 });
          await gate.arm();
          const reconcile = await twin.sendReconcile();
          await gate.held();

          const pushes = await pushImages(twin, 30, "burst");
          const started = Date.now();
          const sent = await twin.sendPushes(pushes);
          const settled = await twin.settle(sent.flatMap((s) => s.commandIds));
          drained = (Date.now() - started) / 1000;
          // All of it while the reconcile held its worker.
          expect(twin.agent.running()).to.deep.equal([reconcile]);

          expect(settled.map((s) => s.outcome.status)).to.deep.equal(new Array(30).fill("Success"));
          expect(settled.flatMap((s) => s.alerts)).to.deep.equal([]);
          // Each with the delivery timeout the push trigger sends, as SSM recorded it.
          expect([...new Set(settled.map((s) => s.outcome.command.timeoutSeconds))]).to.deep.equal([
            COMMAND_DELIVERY_TIMEOUT_SECONDS,
          ]);
          for (const push of pushes) {
            const target = twin.plan.repositories[push.repository];
            expect(await twin.world.legacy.digestOf(target, push.tag), `${target}:${push.tag}`).to.equal(
              push.digest,
            );
          }
          const stats = twin.agent.stats();
          expect(stats.peakRunning, "commands at once: the reconcile and five copies").to.equal(
            SSM_AGENT_COMMAND_WORKERS,
          );
          expect(stats.waitedInBuffer + stats.waitedInService, "copies that waited for a worker").to.be.above(
            0,
          );
          expect(stats.timedOut).to.equal(0);

          await gate.release();
          const [ended] = await twin.settle([reconcile]);
          expect(ended.outcome.status).to.equal("Success");
          expect(ended.alerts).to.deep.equal([]);
        },
      });
    } finally {
      await gate.remove();
    }
    const output = lines.join("\n");
    expect(output).to.not.match(/alert to the on-call engineer|ended TimedOut/);
    process.stdout.write(`      (30 pushes sent and copied in ${drained.toFixed(1)} s)\n`);
  });

  it("with one command worker and a short delivery timeout, the commands the agent cannot buffer end TimedOut and page", async function () {
    this.timeout(600000);
    const deliveryTimeoutSeconds = 5;
    const gate = await ReconcileGate.create();
    const lines: string[] = [];
    try {
      await runTwin({
        write: (line) => lines.push(line),
        agent: { path: [gate.dir], commandWorkersLimit: 1, deliveryTimeoutSeconds },
        whileRunning: async (twin) => {
          const { buffer } = twin.agent.limits;
          expect(twin.agent.limits).to.deep.equal({ workers: 1, buffer: 5 });
          await gate.arm();
          const reconcile = await twin.sendReconcile();
          await gate.held();

          const pushes = await pushImages(twin, buffer + 3, "late");
          const sent = await twin.sendPushes(pushes);
          const ids = sent.flatMap((s) => s.commandIds);
          // The reconcile holds the only worker: the agent accepts as many as its buffer takes.
          const { buffered } = twin.agent.queued();
          expect(buffered).to.have.length(buffer);
          const late = ids.filter((id) => !buffered.includes(id));
          expect(late).to.have.length(3);

          // They end while the worker is still held: nothing but the delivery timeout ends them.
          const timedOut = await twin.settle(late);
          expect(twin.agent.running()).to.deep.equal([reconcile]);
          for (const { outcome, alerts } of timedOut) {
            const { commandId, requestedAt } = outcome.command;
            expect(outcome.status, commandId).to.equal("TimedOut");
            if (outcome.status !== "TimedOut") continue;
            expect(outcome.endedAt.getTime() - requestedAt.getTime()).to.equal(deliveryTimeoutSeconds * 1000);
            // One notice per command, through the rendered rule: the invocation's event is not matched.
            expect(alerts, commandId).to.have.length(1);
            expect(alerts[0]).to.match(
              new RegExp(
                `the SSM command ${commandId} \\(document ecr-sync-copy-image\\) ended TimedOut at \\d{4}-`,
              ),
            );
            const push = pushes[sent.findIndex((s) => s.commandIds.includes(commandId))];
            expect(
              await twin.world.legacy.digestOf(twin.plan.repositories[push.repository], push.tag),
              `${push.tag}, whose command never ran`,
            ).to.equal(undefined);
          }
          expect(twin.agent.stats()).to.deep.include({ peakRunning: 1, waitedInBuffer: buffer, timedOut: 3 });

          // Released, the reconcile copies every missing tag (the timed-out ones too), then the buffered run.
          await gate.release();
          const rest = await twin.settle([reconcile, ...buffered]);
          expect(rest.map((s) => s.outcome.status)).to.deep.equal(new Array(buffer + 1).fill("Success"));
          expect(rest.flatMap((s) => s.alerts)).to.deep.equal([]);
          for (const push of pushes) {
            const target = twin.plan.repositories[push.repository];
            expect(await twin.world.legacy.digestOf(target, push.tag), `${target}:${push.tag}`).to.equal(
              push.digest,
            );
          }
        },
      });
    } finally {
      await gate.remove();
    }
    const output = lines.join("\n");
    expect(
      output.match(/alert to the on-call engineer \(rule ecr-sync-command-failed\): .* ended TimedOut/g),
    ).to.have.length(3);
    expect(output).to.match(/ended TimedOut after 5\.00 s: not delivered within its delivery timeout/);
  });
});

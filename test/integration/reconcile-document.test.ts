/**
 * The reconcile schedule runs the real script's reconcile: the reconcile document, built by the
 * same function the css stack uses (components/document-content.ts, compared with the rendered document in
 * test/unit/stack-alerts.test.ts) around the real ec2-scripts/ecr-sync.sh, is executed as SSM
 * Run Command executes it — parameters substituted textually, the command run by sh — against real
 * servers (local/world.ts: moto for STS and ECR, two docker-registry instances,
 * skopeo). A tag missing in the target arrives; with dryRun=true nothing is written.
 *
 * What differs from the worker, and why: the baked registries are the test registries (plain HTTP,
 * so ECR_SYNC_TLS_VERIFY is switched to false, the one edit to the built document), and the
 * instance's credentials and state directory come from the test's environment (on the worker the
 * SSM agent supplies the instance role's credentials; the state directory defaults to /run/ecr-sync).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { promisify } from "node:util";
import { expect } from "chai";
import { CONFIG_DEFAULTS } from "../../components/config-keys";
import { buildReconcileDocument, CommandDocument } from "../../components/document-content";
import { EcrSyncWorld, SCRIPT, startEcrSyncWorld } from "../../local/world";

const run = promisify(execFile);

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, string>>;
}

describe("the reconcile document, run as SSM would, against real registries", function () {
  this.timeout(120000);
  let world: EcrSyncWorld;

  before(async function () {
    this.timeout(60000);
    world = await startEcrSyncWorld();
  });

  after(async () => {
    await world?.stop();
  });

  function documentFor(repositories: Record<string, string>): CommandDocument {
    return buildReconcileDocument({
      script: fs.readFileSync(SCRIPT, "utf8"),
      scriptPath: "ec2-scripts/ecr-sync.sh",
      environment: {
        sourceRegistry: world.source.host,
        targetRegistry: world.target.host,
        targetRoleArn: world.targetRoleArn,
        region: "us-east-1",
        repositories,
      },
      reconcileParallelism: CONFIG_DEFAULTS.reconcileParallelism,
    });
  }

  /** Substitutes the parameters (declared defaults for the rest) and runs the command with sh. */
  async function runAsSsmWould(
    document: CommandDocument,
    given: Record<string, string>,
  ): Promise<CommandResult> {
    const parameters: Record<string, string> = {};
    for (const [name, declared] of Object.entries(document.parameters)) {
      const value = given[name] ?? declared.default;
      if (value === undefined || !new RegExp(declared.allowedPattern).test(value))
        throw new Error(`SSM would refuse ${name}=${value}`);
      parameters[name] = value;
    }
    const tlsLine = "export ECR_SYNC_TLS_VERIFY='true'";
    const lines = document.mainSteps[0].inputs.runCommand;
    expect(lines, "the document pins TLS verification on").to.include(tlsLine);
    const command = lines
      .map((line) => (line === tlsLine ? "export ECR_SYNC_TLS_VERIFY='false'" : line))
      .join("\n")
      .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
    // The worker's environment: credentials and endpoint, but no ECR_SYNC_* other than the state
    // directory; everything the script is configured with comes from the document.
    const env = Object.fromEntries(
      Object.entries(world.env()).filter(([k]) => !k.startsWith("ECR_SYNC_") || k === "ECR_SYNC_STATE_DIR"),
    );
    let code = 0;
    let stdout = "";
    let stderr = "";
    try {
      ({ stdout, stderr } = await run("sh", ["-c", command], { env }));
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === "number" ? e.code : -1;
      stdout = e.stdout ?? "";
      stderr = e.stderr ?? "";
    }
    const parsed = stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, string>);
    return { code, stdout, stderr, lines: parsed };
  }

  it("plans the missing tag with dryRun=true and writes nothing, then copies it with the schedule's parameters", async () => {
    const source = "kuali-coeus-reconcile";
    const target = "coeus-reconcile";
    await world.createTargetRepository(target);
    const present = await world.layout.addImage({ layers: [{ size: 64 * 1024 }], label: "present" });
    const missing = await world.layout.addImage({ layers: [{ size: 64 * 1024 }], label: "missing" });
    await world.pushToSource(present, source, "2401.0001");
    await world.pushToSource(missing, source, "2401.0002");
    await world.pushToTarget(present, target, "2401.0001");
    const document = documentFor({ [source]: target });

    const plan = await runAsSsmWould(document, { dryRun: "true" });
    expect(plan.code, plan.stderr).to.equal(0);
    // Every reconcile ends with its summary line.
    const images = (lines: Array<Record<string, string>>) => lines.filter((l) => l.result !== "reconcile");
    expect(plan.lines.at(-1)).to.include({ result: "reconcile", unchanged: 1, planned: 1 });
    expect(
      images(plan.lines).map((l) => `${l.result} ${l.target.split("/").pop()} ${l.digest}`),
    ).to.deep.equal([
      `unchanged ${target}:2401.0001 ${present.digest}`,
      `planned ${target}:2401.0002 ${missing.digest}`,
    ]);
    expect(plan.stderr).to.include("reconcile dry run done: nothing was written");
    expect(await world.target.tags(target)).to.deep.equal(["2401.0001"]);

    // The schedule's input sends dryRun "false" (stack-alerts.test.ts); an operator may send none.
    const reconcile = await runAsSsmWould(document, { dryRun: "false" });
    expect(reconcile.code, reconcile.stderr).to.equal(0);
    expect(reconcile.lines.at(-1)).to.include({ result: "reconcile", unchanged: 1, copied: 1 });
    expect(
      images(reconcile.lines).map((l) => `${l.result} ${l.target.split("/").pop()} ${l.digest}`),
    ).to.deep.equal([
      `unchanged ${target}:2401.0001 ${present.digest}`,
      `copied ${target}:2401.0002 ${missing.digest}`,
    ]);
    expect(await world.target.digestOf(target, "2401.0002")).to.equal(missing.digest);

    const again = await runAsSsmWould(document, {});
    expect(again.code, again.stderr).to.equal(0);
    expect(again.lines.map((l) => l.result)).to.deep.equal(["unchanged", "unchanged", "reconcile"]);
  });

  it("ends the command non-zero (Failed, which the alert rule reports) when a mapped target repository is missing", async () => {
    const source = "kuali-coeus-orphan";
    const image = await world.layout.addImage({ layers: [{ size: 16 * 1024 }], label: "orphan" });
    await world.pushToSource(image, source, "v1");
    const result = await runAsSsmWould(documentFor({ [source]: "coeus-does-not-exist" }), {});
    expect(result.code).to.equal(5); // every failure was a missing repository: exit 5, not found
    expect(result.lines).to.have.length(2); // its failed line, then the summary
    expect(result.lines[0]).to.include({ result: "failed" });
    expect(result.lines[1]).to.include({ result: "reconcile", failed: 1 });
    expect(result.lines[0].error).to.include("'coeus-does-not-exist' does not exist");
  });
});

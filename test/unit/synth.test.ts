/**
 * synth as a command in a pipe: with --json the JSON is all of stdout, pretty unless --compact, and
 * so is the deploy policy with --deploy-policy;
 * a reader that closes early ends it quietly; the human form opens with one line per resource;
 * mistakes go to stderr with exit 2 (usage) or 1 (the stack does not render) and no stack trace.
 *
 * Only what needs a process of its own runs synth as a command (a Node start, tsx, @pulumi/aws and a
 * render each, about 4 s of CPU): stdout in a pipe, the reader closing it, and the exit status of a
 * usage error. The rest calls its `main` in this process, which renders through the same renderer
 * (local/render/, one render at a time, each distinct request once per process).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_ROOT, readStackConfig, renderStack, stackNames } from "../../local/render";
import { UsageError, jsonText, main, parseArgs, usage } from "../../scripts/synth";
import { deployPolicyOf } from "../../scripts/synth-deploy-policy";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs synth as a command in the project. With `closeEarly`, the reader closes stdout at once, as
 * `| head -1` does once it has its line.
 */
function synthCommand(args: string[], { closeEarly = false } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(PROJECT_ROOT, "scripts/synth.ts"), ...args],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    if (closeEarly) child.stdout.destroy();
    else child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs synth's `main` in this process, on the stack files in `root` (the project's, or a scratch directory's). */
async function synth(args: string[], root = PROJECT_ROOT): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    root,
    stdout: async (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** No `    at …` frames: the message is for a person, not a debugger. */
function expectNoStackTrace(text: string): void {
  expect(text).not.to.match(/^\s+at /m);
  expect(text).not.to.include("node:internal");
}

/**
 * A scratch directory with the project's Pulumi.yaml and stack files, some of them replaced, for
 * synth to read instead of the project's (the program stays the project's).
 */
function stackFiles(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-synth-"));
  for (const file of ["Pulumi.yaml", ...stackNames().map((s) => `Pulumi.${s}.yaml`)])
    fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(dir, file));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

describe("synth (scripts/synth.ts) in a pipe", function () {
  this.timeout(120000);

  describe("as a command, in a process of its own", () => {
    it("--json writes the JSON and nothing else to stdout, indented by 2 spaces", async () => {
      const run = await synthCommand(["--stack", "css", "--json"]);
      expect(run.code).to.equal(0);
      expect(run.stderr).to.equal("");
      const parsed = JSON.parse(run.stdout) as { stack: string; resources: unknown[]; outputs: object };
      expect(parsed.stack).to.equal("css");
      expect(parsed.resources).to.have.length.above(20);
      expect(run.stdout.split("\n").slice(0, 3)).to.deep.equal([
        "{",
        '  "stack": "css",',
        '  "resources": [',
      ]);
    });

    it("ends quietly with exit 0 when the reader closes the pipe early", async () => {
      const run = await synthCommand(["--stack", "css", "--json"], { closeEarly: true });
      expect(run.code).to.equal(0);
      expect(run.stderr).to.equal("");
    });

    it("a stack without a stack file is a usage error: exit 2, the stacks and the usage on stderr", async () => {
      const run = await synthCommand(["--stack", "production", "--json"]);
      expect(run.code).to.equal(2);
      expect(run.stdout).to.equal("");
      expect(run.stderr)
        .to.include(
          `synth: unknown stack "production": there is no Pulumi.production.yaml (stacks: ${stackNames().join(", ")})`,
        )
        .and.include(
          `usage: npm run -s synth -- --stack <${stackNames().join("|")}> [--json | --deploy-policy | --cost] [--compact]`,
        );
      expectNoStackTrace(run.stderr);
    });
  });

  it("--json --compact writes one line", () => {
    const text = jsonText({ stack: "css", resources: [], outputs: { a: { b: 1 } }, invokes: [] }, true);
    expect(text).to.equal('{"stack":"css","resources":[],"outputs":{"a":{"b":1}}}');
    expect(parseArgs(["--stack", "css", "--json", "--compact"])).to.deep.equal({
      stack: "css",
      json: true,
      deployPolicy: false,
      cost: false,
      compact: true,
    });
  });

  it("--deploy-policy writes the stack's deploy policy, as the rendered stack makes it, and nothing else", async () => {
    const [run, rendering] = await Promise.all([
      synth(["--stack", "css", "--deploy-policy"]),
      renderStack("css"),
    ]);
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal("");
    expect(JSON.parse(run.stdout)).to.deep.equal(deployPolicyOf(rendering, readStackConfig("css")));
    expect(run.stdout.split("\n").slice(0, 2)).to.deep.equal(["{", '  "Version": "2012-10-17",']);
    expect(parseArgs(["--stack", "legacy", "--deploy-policy", "--compact"])).to.deep.equal({
      stack: "legacy",
      json: false,
      deployPolicy: true,
      cost: false,
      compact: true,
    });
    expect(() => parseArgs(["--stack", "css", "--json", "--deploy-policy"])).to.throw(
      UsageError,
      "give one of them",
    );
  });

  it("the human form opens with one line per resource (type, name, what it is for), then the details", async () => {
    const run = await synth(["--stack", "css"]);
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal("");
    const lines = run.stdout.split("\n");
    const count = Number(/^# stack css: (\d+) resources$/.exec(lines[0])?.[1]);
    expect(count).to.be.above(20);
    const firstDetail = lines.findIndex((l) => l.startsWith("## "));
    const overview = lines.slice(1, firstDetail).filter((l) => l.trim() !== "");
    expect(overview).to.have.length(count);
    const lineOf = (name: string) => overview.find((l) => l.split(/\s{2,}/)[2] === name);
    expect(lineOf("ecr-sync-worker-role")).to.match(
      /^  aws:iam\/role:Role\s+ecr-sync-worker-role\s+The ecr-sync worker: pulls the mapped css repositories/,
    );
    expect(lineOf("ecr-sync-worker-sync")).to.match(
      /RolePolicy\s+ecr-sync-worker-sync\s+inline policy of role ecr-sync-worker$/,
    );
    expect(lineOf("ecr-sync-worker-debian13")).to.match(
      /Instance\s+ecr-sync-worker-debian13\s+the worker \(t4g\.small\) that runs the copier under SSM$/,
    );
    expect(
      overview.every((l) => l.split(/\s{2,}/).length >= 4),
      "type, name and purpose on every line",
    ).to.equal(true);
    expect(run.stdout).to.include("# outputs");
  });

  it("a usage error exits 2 with the reason and the usage on stderr, nothing on stdout; --help prints the usage", async () => {
    const run = await synth(["--stack", "css", "--yaml"]);
    expect(run.code).to.equal(2);
    expect(run.stdout).to.equal("");
    expect(run.stderr).to.equal(`synth: unknown argument "--yaml"\n\n${usage()}\n`);
    const help = await synth(["--stack", "css", "--help"]);
    expect(help).to.deep.equal({ code: 0, stdout: `${usage()}\n`, stderr: "" });
  });

  it("names the stacks of its stack files' directory in a usage error", async () => {
    const dir = stackFiles({ "Pulumi.css-test.yaml": "config: {}\n" });
    try {
      const run = await synth(["--stack", "production"], dir);
      expect(run.code).to.equal(2);
      expect(run.stderr)
        .to.include(`(stacks: css, css-staging, css-test, legacy, legacy-staging)`)
        .and.include("--stack <css|css-staging|css-test|legacy|legacy-staging>");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an unknown argument, a missing --stack and --compact without --json", () => {
    expect(() => parseArgs(["--stack", "css", "--yaml"])).to.throw(UsageError, 'unknown argument "--yaml"');
    expect(() => parseArgs([])).to.throw(UsageError, "--stack is required");
    expect(() => parseArgs(["--stack", "css", "--compact"])).to.throw(UsageError, "use it with --json");
    expect(parseArgs(["--help"])).to.equal(undefined);
    expect(parseArgs(["--stack=legacy"])).to.deep.equal({
      stack: "legacy",
      json: false,
      deployPolicy: false,
      cost: false,
      compact: false,
    });
  });

  it("refuses --stack without a name, or given twice", () => {
    expect(() => parseArgs(["--stack", "--json"])).to.throw(UsageError, "--stack needs a stack name");
    expect(() => parseArgs(["--stack"])).to.throw(UsageError, "--stack needs a stack name");
    expect(() => parseArgs(["--stack", "css", "--stack=legacy"])).to.throw(
      UsageError,
      "--stack is given twice",
    );
  });

  it("documents the npm run -s form for pipes and the exit codes in its usage", () => {
    expect(usage())
      .to.include("npm run -s synth -- --stack css --json")
      .and.include("--deploy-policy")
      .and.include("Exit status");
  });

  describe("a stack file the program refuses: exit 1, the reason on stderr", () => {
    let dir: string | undefined;
    afterEach(() => dir !== undefined && fs.rmSync(dir, { recursive: true, force: true }));
    const css = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.css.yaml"), "utf8");

    it("participant: target in Pulumi.css.yaml is a reference cycle, not a stack overflow", async () => {
      dir = stackFiles({ "Pulumi.css.yaml": css.replace("participant: source", "participant: target") });
      const run = await synth(["--stack", "css", "--json"], dir);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.include("synth: stack reference cycle css → css").and.not.include("RangeError");
      expectNoStackTrace(run.stderr);
    });

    it("a mapping line indented two spaces short is refused, naming the key and the file (it vanished from the map)", async () => {
      dir = stackFiles({
        "Pulumi.css.yaml": css.replace("    kuali-coeus-feature:", "  kuali-coeus-feature:"),
      });
      const run = await synth(["--stack", "css"], dir);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr)
        .to.include("ecr-sync:kuali-coeus-feature in Pulumi.css.yaml is not a key this program reads")
        .and.include("indent it under ecr-sync:repositories");
      expectNoStackTrace(run.stderr);
    });

    it("a digit swap in css's targetAccountId fails --stack css, naming Pulumi.legacy.yaml's account", async () => {
      dir = stackFiles({ "Pulumi.css.yaml": css.replace('"730096353738"', '"730096357338"') });
      const run = await synth(["--stack", "css", "--json"], dir);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.include(
        'synth: the stack files disagree:\n  - Pulumi.css.yaml sets ecr-sync:targetAccountId "730096357338", but Pulumi.legacy.yaml',
      );
      expectNoStackTrace(run.stderr);
    });

    it("a misspelt key is named, with the key it should be", async () => {
      dir = stackFiles({ "Pulumi.css.yaml": `${css}  ecr-sync:logRetentionDay: 30\n` });
      const run = await synth(["--stack", "css"], dir);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.include("did you mean ecr-sync:logRetentionDays?");
      expectNoStackTrace(run.stderr);
    });

    it("a key the stack file lacks is missing (not taken from the project's stack file)", async () => {
      dir = stackFiles({ "Pulumi.css.yaml": css.replace(/^  ecr-sync:alertEmail: none\n/m, "") });
      const run = await synth(["--stack", "css"], dir);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.include("ecr-sync:alertEmail is missing");
      expectNoStackTrace(run.stderr);
    });
  });
});

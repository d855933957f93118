import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { expect } from "chai";
import {
  CommandDocument,
  MAX_DOCUMENT_BYTES,
  SCRIPT_DELIMITER,
  BOOLEAN_PATTERN,
  RECONCILE_TIMEOUT_SECONDS,
  buildReconcileDocument,
  buildScriptDocument,
  buildSyncDocument,
  withoutCommentLines,
  reconcileDocumentParameters,
  shellQuote,
  syncDocumentParameters,
} from "../../components/document-content";
import { IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN, REPOSITORY_NAME_PATTERN } from "../../common/naming";
import { SYNC_PARAMETERS } from "../../common/ssm-command";
import { PROJECT_ROOT } from "../../local/render";

const environment = {
  sourceRegistry: "770203350335.dkr.ecr.us-east-1.amazonaws.com",
  targetRegistry: "730096353738.dkr.ecr.us-east-1.amazonaws.com",
  targetRoleArn: "arn:aws:iam::730096353738:role/ecr-sync-target",
  region: "us-east-1",
  repositories: { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" },
};

/** A stand-in for ecr-sync.sh that reports its arguments and environment, one per line. */
const REPORTING_SCRIPT = [
  "#!/usr/bin/env bash",
  "set -euo pipefail",
  'for argument in "$@"; do printf "arg=%s\\n" "${argument}"; done',
  'env | grep "^ECR_SYNC_" | sort',
  "printf \"dollar=%s\\n\" '$HOME is not expanded in the heredoc'",
  "",
].join("\n");

/**
 * Substitutes parameters textually, as SSM Run Command does (a parameter not given takes its
 * declared default; one without a default is refused), and runs the command with sh.
 */
function runAsSsmWould(document: CommandDocument, given: Record<string, string>): string {
  for (const [name, value] of Object.entries(given)) {
    const declared = document.parameters[name];
    expect(declared, `parameter ${name}`).to.exist;
    if (!new RegExp(declared.allowedPattern).test(value))
      throw new Error(`SSM would refuse ${name}=${value}`);
  }
  const parameters: Record<string, string> = {};
  for (const [name, declared] of Object.entries(document.parameters)) {
    const value = given[name] ?? declared.default;
    if (value === undefined) throw new Error(`SSM would refuse the command: parameter ${name} is required`);
    parameters[name] = value;
  }
  const script = document.mainSteps[0].inputs.runCommand
    .join("\n")
    .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
  return execFileSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" },
  });
}

const pushed = {
  sourceRepository: "kuali-coeus",
  targetRepository: "coeus",
  tag: "2401.0042",
  digest: `sha256:${"ab".repeat(32)}`,
};

describe("the SSM sync document (components/document-content.ts)", () => {
  it("declares the contract parameters with ECR's naming rules as allowedPatterns", () => {
    const parameters = syncDocumentParameters();
    expect(Object.keys(parameters).sort()).to.deep.equal(Object.values(SYNC_PARAMETERS).sort());
    expect(parameters.sourceRepository).to.include({
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: 2,
      maxChars: 256,
    });
    expect(parameters.targetRepository).to.include({
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: 2,
      maxChars: 256,
    });
    expect(parameters.tag).to.include({ allowedPattern: IMAGE_TAG_PATTERN, maxChars: 128 });
    expect(parameters.digest).to.include({
      allowedPattern: IMAGE_DIGEST_PATTERN,
      minChars: 71,
      maxChars: 71,
    });
  });

  it("admits no shell metacharacter through any parameter's pattern", () => {
    const hostile = [
      "a;id",
      "a b",
      "$(id)",
      "`id`",
      "a'b",
      'a"b',
      "a|b",
      "a&b",
      "a\nb",
      "a>b",
      "../x",
      "-rf",
      "a{{b}}",
    ];
    for (const [name, parameter] of Object.entries(syncDocumentParameters())) {
      const pattern = new RegExp(parameter.allowedPattern);
      for (const value of hostile)
        expect(pattern.test(value), `${name} admits ${JSON.stringify(value)}`).to.equal(false);
    }
  });

  it("runs the carried script with exactly the pushed values as arguments and the baked environment", () => {
    const document = buildSyncDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
    const output = runAsSsmWould(document, pushed).trim().split("\n");
    expect(output.filter((l) => l.startsWith("arg="))).to.deep.equal([
      "arg=copy",
      "arg=--source-repository",
      "arg=kuali-coeus",
      "arg=--target-repository",
      "arg=coeus",
      "arg=--tag",
      "arg=2401.0042",
      "arg=--digest",
      `arg=${pushed.digest}`,
    ]);
    expect(output.filter((l) => l.startsWith("ECR_SYNC_"))).to.deep.equal([
      `ECR_SYNC_REGION=us-east-1`,
      `ECR_SYNC_REPOSITORY_MAP={"kuali-coeus":"coeus","kuali-coeus-feature":"coeus-feature"}`,
      `ECR_SYNC_SOURCE_REGISTRY=770203350335.dkr.ecr.us-east-1.amazonaws.com`,
      `ECR_SYNC_TARGET_REGISTRY=730096353738.dkr.ecr.us-east-1.amazonaws.com`,
      `ECR_SYNC_TARGET_ROLE_ARN=arn:aws:iam::730096353738:role/ecr-sync-target`,
      `ECR_SYNC_TLS_VERIFY=true`,
    ]);
    expect(output).to.include("dollar=$HOME is not expanded in the heredoc");
  });

  it("passes the script's exit status on as the command's", () => {
    const document = buildSyncDocument({
      script: "#!/usr/bin/env bash\nexit 3\n",
      scriptPath: "fails.sh",
      environment,
    });
    expect(() => runAsSsmWould(document, pushed))
      .to.throw()
      .with.property("status", 3);
  });

  it("carries the script verbatim between the heredoc markers", () => {
    const document = buildSyncDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
    const lines = document.mainSteps[0].inputs.runCommand;
    const start = lines.findIndex((l) => l.endsWith(`<<'${SCRIPT_DELIMITER}'`));
    const end = lines.indexOf(SCRIPT_DELIMITER);
    expect(`${lines.slice(start + 1, end).join("\n")}\n`).to.equal(REPORTING_SCRIPT);
  });

  it("quotes every placeholder, so a substituted value stays one word", () => {
    const document = buildSyncDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
    const lines = document.mainSteps[0].inputs.runCommand;
    const command = lines.slice(lines.indexOf(SCRIPT_DELIMITER) + 1).join("\n");
    for (const name of Object.values(SYNC_PARAMETERS)) expect(command).to.include(`'{{${name}}}'`);
    expect(command.replace(/'\{\{\w+\}\}'/g, "")).not.to.include("{{");
  });

  it("passes the push time as --pushed-at when the trigger sends pushedAt, and leaves it out when empty", () => {
    const document = buildSyncDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
    const args = (given: Record<string, string>) =>
      runAsSsmWould(document, given)
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("arg="));
    const withoutTime = args(pushed);
    expect(args({ ...pushed, pushedAt: "2026-06-01T12:00:03Z" })).to.deep.equal([
      ...withoutTime,
      "arg=--pushed-at",
      "arg=2026-06-01T12:00:03Z",
    ]);
    expect(args({ ...pushed, pushedAt: "2026-06-01T12:00:03.123Z" }).slice(-1)).to.deep.equal([
      "arg=2026-06-01T12:00:03.123Z",
    ]);
    expect(args({ ...pushed, pushedAt: "" })).to.deep.equal(withoutTime);
    expect(withoutTime).not.to.include("arg=--pushed-at");
    expect(syncDocumentParameters().pushedAt).to.include({ default: "" });
  });

  it("refuses a malformed push time, as SSM's allowedPattern would", () => {
    const pattern = new RegExp(syncDocumentParameters().pushedAt.allowedPattern);
    for (const value of ["2026-06-01T12:00:03Z", "2026-06-01T12:00:03.5Z", ""])
      expect(pattern.test(value), value).to.equal(true);
    for (const value of [
      "2026-06-01",
      "2026-06-01T12:00:03",
      "2026-06-01T12:00:03+00:00",
      "2026-06-01 12:00:03Z",
      "2026-06-01T12:00:03Z'; id; '",
      "$(date)",
      "2026-06-01T12:00:03Z\n",
      " ",
    ])
      expect(pattern.test(value), JSON.stringify(value)).to.equal(false);
    const document = buildSyncDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
    expect(() => runAsSsmWould(document, { ...pushed, pushedAt: "2026-06-01T12:00:03+02:00" })).to.throw(
      "SSM would refuse pushedAt",
    );
  });

  it("refuses an option whose parameter has no empty default or admits a quote", () => {
    const base = {
      description: "d",
      script: REPORTING_SCRIPT,
      scriptPath: "reporting.sh",
      environment: {},
      arguments: [],
      timeoutSeconds: 60,
      stepName: "s",
      options: [{ parameter: "at", flag: "--at" }],
    };
    expect(() =>
      buildScriptDocument({
        ...base,
        parameters: { at: { type: "String", description: "d", allowedPattern: "^[0-9]*$" } },
      }),
    ).to.throw(/parameter at must default to ""/);
    expect(() =>
      buildScriptDocument({
        ...base,
        parameters: { at: { type: "String", description: "d", allowedPattern: "^.*$", default: "" } },
      }),
    ).to.throw(/admits a quote/);
    expect(() => buildScriptDocument({ ...base, parameters: {} })).to.throw(/does not declare/);
  });

  it("refuses a script with {{, which SSM would interpolate, naming the line", () => {
    const script = "#!/usr/bin/env bash\necho ok\njq '{{.x}}'\n";
    expect(() => buildSyncDocument({ script, scriptPath: "ec2-scripts/ecr-sync.sh", environment })).to.throw(
      /ec2-scripts\/ecr-sync\.sh line 3 contains "\{\{"/,
    );
  });

  it("refuses an environment value with {{ or a newline", () => {
    expect(() =>
      buildSyncDocument({
        script: REPORTING_SCRIPT,
        scriptPath: "s.sh",
        environment: { ...environment, targetRoleArn: "{{ssm:/x}}" },
      }),
    ).to.throw(/environment variable ECR_SYNC_TARGET_ROLE_ARN line 1 contains "\{\{"/);
    expect(() =>
      buildSyncDocument({
        script: REPORTING_SCRIPT,
        scriptPath: "s.sh",
        environment: { ...environment, region: "us-east-1\nrm" },
      }),
    ).to.throw(/ECR_SYNC_REGION: the value must be one line/);
  });

  it("refuses a script containing the heredoc's end marker", () => {
    expect(() =>
      buildSyncDocument({ script: `echo a\n${SCRIPT_DELIMITER}\necho b\n`, scriptPath: "s.sh", environment }),
    ).to.throw(new RegExp(`s\\.sh contains the line ${SCRIPT_DELIMITER}`));
  });

  it("refuses an argument that references an undeclared parameter", () => {
    expect(() =>
      buildScriptDocument({
        description: "d",
        script: "true\n",
        scriptPath: "s.sh",
        environment: {},
        parameters: syncDocumentParameters(),
        arguments: ["copy", "{{image}}"],
        timeoutSeconds: 60,
        stepName: "s",
      }),
    ).to.throw(/references \{\{image\}\}, which the document does not declare/);
  });

  it("refuses a document larger than SSM accepts", () => {
    const script = `${": padding\n".repeat(MAX_DOCUMENT_BYTES / 10)}true\n`;
    expect(() => buildSyncDocument({ script, scriptPath: "big.sh", environment })).to.throw(
      /SSM accepts at most 65536/,
    );
  });

  it("quotes values for sh so they come back unchanged", () => {
    for (const value of ["plain", "it's", '$HOME `id` "q"', ""]) {
      expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" })).to.equal(
        value,
      );
    }
  });

  it("accepts the real ec2-scripts/ecr-sync.sh", function () {
    const scriptPath = path.join(PROJECT_ROOT, "ec2-scripts", "ecr-sync.sh");
    const script = fs.readFileSync(scriptPath, "utf8");
    const document = buildSyncDocument({ script, scriptPath: "ec2-scripts/ecr-sync.sh", environment });
    expect(document.mainSteps[0].inputs.runCommand).to.include.members(
      withoutCommentLines(script).replace(/\n$/, "").split("\n"),
    );
  });

  it("carries the script without its comment lines, blanked so that line numbers stay those of the file", () => {
    const script =
      "#!/usr/bin/env bash\n# why\nset -eu\n  # indented why\necho '#not a comment' # trailing\n";
    expect(withoutCommentLines(script)).to.equal(
      "#!/usr/bin/env bash\n\nset -eu\n\necho '#not a comment' # trailing\n",
    );
    expect(withoutCommentLines(script).split("\n")).to.have.length(script.split("\n").length);
  });

  it("leaves bash the same functions and values in ecr-sync.sh without its comment lines", function () {
    this.timeout(20000);
    const script = fs.readFileSync(path.join(PROJECT_ROOT, "ec2-scripts", "ecr-sync.sh"), "utf8");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-comments-"));
    try {
      const seen = (text: string, name: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        // Sourced, the script only defines; declare prints every function and variable it set.
        return execFileSync(
          "bash",
          [
            "-c",
            'source "$1" && declare -f && declare -p | grep -v -E "^declare (-[a-zA-Z-]+ )?(BASH_|_=|SHLVL|PWD|OLDPWD)"',
            "bash",
            file,
          ],
          {
            encoding: "utf8",
            env: { PATH: process.env.PATH ?? "" },
          },
        );
      };
      const original = seen(script, "original.sh");
      expect(original).to.include("copy_locked ()");
      expect(seen(withoutCommentLines(script), "blanked.sh")).to.equal(original);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the SSM reconcile document (components/document-content.ts)", () => {
  const reconcile = () =>
    buildReconcileDocument({ script: REPORTING_SCRIPT, scriptPath: "reporting.sh", environment });
  const argumentsOf = (output: string) =>
    output
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("arg="));

  it("declares one parameter, dryRun, that admits only true and false and defaults to false", () => {
    const parameters = reconcileDocumentParameters();
    expect(Object.keys(parameters)).to.deep.equal(["dryRun"]);
    expect(parameters.dryRun).to.include({ allowedPattern: BOOLEAN_PATTERN, default: "false" });
    const pattern = new RegExp(parameters.dryRun.allowedPattern);
    expect(["true", "false"].map((v) => pattern.test(v))).to.deep.equal([true, true]);
    for (const value of ["", "True", "yes", "1", "true;id", "false ", "--dry-run", "$(id)"]) {
      expect(pattern.test(value), JSON.stringify(value)).to.equal(false);
    }
  });

  it("runs the carried script's reconcile, nothing more, when sent without parameters (the schedule's default)", () => {
    const output = runAsSsmWould(reconcile(), {});
    expect(argumentsOf(output)).to.deep.equal(["arg=reconcile"]);
    expect(output).to.include(
      `ECR_SYNC_REPOSITORY_MAP={"kuali-coeus":"coeus","kuali-coeus-feature":"coeus-feature"}`,
    );
  });

  it("runs reconcile with dryRun=false exactly as without parameters", () => {
    expect(argumentsOf(runAsSsmWould(reconcile(), { dryRun: "false" }))).to.deep.equal(["arg=reconcile"]);
  });

  it("adds --dry-run, as one argument, when dryRun=true", () => {
    expect(argumentsOf(runAsSsmWould(reconcile(), { dryRun: "true" }))).to.deep.equal([
      "arg=reconcile",
      "arg=--dry-run",
    ]);
  });

  it("bakes the same environment as the sync document and allows a reconcile four hours", () => {
    const reconcileLines = reconcile().mainSteps[0].inputs.runCommand.filter((l) => l.startsWith("export "));
    const syncLines = buildSyncDocument({
      script: REPORTING_SCRIPT,
      scriptPath: "reporting.sh",
      environment,
    }).mainSteps[0].inputs.runCommand.filter((l) => l.startsWith("export "));
    expect(reconcileLines).to.deep.equal(syncLines).and.have.length(6);
    expect(reconcile().mainSteps[0].inputs.timeoutSeconds)
      .to.equal(RECONCILE_TIMEOUT_SECONDS)
      .and.equal(14400);
  });

  it("passes the script's exit status on as the command's", () => {
    const document = buildReconcileDocument({
      script: "#!/usr/bin/env bash\nexit 4\n",
      scriptPath: "fails.sh",
      environment,
    });
    expect(() => runAsSsmWould(document, {}))
      .to.throw()
      .with.property("status", 4);
  });

  it("refuses a switch on an undeclared parameter or on one that is not true/false", () => {
    const base = {
      description: "d",
      script: "true\n",
      scriptPath: "s.sh",
      environment: {},
      arguments: ["reconcile"],
      timeoutSeconds: 60,
      stepName: "s",
    };
    expect(() =>
      buildScriptDocument({
        ...base,
        parameters: {},
        switches: [{ parameter: "dryRun", flag: "--dry-run" }],
      }),
    ).to.throw(/switch "--dry-run" reads \{\{dryRun\}\}, which the document does not declare/);
    expect(() =>
      buildScriptDocument({
        ...base,
        parameters: { dryRun: { type: "String", description: "d", allowedPattern: "^.*$" } },
        switches: [{ parameter: "dryRun", flag: "--dry-run" }],
      }),
    ).to.throw(/parameter dryRun must have allowedPattern \^\(true\|false\)\$/);
  });

  it("gives the sync document no switches, only the --pushed-at option after its fixed arguments", () => {
    const lines = buildSyncDocument({
      script: REPORTING_SCRIPT,
      scriptPath: "reporting.sh",
      environment,
    }).mainSteps[0].inputs.runCommand;
    expect(lines.at(-1)).to.match(/^bash "\$ecr_sync_dir\/script\.sh" 'copy' .*'\{\{digest\}\}' "\$@"$/);
    expect(lines.slice(-3, -1)).to.deep.equal([
      "set --",
      `if [ -n '{{pushedAt}}' ]; then set -- "$@" '--pushed-at' '{{pushedAt}}'; fi`,
    ]);
  });
});

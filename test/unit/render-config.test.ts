/** The config the renderer hands the program (local/render/config.ts), read as the Pulumi CLI reads it. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { rawStackConfig } from "../../components/config";
import { PROJECT_ROOT, readStackConfig, stackPairProblems } from "../../local/render";
import { problemsOf } from "../support/config";

const committed = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");

describe("stack config as the CLI reads it (local/render/config.ts)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-config-"));
    fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes the stack files into the scratch project; `css` and `legacy` default to the committed ones. */
  function stackFiles(files: Record<string, string>): void {
    const all = { css: committed("Pulumi.css.yaml"), legacy: committed("Pulumi.legacy.yaml"), ...files };
    for (const [stack, text] of Object.entries(all))
      fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  }

  /** The message readStackConfig refuses `stack` with; fails the test when it reads it. */
  function refusal(stack: string): string {
    try {
      readStackConfig(stack, {}, dir);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`expected Pulumi.${stack}.yaml to be refused`);
  }

  it("puts Pulumi.yaml's declared defaults under the stack file's values, and applies overrides last", () => {
    const legacy = readStackConfig("legacy", {
      "ecr-sync:alertEmail": "oncall@example.edu",
      "aws:region": null,
    });
    expect(legacy["ecr-sync:participant"]).to.equal("target");
    expect(legacy["ecr-sync:logRetentionDays"]).to.equal("90");
    expect(legacy["ecr-sync:workerSubnetId"]).to.equal("");
    expect(legacy["ecr-sync:alertEmail"]).to.equal("oncall@example.edu");
    expect(legacy).not.to.have.property("aws:region");
    expect(readStackConfig("css")["ecr-sync:repositories"]).to.equal(
      JSON.stringify({ "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" }),
    );
  });

  it("a stack file that lacks a key Pulumi.yaml declares without default is refused, as the CLI would", () => {
    stackFiles({ x: "config:\n  ecr-sync:participant: source\n" });
    expect(refusal("x"))
      .to.include("Pulumi.x.yaml is refused")
      .and.include("it lacks ecr-sync:sourceAccountId, ecr-sync:targetAccountId")
      .and.include("Stack 'x' is missing configuration values");
  });

  it("reads a key without a namespace as the project's, and ns:config:key as ns:key", () => {
    stackFiles({
      css: committed("Pulumi.css.yaml")
        .replace("ecr-sync:participant:", "participant:")
        .replace("ecr-sync:alertEmail:", "ecr-sync:config:alertEmail:"),
    });
    const config = readStackConfig("css", {}, dir);
    expect(config["ecr-sync:participant"]).to.equal("source");
    expect(config["ecr-sync:alertEmail"]).to.equal("none");
    expect(config).not.to.have.property("participant");
  });

  it("a mapping line indented two spaces short is ecr-sync:<source>, refused naming the key and the file", () => {
    const css = committed("Pulumi.css.yaml");
    expect(css).to.include("    kuali-coeus-feature: coeus-feature");
    stackFiles({ css: css.replace("    kuali-coeus-feature:", "  kuali-coeus-feature:") });
    const config = readStackConfig("css", {}, dir);
    expect(config["ecr-sync:kuali-coeus-feature"]).to.equal("coeus-feature");
    expect(JSON.parse(config["ecr-sync:repositories"])).to.deep.equal({ "kuali-coeus": "coeus" });
    const problems = problemsOf(rawStackConfig(config, "organization/ecr-sync/css"));
    expect(problems).to.have.length(1);
    expect(problems[0])
      .to.include("ecr-sync:kuali-coeus-feature in Pulumi.css.yaml is not a key this program reads")
      .and.include("indent it under ecr-sync:repositories");
  });

  it("a key set twice under two spellings is refused (the CLI would keep either)", () => {
    stackFiles({ css: `${committed("Pulumi.css.yaml")}  participant: target\n` });
    expect(refusal("css"))
      .to.include("Pulumi.css.yaml is refused")
      .and.include(
        "ecr-sync:participant is set twice, as ecr-sync:participant and as participant (line 18, column 3)",
      );
  });

  it("a secret value (pulumi config set --secret) is refused with the true reason: nothing here can decrypt it", () => {
    const css = committed("Pulumi.css.yaml").replace(
      /^  ecr-sync:alertEmail: .*$/m,
      "  ecr-sync:alertEmail:\n    secure: v1:AAAABBBBCCCCDDDD",
    );
    expect(css).to.include("secure: v1:");
    stackFiles({ css });
    expect(refusal("css"))
      .to.include("ecr-sync:alertEmail is a secret (secure: in")
      .and.include("set it in plain text (pulumi config set ecr-sync:alertEmail VALUE -s css)")
      .and.not.include("must be of type");
  });

  it("a key the CLI cannot parse is refused with the CLI's reason", () => {
    stackFiles({ css: `${committed("Pulumi.css.yaml")}  ecr-sync:alerts:email: x@example.edu\n` });
    expect(refusal("css"))
      .to.include("ecr-sync:alerts:email (line 18, column 3) is not a config key the Pulumi CLI can read")
      .and.include("could not parse ecr-sync:alerts:email as a configuration key");
  });

  it("a YAML syntax error names the file, the line and the column", () => {
    stackFiles({
      css: committed("Pulumi.css.yaml").replace("participant: source", "participant: source: x"),
    });
    expect(refusal("css")).to.match(
      /^Pulumi\.css\.yaml is refused:\n {2}- not valid YAML: .* at line 7, column 25/,
    );
  });

  it("a number with a leading zero says to quote it, naming the key, the line and the file", () => {
    stackFiles({
      css: committed("Pulumi.css.yaml")
        .replace('ecr-sync:targetAccountId: "730096353738"', "ecr-sync:targetAccountId: 030096353738")
        .replace('- "770203350335"', "- 070203350335"),
    });
    const message = refusal("css");
    expect(message)
      .to.include("Pulumi.css.yaml is refused")
      .and.include("ecr-sync:targetAccountId is 030096353738 without quotes (line 9, column 29)")
      .and.include('quote it: "030096353738"')
      .and.include("aws:allowedAccountIds[0] is 070203350335 without quotes")
      .and.include('quote it: "070203350335"');
    // Quoted, the same ids are read as written.
    stackFiles({
      css: committed("Pulumi.css.yaml").replace('"730096353738"', '"030096353738"'),
    });
    expect(readStackConfig("css", {}, dir)["ecr-sync:targetAccountId"]).to.equal("030096353738");
  });

  it("a value of another type than Pulumi.yaml declares is refused, as the CLI refuses it", () => {
    stackFiles({ css: `${committed("Pulumi.css.yaml")}  ecr-sync:logRetentionDays: ninety\n` });
    expect(refusal("css"))
      .to.include('ecr-sync:logRetentionDays is "ninety", but Pulumi.yaml declares it an integer')
      .and.include("Stack 'css' with configuration key 'logRetentionDays' must be of type 'integer'");
    // Numbers and digit strings are integers; a number is a string's text, as the CLI passes it.
    stackFiles({
      css: `${committed("Pulumi.css.yaml")}  ecr-sync:logRetentionDays: "30"\n  ecr-sync:workerInstanceType: 5\n`,
    });
    expect(readStackConfig("css", {}, dir)).to.include({
      "ecr-sync:logRetentionDays": "30",
      "ecr-sync:workerInstanceType": "5",
    });
  });

  it("a stack file that imports ESC environments is refused: their values would be missing here", () => {
    stackFiles({ css: `environment:\n  - ecr-sync/css\n${committed("Pulumi.css.yaml")}` });
    expect(refusal("css")).to.include("it imports Pulumi ESC environments (environment:)");
  });

  describe("synth compares a stack with the stack files paired with it", () => {
    it("a digit swap in css's targetAccountId is refused on css, naming both files and both values", () => {
      stackFiles({ css: committed("Pulumi.css.yaml").replace('"730096353738"', '"730096357338"') });
      const expected = [
        'Pulumi.css.yaml sets ecr-sync:targetAccountId "730096357338", but Pulumi.legacy.yaml, the target stack that reads css, sets "730096353738": ' +
          "a pair names the same two accounts (pulumi up -s legacy would refuse css's outputs); fix whichever is wrong",
      ];
      expect(stackPairProblems("css", dir)).to.deep.equal(expected);
      expect(stackPairProblems("legacy", dir)).to.deep.equal(expected);
    });

    it("the committed stack files agree", () => {
      expect(stackPairProblems("css")).to.deep.equal([]);
      expect(stackPairProblems("legacy")).to.deep.equal([]);
    });
  });
});

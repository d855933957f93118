/** The config the renderer hands the program (local/render/config.ts), merged as the Pulumi CLI merges it. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_ROOT, readStackConfig } from "../../local/render";

describe("stack config as the CLI merges it (local/render/config.ts)", () => {
  it("a stack file that lacks a key Pulumi.yaml declares without default is refused, as the CLI would", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-config-"));
    try {
      fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
      fs.writeFileSync(path.join(dir, "Pulumi.x.yaml"), "config:\n  ecr-sync:participant: source\n");
      expect(() => readStackConfig("x", {}, dir)).to.throw(/Pulumi\.x\.yaml lacks ecr-sync:sourceAccountId/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

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
});

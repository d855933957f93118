import { expect } from "chai";
import { DidNotRun } from "../../scripts/e2e/outcome";
import { describeCredentials, readSettings } from "../../scripts/e2e/settings";

const TARGET = { ECR_SYNC_E2E_TARGET_PROFILE: "legacy" };

/** The DidNotRun error readSettings throws for `env`. */
function refusal(env: NodeJS.ProcessEnv): DidNotRun {
  try {
    readSettings(env);
  } catch (error) {
    expect(error).to.be.instanceOf(DidNotRun);
    return error as DidNotRun;
  }
  throw new Error(`readSettings accepted ${JSON.stringify(env)}`);
}

describe("e2e settings (scripts/e2e/settings.ts)", () => {
  it("needs only the target profile: the rest defaults to the css → legacy mapping of kuali-coeus", () => {
    expect(readSettings(TARGET)).to.deep.equal({
      source: {
        role: "source",
        profile: undefined,
        expectedAccountId: "770203350335",
        repository: "kuali-coeus",
      },
      target: { role: "target", profile: "legacy", expectedAccountId: "730096353738", repository: "coeus" },
      region: "us-east-1",
      sourceRegistry: undefined,
      timeoutSeconds: 120,
    });
  });

  it("reads every variable, trimmed, and treats an empty one as unset", () => {
    const settings = readSettings({
      ECR_SYNC_E2E_SOURCE_PROFILE: " css ",
      ECR_SYNC_E2E_TARGET_PROFILE: "legacy",
      ECR_SYNC_E2E_SOURCE_REPOSITORY: "src/app",
      ECR_SYNC_E2E_TARGET_REPOSITORY: "",
      ECR_SYNC_E2E_SOURCE_ACCOUNT: "111111111111",
      ECR_SYNC_E2E_TARGET_ACCOUNT: "222222222222",
      ECR_SYNC_E2E_REGION: "eu-west-1",
      ECR_SYNC_E2E_TIMEOUT_SECONDS: "300",
      ECR_SYNC_E2E_SOURCE_REGISTRY: "vpce.example:443",
    });
    expect(settings.source).to.deep.include({
      profile: "css",
      repository: "src/app",
      expectedAccountId: "111111111111",
    });
    expect(settings.target).to.deep.include({ repository: "coeus", expectedAccountId: "222222222222" });
    expect(settings).to.deep.include({
      region: "eu-west-1",
      timeoutSeconds: 300,
      sourceRegistry: "vpce.example:443",
    });
  });

  it("refuses, naming the variable and its value, what cannot be right", () => {
    expect(refusal({}).message).to.match(/^ECR_SYNC_E2E_TARGET_PROFILE is not set: name the AWS profile/);
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_TIMEOUT_SECONDS: "0" }).message).to.equal(
      "ECR_SYNC_E2E_TIMEOUT_SECONDS='0' is not a whole number of seconds ≥ 1",
    );
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_TIMEOUT_SECONDS: "1.5" }).message).to.include("'1.5'");
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_REGION: "mars" }).message).to.equal(
      "ECR_SYNC_E2E_REGION='mars' is not an AWS region name",
    );
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_SOURCE_ACCOUNT: "12345" }).message).to.equal(
      "ECR_SYNC_E2E_SOURCE_ACCOUNT='12345' is not a 12-digit AWS account id",
    );
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_SOURCE_REPOSITORY: "Kuali" }).message).to.equal(
      "ECR_SYNC_E2E_SOURCE_REPOSITORY='Kuali' is not a valid ECR repository name",
    );
    expect(refusal({ ...TARGET, ECR_SYNC_E2E_TARGET_ACCOUNT: "770203350335" }).message).to.equal(
      "source and target account are both 770203350335: the check needs the two accounts",
    );
  });

  it("names where credentials come from", () => {
    const settings = readSettings(TARGET);
    expect(describeCredentials(settings.source)).to.equal("the default credential chain");
    expect(describeCredentials(settings.target)).to.equal("profile 'legacy'");
  });
});

import { expect } from "chai";
import { sourceRegistry, uniqueTag } from "../../scripts/e2e/push";
import { readSettings } from "../../scripts/e2e/settings";

describe("e2e push (scripts/e2e/push.ts)", () => {
  it("tags each check uniquely, with the UTC time to the second", () => {
    const now = new Date("2026-06-01T12:00:03.512Z");
    const tag = uniqueTag(now);
    expect(tag).to.match(/^ecr-sync-e2e-20260601T120003Z-[0-9a-f]{8}$/);
    expect(uniqueTag(now)).not.to.equal(tag);
  });

  it("pushes to the source account's ECR unless ECR_SYNC_E2E_SOURCE_REGISTRY names another host", () => {
    const env = { ECR_SYNC_E2E_TARGET_PROFILE: "legacy", ECR_SYNC_E2E_REGION: "eu-west-1" };
    expect(sourceRegistry(readSettings(env))).to.equal("770203350335.dkr.ecr.eu-west-1.amazonaws.com");
    expect(sourceRegistry(readSettings({ ...env, ECR_SYNC_E2E_SOURCE_REGISTRY: "vpce.example" }))).to.equal(
      "vpce.example",
    );
  });
});

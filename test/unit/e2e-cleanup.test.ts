import { expect } from "chai";
import { BuiltIndex } from "../../local/oci";
import { deleteBatches, laterRemovalCommands } from "../../scripts/e2e/cleanup";
import { readSettings } from "../../scripts/e2e/settings";

const platform = (architecture: string, digest: string) =>
  ({ digest, platform: { os: "linux", architecture } }) as unknown as BuiltIndex["images"][number];
const image = {
  digest: "sha256:index",
  images: [platform("amd64", "sha256:a"), platform("arm64", "sha256:b")],
} as unknown as BuiltIndex;

describe("e2e cleanup (scripts/e2e/cleanup.ts)", () => {
  it("deletes the tagged index before its platform manifests, which ECR refuses while an index references them", () => {
    expect(deleteBatches("t1", image)).to.deep.equal([
      ["imageTag=t1"],
      ["imageDigest=sha256:a", "imageDigest=sha256:b"],
    ]);
  });

  it("prints the commands that remove a late arrival from the target, with the target profile", () => {
    const settings = readSettings({
      ECR_SYNC_E2E_TARGET_PROFILE: "legacy",
      ECR_SYNC_E2E_REGION: "eu-west-1",
    });
    expect(laterRemovalCommands(settings, "t1", image)).to.deep.equal([
      "aws ecr batch-delete-image --region eu-west-1 --profile legacy --repository-name coeus --image-ids imageTag=t1",
      "aws ecr batch-delete-image --region eu-west-1 --profile legacy --repository-name coeus --image-ids imageDigest=sha256:a imageDigest=sha256:b",
    ]);
  });
});

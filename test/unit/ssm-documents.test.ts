/**
 * What the sync and reconcile documents tell the copier about its world
 * (components/ssm-documents.ts `syncEnvironment`): both registries from the two accounts and the
 * region, the role, the mapping and the results log group as given.
 */
import { expect } from "chai";
import { syncEnvironment } from "../../components/ssm-documents";

describe("syncEnvironment: the copier's world, from the stack's values", () => {
  it("names each registry by its account and the region, and passes role and mapping on", () => {
    const repositories = { "kuali-coeus": "coeus" };
    expect(
      syncEnvironment({
        accountId: "770203350335",
        targetAccountId: "730096353738",
        region: "us-west-2",
        targetRoleArn: "arn:aws:iam::730096353738:role/ecr-sync-target",
        repositories,
        resultsLogGroup: "/ecr-sync/results",
        copyReferrers: false,
      }),
    ).to.deep.equal({
      sourceRegistry: "770203350335.dkr.ecr.us-west-2.amazonaws.com",
      targetRegistry: "730096353738.dkr.ecr.us-west-2.amazonaws.com",
      targetRoleArn: "arn:aws:iam::730096353738:role/ecr-sync-target",
      region: "us-west-2",
      repositories,
      resultsLogGroup: "/ecr-sync/results",
      copyReferrers: false,
    });
  });
});

/**
 * The ARN grammar of components/arns.ts: the ARNs the stacks build, and the errors that name the
 * argument and the value when an input cannot make one. (The argument checks the policy documents
 * run are exercised through the documents, in test/unit/policies.test.ts.)
 */
import { expect } from "chai";
import { repositoryArn, roleArn } from "../../components/arns";

const CSS = "770203350335";
const LEGACY = "730096353738";
const REGION = "us-east-1";

describe("ARN builders: input checks name the argument and the value (components/arns.ts)", () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      "a bad region",
      () => repositoryArn(CSS, "useast1", "kuali-coeus"),
      /^region: "useast1" is not an AWS region name/,
    ],
    [
      "a bad repository name",
      () => repositoryArn(CSS, REGION, "Kuali"),
      /^name: "Kuali" is not a valid ECR repository name/,
    ],
    ["a bad account id", () => roleArn("1234", "x"), /^accountId: "1234" is not an AWS account id/],
    ["a bad role name", () => roleArn(CSS, "has space"), /^name: "has space" is not a valid IAM role name/],
  ];
  for (const [what, call, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(call).to.throw(Error, message);
    });
  }

  it("builds ARNs in the documented forms", () => {
    expect(repositoryArn(CSS, REGION, "kuali-coeus")).to.equal(
      "arn:aws:ecr:us-east-1:770203350335:repository/kuali-coeus",
    );
    expect(roleArn(LEGACY, "ecr-sync-target")).to.equal("arn:aws:iam::730096353738:role/ecr-sync-target");
  });
});

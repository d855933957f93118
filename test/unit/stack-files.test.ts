/**
 * Every committed stack file (Pulumi.<stack>.yaml, whatever its name: the production pair, the staging
 * pair, any added later) passes the config check `pulumi up` makes and names the same two accounts as
 * the stack paired with it; each target stack reads a source stack that has a file here. The staging
 * pair (docs/operations.md, "Try it in a staging pair first") is one such pair, in other accounts.
 */
import { expect } from "chai";
import { parseStackConfig, rawStackConfig, StackSettings } from "../../components/config";
import {
  ORGANIZATION,
  projectName,
  readStackConfig,
  stackNames,
  stackPairProblems,
} from "../../local/render";

function settingsOf(stack: string): StackSettings {
  return parseStackConfig(
    rawStackConfig(readStackConfig(stack), `${ORGANIZATION}/${projectName()}/${stack}`),
  );
}

describe("the committed stack files", () => {
  for (const stack of stackNames()) {
    it(`Pulumi.${stack}.yaml passes the config check and agrees with its pair`, () => {
      const settings = settingsOf(stack);
      expect(stackPairProblems(stack)).to.deep.equal([]);
      if (settings.participant === "target") {
        const source = settings.sourceStack.split("/").pop()!;
        expect(stackNames(), `${stack} reads ${settings.sourceStack}`).to.include(source);
        expect(settingsOf(source).participant).to.equal("source");
      }
    });
  }

  it("the staging pair reads itself, with the production map, in accounts other than production's", () => {
    const css = settingsOf("css");
    const cssStaging = settingsOf("css-staging");
    const legacyStaging = settingsOf("legacy-staging");
    expect(legacyStaging.participant === "target" && legacyStaging.sourceStack).to.equal(
      `${ORGANIZATION}/${projectName()}/css-staging`,
    );
    if (css.participant !== "source" || cssStaging.participant !== "source")
      throw new Error("not source stacks");
    expect(cssStaging.repositories).to.deep.equal(css.repositories);
    const production = [css.sourceAccountId, css.targetAccountId];
    expect(production).to.not.include(cssStaging.sourceAccountId).and.not.include(cssStaging.targetAccountId);
    expect([legacyStaging.sourceAccountId, legacyStaging.targetAccountId]).to.deep.equal([
      cssStaging.sourceAccountId,
      cssStaging.targetAccountId,
    ]);
  });
});

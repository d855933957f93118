/**
 * The renderer (local/render/stack.ts) feeds a target stack's StackReference with the stack it
 * names, rendered first; the program (components/config.ts) refuses a target stack that names
 * itself. Both fail before anything recurses, with the chain and the key to fix.
 */
import { expect } from "chai";
import { readStackConfig, renderStack, stackReferencesFor } from "../../local/render";
import { failureOf } from "../support/config";

describe("stack references in the renderer and the program", function () {
  this.timeout(60000);

  it("refuses the css stack set to participant target, whose default sourceStack is css itself", async () => {
    const message = await failureOf(renderStack("css", { config: { "ecr-sync:participant": "target" } }));
    expect(message)
      .to.include("stack reference cycle css → css")
      .and.include('ecr-sync:sourceStack names ("organization/ecr-sync/css")')
      .and.include("in Pulumi.css.yaml set ecr-sync:sourceStack to the css (source) stack")
      .and.include("ecr-sync:participant to source")
      .and.not.include("Maximum call stack");
  });

  it("refuses a legacy stack whose sourceStack names legacy, before rendering anything", async () => {
    const message = await failureOf(
      renderStack("legacy", { config: { "ecr-sync:sourceStack": "organization/ecr-sync/legacy" } }),
    );
    expect(message).to.include("stack reference cycle legacy → legacy");
  });

  it("names every stack of a longer cycle, and the stack whose key closes it", async () => {
    const css = readStackConfig("css", {
      "ecr-sync:participant": "target",
      "ecr-sync:sourceStack": "organization/ecr-sync/legacy",
    });
    const message = await failureOf(stackReferencesFor("css", css, undefined, ["legacy"]));
    expect(message)
      .to.include("stack reference cycle legacy → css → legacy")
      .and.include("stack css is participant target")
      .and.include("in Pulumi.css.yaml");
  });

  it("needs no reference for a source stack, and takes given outputs for a target stack", async () => {
    expect(await stackReferencesFor("css", readStackConfig("css"))).to.deep.equal({});
    const outputs = { workerRoleArn: "arn:aws:iam::770203350335:role/ecr-sync-worker" };
    expect(await stackReferencesFor("legacy", readStackConfig("legacy"), outputs)).to.deep.equal({
      "organization/ecr-sync/css": outputs,
    });
  });

  it("the program itself refuses a target stack that references itself, given outputs for it", async () => {
    const message = await failureOf(
      renderStack("legacy", {
        config: { "ecr-sync:sourceStack": "organization/ecr-sync/legacy" },
        sourceOutputs: {},
      }),
    );
    expect(message)
      .to.include("invalid stack configuration")
      .and.include('ecr-sync:sourceStack is "organization/ecr-sync/legacy", this stack itself');
  });

  it("the program reads every ecr-sync key the stack holds, so a misspelt one is refused", async () => {
    const message = await failureOf(
      renderStack("css", { config: { "ecr-sync:alertEmai": "oncall@example.edu" } }),
    );
    expect(message)
      .to.include("ecr-sync:alertEmai in Pulumi.css.yaml is not a key")
      .and.include("did you mean ecr-sync:alertEmail?");
  });
});

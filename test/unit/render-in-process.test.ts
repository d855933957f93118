/**
 * The renderer runs the program in this process (local/render/in-process.ts), one render at a
 * time, and keeps each distinct request's rendering (local/render/stack.ts). What a child process
 * per render gave for free must hold here too: no config, resource or error of one render reaches
 * another, and no caller can change what the next one gets.
 */
import { expect } from "chai";
import { renderStack, resourcesOfType } from "../../local/render";
import { failureOf } from "../support/config";

const INSTANCE = "aws:ec2/instance:Instance";
const SUBNET = "subnet-0123456789abcdef0";

describe("rendering in this process", function () {
  this.timeout(120000);

  it("renders requests made at once in turn: each has only its own config and resources", async () => {
    const [inSubnet, css, legacy] = await Promise.all([
      renderStack("css", { config: { "ecr-sync:workerSubnetId": SUBNET } }),
      renderStack("css"),
      renderStack("legacy"),
    ]);
    const subnetOf = (r: typeof css) => resourcesOfType(r, INSTANCE).map((i) => i.inputs.subnetId);
    expect(subnetOf(inSubnet)).to.deep.equal([SUBNET]);
    // The key set for the render before it is gone: the committed css stack names no subnet.
    expect(subnetOf(css)).to.have.length(1).and.not.include(SUBNET);
    expect(css.outputs.workerSubnetId).to.not.equal(SUBNET);
    expect(resourcesOfType(legacy, INSTANCE)).to.deep.equal([]);
    expect(legacy.resources.map((r) => r.type)).to.include("aws:iam/role:Role");
    expect(legacy.outputs.participant).to.equal("target");
  });

  it("keeps a failed render's errors to itself: the render fails with the reason, the next one renders", async () => {
    const css = await renderStack("css");
    // Fails inside an apply that the target role's resources wait on: their registrations fail
    // too, as promises nobody awaits. None may escape as an unhandled rejection, which would end
    // a plain node process (synth's) with a stack trace; mocha ignores them, so listen here.
    const escaped: unknown[] = [];
    const listen = (reason: unknown) => escaped.push(reason);
    process.on("unhandledRejection", listen);
    let message: string;
    try {
      message = await failureOf(
        renderStack("legacy", { sourceOutputs: { ...css.outputs, targetAccountId: "111122223333" } }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.removeListener("unhandledRejection", listen);
    }
    expect(escaped.map(String)).to.deep.equal([]);
    expect(message)
      .to.match(/^stack legacy: /)
      .and.include("111122223333");
    const legacy = await renderStack("legacy", { sourceOutputs: css.outputs });
    expect(legacy.outputs.targetAccountId).to.equal("730096353738");
    expect(legacy.resources.map((r) => r.type).sort()).to.deep.equal(
      (await renderStack("legacy")).resources.map((r) => r.type).sort(),
    );
  });

  it("hands every caller its own copy of a kept rendering", async () => {
    const first = await renderStack("css");
    const count = first.resources.length;
    first.resources.length = 0;
    (first.outputs as Record<string, unknown>).workerRoleArn = "changed";
    const second = await renderStack("css");
    expect(second.resources).to.have.length(count);
    expect(second.outputs.workerRoleArn).to.equal("arn:aws:iam::770203350335:role/ecr-sync-worker");
  });
});

/**
 * The renderer's mocks (local/render/mocks.ts over the tables in mock-resources.ts and
 * mock-invokes.ts) are strict: a resource type or invoke nobody taught them fails the render,
 * naming the table to teach, instead of inventing a state.
 */
import { expect } from "chai";
import { StackMocks } from "../../local/render";

describe("the renderer's mocks", () => {
  const mocks = () => new StackMocks("770203350335", "us-east-1", {});
  const resource = (type: string, inputs: Record<string, unknown> = {}) =>
    mocks().newResource({ type, name: "x", inputs, custom: true } as never);

  it("refuses an unknown resource type, naming mock-resources.ts", () => {
    expect(() => resource("aws:rds/instance:Instance")).to.throw(
      "unknown resource type aws:rds/instance:Instance (resource x); teach local/render/mock-resources.ts",
    );
  });

  it("refuses an unknown invoke, naming mock-invokes.ts", () => {
    expect(() => mocks().call({ token: "aws:s3/getBucket:getBucket", inputs: {} } as never)).to.throw(
      "unknown invoke aws:s3/getBucket:getBucket; teach local/render/mock-invokes.ts",
    );
  });

  it("answers with AWS's shapes in the stack's account and region", () => {
    const role = resource("aws:iam/role:Role", { name: "ecr-sync-worker" });
    expect(role.id).to.equal("ecr-sync-worker");
    expect(role.state).to.include({ arn: "arn:aws:iam::770203350335:role/ecr-sync-worker", path: "/" });
    const queue = resource("aws:sqs/queue:Queue", { name: "dlq" });
    expect(queue.id).to.equal("https://sqs.us-east-1.amazonaws.com/770203350335/dlq");
    expect(resource("ecr-sync:index:SourceSync").id).to.equal(undefined);
    const subnets = mocks().call({ token: "aws:ec2/getSubnets:getSubnets", inputs: {} } as never);
    expect(subnets.ids).to.have.length(6);
  });
});

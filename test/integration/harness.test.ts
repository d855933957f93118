import { expect } from "chai";
import { startMoto } from "../../local/moto";

describe("test harness", function () {
  this.timeout(30000);
  it("starts moto_server and answers STS in the default account", async () => {
    const moto = await startMoto();
    try {
      const identity = await moto.api().query("sts", "GetCallerIdentity", {});
      expect(identity).to.include("<Account>123456789012</Account>");
    } finally {
      await moto.stop();
    }
  });

  it("hands a stopped moto_server to the next user emptied (test/support/setup.ts keeps them)", async () => {
    const first = await startMoto();
    await first.api().json("sqs", "CreateQueue", { QueueName: "left-behind" });
    const { QueueUrls } = await first.api().json("sqs", "ListQueues", {});
    expect(QueueUrls).to.have.length(1);
    await first.stop();
    const second = await startMoto();
    try {
      expect(second.endpoint, "the same server, kept").to.equal(first.endpoint);
      expect((await second.api().json("sqs", "ListQueues", {})).QueueUrls ?? []).to.deep.equal([]);
    } finally {
      await second.stop();
    }
  });
});

import { expect } from "chai";
import { startMoto } from "../../local/moto";

describe("test harness", function () {
  this.timeout(30000);
  it("starts moto_server and answers STS in the default account", async () => {
    const moto = await startMoto();
    try {
      const identity = await moto.aws("sts", "get-caller-identity");
      expect(identity.Account).to.equal("123456789012");
    } finally {
      await moto.stop();
    }
  });
});

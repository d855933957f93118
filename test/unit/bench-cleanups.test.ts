import { expect } from "chai";
import { Cleanups } from "../../scripts/bench/cleanups";

describe("bench cleanups (scripts/bench/cleanups.ts)", () => {
  it("runs the steps newest first, each once, even when one fails or run() is called twice", async () => {
    const ran: string[] = [];
    const cleanups = new Cleanups();
    cleanups.add(async () => ran.push("world"));
    cleanups.add(async () => {
      ran.push("registry");
      throw new Error("already stopped");
    });
    cleanups.add(async () => ran.push("temp dir"));
    await Promise.all([cleanups.run(), cleanups.run()]);
    await cleanups.run();
    expect(ran).to.deep.equal(["temp dir", "registry", "world"]);
  });
});

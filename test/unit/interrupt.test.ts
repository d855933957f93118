import { expect } from "chai";
import { onInterrupt } from "../../scripts/interrupt";

describe("onInterrupt (Ctrl-C handling of bench and e2e)", () => {
  it("acts on the first signal only, so a doubled Ctrl-C cannot cut the cleanup short", () => {
    const seen: string[] = [];
    const stop = onInterrupt((signal) => seen.push(signal));
    try {
      process.emit("SIGINT");
      process.emit("SIGINT");
      process.emit("SIGTERM");
    } finally {
      stop();
    }
    expect(seen).to.deep.equal(["SIGINT"]);
  });

  it("keeps a listener until stopped, then removes every one it added", () => {
    const before = process.listenerCount("SIGINT");
    const stop = onInterrupt(() => undefined);
    expect(process.listenerCount("SIGINT")).to.equal(before + 1);
    process.emit("SIGINT");
    expect(process.listenerCount("SIGINT"), "still listening after the first signal").to.equal(before + 1);
    stop();
    expect(process.listenerCount("SIGINT")).to.equal(before);
  });
});

import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";

/**
 * The copier ends with exitAfterOutput (ec2-scripts/copier/exit.ts): every result line written
 * reaches a pipe whose reader is slower than the copier, as the SSM agent's or a test's may be.
 */
describe("copier exit", function () {
  this.timeout(20000);

  it("ends with the code given only after stdout has taken every line, through a pipe", async () => {
    const module = path.resolve(__dirname, "../../ec2-scripts/copier/exit.ts");
    const line = JSON.stringify({ result: "unchanged", source: "x".repeat(150) });
    const program = `const l = ${JSON.stringify(`${line}\n`)}; for (let i = 0; i < 2000; i++) process.stdout.write(l); require(${JSON.stringify(module)}).exitAfterOutput(3);`;
    const child = spawn(process.execPath, ["--import", "tsx", "-e", program], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    // A slow reader: the pipe fills, and Node must queue what it cannot write at once.
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 300);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(code).to.equal(3);
    expect(out.split("\n").filter(Boolean)).to.have.length(2000);
  });
});

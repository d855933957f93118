import { expect } from "chai";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

const LOADER = resolve(__dirname, "../support/pulumi-loader.cjs");

/**
 * `pulumi up` compiles index.ts with ts-node as @pulumi/pulumi's cmd/run does (the project's
 * typescript, Pulumi's vendored ts-node 7, its compiler options merged over tsconfig.json, type
 * checking on). tsx, which every other test uses, would hide a program the CLI cannot compile:
 * with `"module": "commonjs"` in tsconfig.json, for example, the CLI stops with TS5110.
 */
describe("the program as the Pulumi CLI loads it", function () {
  this.timeout(120000);

  async function load(
    stack: string,
  ): Promise<{ typescript: string; tsnode: string; outputs: Record<string, unknown> }> {
    const { stdout } = await promisify(execFile)(process.execPath, [LOADER, stack], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "");
  }

  it("compiles and runs the css stack with the project's TypeScript and Pulumi's ts-node", async () => {
    const loaded = await load("css");
    expect(loaded.typescript).to.match(/^6\./);
    expect(loaded.tsnode).to.include("ts-node@7");
    expect(loaded.outputs.workerRoleArn).to.equal("arn:aws:iam::770203350335:role/ecr-sync-worker");
    expect(loaded.outputs.syncDocumentName).to.equal("ecr-sync-copy-image");
  });

  it("compiles and runs the legacy stack, its StackReference fed by the css rendering", async () => {
    const loaded = await load("legacy");
    expect(loaded.outputs.targetRoleArn).to.equal("arn:aws:iam::730096353738:role/ecr-sync-target");
    expect(loaded.outputs.trustedWorkerRoleArn).to.equal("arn:aws:iam::770203350335:role/ecr-sync-worker");
  });
});

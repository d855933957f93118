import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { HANDLER_FILE_NAME, HANDLER_NAME } from "../../common/push-trigger";
import { bundleHandler, bundleHandlerSync, esbuildTarget } from "../../lambda/bundle";

const FIXTURES = path.resolve(__dirname, "..", "fixtures", "ecr-events");

const VALID_ENV = {
  SYNC_INSTANCE_ID: "i-0a1b2c3d4e5f60718",
  SYNC_DOCUMENT_NAME: "ecr-sync-copy",
  REPOSITORY_MAP: JSON.stringify({ "kuali-coeus": "coeus" }),
  SYNC_LOG_GROUP_NAME: "/ecr-sync/commands",
};

/**
 * Loads the bundle the way Lambda does, `require(HANDLER_FILE_NAME)`, from a directory with no
 * node_modules above it, and calls `handler` with the event given on stdin.
 */
const RUNNER = `
const mod = require("./${HANDLER_FILE_NAME}");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk)).on("end", async () => {
  const result = { exportedHandler: typeof mod.${HANDLER_NAME.split(".")[1]} };
  result.value = await mod.handler(JSON.parse(input));
  process.stdout.write("RESULT " + JSON.stringify(result) + "\\n");
});
`;

describe("lambda bundle (lambda/bundle.ts)", function () {
  this.timeout(60000);
  let code: string;
  let dir: string;

  before(async () => {
    code = await bundleHandler();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-bundle-"));
    fs.writeFileSync(path.join(dir, HANDLER_FILE_NAME), code);
    fs.writeFileSync(path.join(dir, "run.js"), RUNNER);
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function runBundle(env: Record<string, string>, eventFile: string) {
    const childEnv: Record<string, string | undefined> = { ...process.env, NODE_NO_WARNINGS: "1" };
    for (const name of ["NODE_PATH", ...Object.keys(VALID_ENV)]) delete childEnv[name];
    Object.assign(childEnv, env);
    return spawnSync(process.execPath, ["run.js"], {
      cwd: dir,
      env: childEnv,
      input: fs.readFileSync(path.join(FIXTURES, eventFile)),
      encoding: "utf8",
    });
  }

  it("is one CommonJS file that runs without node_modules and exports handler", () => {
    expect(fs.existsSync(path.join(path.parse(dir).root, "node_modules"))).to.equal(false);
    expect(fs.existsSync(path.join(os.tmpdir(), "node_modules"))).to.equal(false);

    const child = runBundle(VALID_ENV, "delete.json");

    expect(child.stderr).to.equal("");
    expect(child.status).to.equal(0);
    const resultLine = child.stdout.split("\n").find((line) => line.startsWith("RESULT "));
    expect(JSON.parse((resultLine ?? "RESULT null").slice("RESULT ".length))).to.deep.equal({
      exportedHandler: "function",
      value: { status: "skipped", reason: "a DELETE: deletions are not mirrored to the target" },
    });
  });

  it("carries @aws-sdk/client-ssm inside instead of requiring it at run time", () => {
    // esbuild marks each bundled module with a comment naming its path.
    expect(code).to.include("// node_modules/@aws-sdk/client-ssm/dist-cjs/index.js");
    expect(code).to.include('serviceTarget: "AmazonSSM"');
    expect(code).to.not.match(/require\(["']@aws-sdk\/client-ssm["']\)/);
  });

  it("keeps the configuration check: a bundle without REPOSITORY_MAP fails at load, naming it", () => {
    const { REPOSITORY_MAP: _omitted, ...rest } = VALID_ENV;

    const child = runBundle(rest, "push.json");

    expect(child.status).to.not.equal(0);
    expect(child.stderr).to.include("REPOSITORY_MAP is not set");
  });

  it("is the same text on every build, so an unchanged handler is an unchanged Pulumi asset", async () => {
    expect(await bundleHandler()).to.equal(code);
    expect(bundleHandlerSync()).to.equal(code);
  });
});

describe("esbuildTarget", () => {
  it("builds for the Node.js version of the Lambda runtime the function is deployed with", () => {
    expect(esbuildTarget("nodejs22.x")).to.equal("node22");
    expect(esbuildTarget("nodejs24.x")).to.equal("node24");
  });

  it("refuses a runtime that is not a Lambda Node.js runtime", () => {
    expect(() => esbuildTarget("python3.13")).to.throw('"python3.13" is not a Lambda Node.js runtime');
  });
});

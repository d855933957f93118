import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleCopierSync } from "../../ec2-scripts/bundle";
import { inWorkerRoot, workerEnvironment } from "../../local/worker-root";

/**
 * The copier's V8 code cache (ec2-scripts/copier/start.ts), with the worker root's node 20: kept
 * beside the bundle after a run and used by the next; never trusted when its bytes, the copier it
 * was made from, the Node that made it, its folder or its path say otherwise; and whatever happens
 * to it, the run prints and exits as it would without one. The run is a reconcile against closed
 * ports: it gets past its configuration (a cache is made only after a run that did its work) and
 * ends at once with exit 7, the same every time.
 */
describe("the copier's V8 code cache", function () {
  this.timeout(60000);
  const bundle = bundleCopierSync().code;
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  // The runs' state directory, away from the bundle's folder (whose mode the tests change).
  const stateBase = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-code-cache-state-"));
  dirs.push(stateBase);

  /** A private folder holding the bundle, as the worker's /var/lib/ecr-sync/copier holds it. */
  function folder(): { dir: string; file: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-code-cache-"));
    dirs.push(dir);
    const file = path.join(dir, "ecr-sync.cjs");
    fs.writeFileSync(file, bundle, { mode: 0o644 });
    return { dir, file };
  }

  /** `node FILE reconcile` (or ARGS) in the worker root, traced: its code-cache steps, output and exit code. */
  function run(file: string, nodeFlags: string[] = [], args: string[] = ["reconcile"]) {
    const [command, ...rest] = inWorkerRoot(["node", ...nodeFlags, file, ...args]);
    const closed = "127.0.0.1:9";
    const result = spawnSync(command, rest, {
      env: workerEnvironment({
        PATH: process.env.PATH ?? "",
        ECR_SYNC_TRACE: "1",
        ECR_SYNC_SOURCE_REGISTRY: closed,
        ECR_SYNC_TARGET_REGISTRY: closed,
        ECR_SYNC_TARGET_ROLE_ARN: "arn:aws:iam::730096353738:role/ecr-sync-target",
        ECR_SYNC_REGION: "us-east-1",
        ECR_SYNC_REPOSITORY_MAP: '{"kuali-coeus":"coeus"}',
        ECR_SYNC_STATE_DIR: path.join(stateBase, "state"),
        AWS_ENDPOINT_URL: `http://${closed}`,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_MAX_ATTEMPTS: "1",
        AWS_EC2_METADATA_DISABLED: "true",
      }),
      encoding: "utf8",
    });
    const steps = result.stderr
      .split("\n")
      .filter((line) => line.includes(" code cache: "))
      .map((line) => line.replace(/^.* code cache: /, ""));
    return { code: result.status, stdout: result.stdout, steps };
  }

  const cacheOf = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith(".v8cache"));

  it("is made after the first run, beside the bundle and readable by its user only, and used by the next", () => {
    const { dir, file } = folder();
    const first = run(file);
    expect(first.code, "a reconcile against closed ports").to.equal(7);
    expect(first.steps).to.deep.equal(["none (ENOENT)", "made"]);
    const [cache] = cacheOf(dir);
    expect(cache).to.match(/^ecr-sync\.cjs\.node-v20\.[0-9.]+-[a-z0-9]+\.v8cache$/);
    expect(fs.statSync(path.join(dir, cache)).mode & 0o777).to.equal(0o600);
    const second = run(file);
    expect(second.steps).to.deep.equal(["used"]);
    expect(second.stdout).to.equal(first.stdout);
    expect(second.code).to.equal(7);
  });

  it("ignores a cache whose bytes changed, runs as without one, and makes it anew", () => {
    const { dir, file } = folder();
    const plain = run(file);
    const cache = path.join(dir, cacheOf(dir)[0]);
    const bytes = fs.readFileSync(cache);
    bytes[bytes.length - 100] ^= 0xff; // one byte of V8's part, which V8 itself would not check
    fs.writeFileSync(cache, bytes, { mode: 0o600 });
    const tampered = run(file);
    expect(tampered.steps).to.deep.equal(["ignored: its bytes are not the ones it was written with", "made"]);
    expect(tampered.stdout).to.equal(plain.stdout);
    expect(tampered.code).to.equal(plain.code);
    expect(run(file).steps).to.deep.equal(["used"]);
  });

  it("is not made by a run that stopped at its command line (--help): it would hold too little", () => {
    const { dir, file } = folder();
    expect(run(file, [], ["--help"]).code).to.equal(0);
    expect(cacheOf(dir)).to.deep.equal([]);
  });

  it("ignores a cache made by another build of Node (Debian patches libnode without changing its version)", () => {
    const { dir, file } = folder();
    run(file);
    const cache = path.join(dir, cacheOf(dir)[0]);
    const lines = fs.readFileSync(cache, "latin1").split("\n");
    lines[2] = "1".repeat(64); // the identity of the Node that made it
    fs.writeFileSync(cache, Buffer.from(lines.join("\n"), "latin1"), { mode: 0o600 });
    expect(run(file).steps).to.deep.equal([
      "ignored: made by another build of Node (its binary or libnode changed)",
      "made",
    ]);
  });

  it("ignores a cache file another user owns", () => {
    const { dir, file } = folder();
    run(file);
    const cache = path.join(dir, cacheOf(dir)[0]);
    if (process.getuid?.() === 0) fs.chownSync(cache, 65534, 65534);
    else spawnSync("sudo", ["-n", "chown", "65534:65534", cache]);
    expect(fs.statSync(cache).uid).to.equal(65534);
    expect(run(file).steps[0]).to.equal("ignored: not a file of this user's that only it may write");
  });

  it("ignores a cache made from another copier", () => {
    const { dir, file } = folder();
    run(file);
    const cache = path.join(dir, cacheOf(dir)[0]);
    const lines = fs.readFileSync(cache, "latin1").split("\n");
    lines[1] = "0".repeat(64); // the sha256 of the copier text it was made from
    fs.writeFileSync(cache, Buffer.from(lines.join("\n"), "latin1"), { mode: 0o600 });
    expect(run(file).steps).to.deep.equal(["ignored: made from another copier, or not a cache", "made"]);
  });

  it("leaves V8 the last word: a cache made under other V8 flags is refused, and made anew", () => {
    const { file } = folder();
    run(file, ["--no-lazy-feedback-allocation"]);
    const other = run(file);
    expect(other.steps).to.deep.equal(["refused by V8 (another Node or V8 flags)", "made"]);
    expect(other.code).to.equal(7);
  });

  it("neither uses nor makes a cache in a folder others may write", () => {
    const { dir, file } = folder();
    run(file);
    fs.chmodSync(dir, 0o777);
    const open = run(file);
    expect(open.steps).to.deep.equal([
      "not used: the copier's folder is not this user's own, or others may write it",
    ]);
    expect(open.code).to.equal(7);
    fs.rmSync(path.join(dir, cacheOf(dir)[0]));
    run(file);
    expect(cacheOf(dir)).to.deep.equal([]);
  });

  it("never follows a symlink at the cache's path, nor trusts a cache others may write", () => {
    const { dir, file } = folder();
    run(file);
    const cache = path.join(dir, cacheOf(dir)[0]);
    const elsewhere = path.join(folder().dir, "planted.v8cache");
    fs.renameSync(cache, elsewhere);
    fs.symlinkSync(elsewhere, cache);
    const linked = run(file);
    expect(linked.steps[0]).to.equal("none (ELOOP)");
    expect(linked.code).to.equal(7);
    // It is made anew, as a file of its own, in place of the link.
    expect(fs.lstatSync(cache).isFile()).to.equal(true);
    fs.chmodSync(cache, 0o666);
    expect(run(file).steps[0]).to.equal("ignored: not a file of this user's that only it may write");
  });
});

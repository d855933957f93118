import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT } from "../../common/result-lines";
import { Failure } from "../../ec2-scripts/copier/failure";
import { lockFile, lockName } from "../../ec2-scripts/copier/lock";

/**
 * The per-tag lock (ec2-scripts/copier/lock.ts): util-linux flock(1) locks the copier's own open
 * file description and exits, and the lock stays held until the copier closes it or dies.
 */
describe("copier tag lock", function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "copier-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Whether another process can take the lock at once. */
  const free = (file: string) => spawnSync("flock", ["--nonblock", "--exclusive", file, "true"]).status === 0;

  it("stays held after flock(1) has exited, until released", async () => {
    const file = join(dir, "coeus:v1.lock");
    const lock = await lockFile(file, dir);
    expect(free(file), "while held").to.equal(false);
    lock.release();
    expect(free(file), "after release").to.equal(true);
  });

  it("is released by the kernel when the process holding it is killed", async () => {
    const file = join(dir, "coeus:v2.lock");
    const module = resolve(__dirname, "../../ec2-scripts/copier/lock.ts");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `require(${JSON.stringify(module)}).lockFile(${JSON.stringify(file)}, "/").then(() => { console.log("held"); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolvePromise) => child.stdout.once("data", () => resolvePromise()));
    expect(free(file), "while the holder lives").to.equal(false);
    child.kill("SIGKILL");
    await new Promise((resolvePromise) => child.once("exit", resolvePromise));
    expect(free(file), "after SIGKILL").to.equal(true);
  });

  it("refuses a lock on a file that was removed while it waited (flock locks files, not names): exit 3", async () => {
    const file = join(dir, "coeus:v4.lock");
    const held = await lockFile(file, dir);
    // The waiter has opened the file and flock(1) waits on it; then the state directory is cleared.
    const waiting = lockFile(file, dir, 10).then(
      (lock) => lock,
      (error: unknown) => error,
    );
    await new Promise<void>((resolvePromise) => {
      const waitForFlock = () =>
        spawnSync("pgrep", ["-f", `^flock --exclusive --wait 10 3$`]).status === 0
          ? resolvePromise()
          : setTimeout(waitForFlock, 20);
      waitForFlock();
    });
    await rm(file);
    // A new copy of the tag makes a new file and locks it at once, while the old one is still held.
    const newcomer = await lockFile(file, dir, 1);
    held.release();
    const failure = await waiting;
    newcomer.release();
    expect(failure).to.be.instanceOf(Failure);
    expect((failure as Failure).code).to.equal(EXIT.config);
    expect((failure as Failure).message).to.include(
      `the lock file ${file} was removed or replaced while this copy waited`,
    );
  });

  it("knows when the file it holds is no longer the lock file, and never makes locks/ again during a run", async () => {
    const locks = join(dir, "locks");
    const file = join(locks, "coeus:v5.lock");
    spawnSync("mkdir", ["-m", "0700", locks]);
    const held = await lockFile(file, dir);
    held.assertHeld("now");
    await rm(locks, { recursive: true });
    expect(() => held.assertHeld("during the copy"))
      .to.throw(Failure, "was removed or replaced during the copy")
      .with.property("code", EXIT.config);
    held.release();
    let failure: unknown;
    await lockFile(file, dir, 1).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Failure);
    expect((failure as Failure).message).to.include(`${locks} was removed during this run`);
  });

  it("gives up after its wait with exit 1, naming the lock file", async () => {
    const file = join(dir, "coeus:v3.lock");
    const held = await lockFile(file, dir);
    let failure: unknown;
    await lockFile(file, dir, 1).catch((error: unknown) => (failure = error));
    held.release();
    expect(failure).to.be.instanceOf(Failure);
    expect((failure as Failure).code).to.equal(EXIT.failed);
    expect((failure as Failure).message).to.equal(`another copy held ${file} for more than 1 s`);
  });

  it("refuses a symlink in the lock file's place (exit 3), leaving its target alone", async () => {
    const target = join(dir, "precious");
    await writeFile(target, "data");
    const file = join(dir, "coeus:v4.lock");
    await symlink(target, file);
    let failure: unknown;
    await lockFile(file, dir).catch((error: unknown) => (failure = error));
    expect((failure as Failure).code).to.equal(EXIT.config);
    expect((failure as Failure).message).to.include(`lock file ${file} is a symlink: not followed`);
    expect(free(target)).to.equal(true);
  });

  it("names a lock REPO:TAG with '/' as '+', and by its sha256 when too long for a file name", () => {
    expect(lockName("team/coeus", "v1")).to.equal("team+coeus:v1");
    const long = lockName(`a/${"n".repeat(150)}`, "t".repeat(100));
    expect(long).to.match(/^[0-9a-f]{64}$/);
  });
});

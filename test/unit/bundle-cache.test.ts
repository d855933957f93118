/**
 * The bundle cache (common/bundle-cache.ts) against real esbuild in a throwaway project: used again
 * only while everything the build read is unchanged, built anew otherwise, and never in the way.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { build, buildSync, BuildOptions, BuildResult } from "esbuild";
import { bundleCacheDir, cachedBuild, cachedBuildSync } from "../../common/bundle-cache";

describe("the bundle cache", () => {
  let dir: string;
  let builds: number;
  const countedSync = (options: BuildOptions): BuildResult => {
    builds += 1;
    return buildSync(options);
  };
  const counted = (options: BuildOptions): Promise<BuildResult> => {
    builds += 1;
    return build(options);
  };
  const options = (define: Record<string, string> = {}) => ({
    absWorkingDir: dir,
    entryPoints: ["entry.ts"],
    bundle: true,
    platform: "node" as const,
    format: "cjs" as const,
    define,
    write: false,
    logLevel: "silent" as const,
  });
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-bundle-cache-"));
    builds = 0;
    write(
      "entry.ts",
      'import { word } from "./dep";\nconsole.log(word, typeof WHO === "undefined" ? "" : WHO);\n',
    );
    write("dep.ts", 'export const word = "first";\n');
    write("package-lock.json", '{"lockfileVersion": 3}\n');
    write("tsconfig.json", "{}\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("bundles once, then hands back the same text without building while nothing it read changed", async () => {
    const first = cachedBuildSync(options(), countedSync);
    expect(first).to.include('"first"');
    expect(cachedBuildSync(options(), countedSync)).to.equal(first);
    expect(await cachedBuild(options(), counted)).to.equal(first);
    expect(builds).to.equal(1);
  });

  it("builds again when a file the build read changes, and when the options do", () => {
    cachedBuildSync(options(), countedSync);
    write("dep.ts", 'export const word = "second";\n');
    expect(cachedBuildSync(options(), countedSync)).to.include('"second"');
    expect(builds).to.equal(2);
    expect(cachedBuildSync(options({ WHO: '"me"' }), countedSync)).to.include('"me"');
    expect(builds).to.equal(3);
    // Both entries stay: going back to the first options is a hit.
    cachedBuildSync(options(), countedSync);
    expect(builds).to.equal(3);
  });

  it("builds again when package-lock.json or tsconfig.json changes (they decide what an import resolves to)", () => {
    cachedBuildSync(options(), countedSync);
    write("package-lock.json", '{"lockfileVersion": 3, "packages": {}}\n');
    cachedBuildSync(options(), countedSync);
    expect(builds).to.equal(2);
    write("tsconfig.json", '{"compilerOptions": {}}\n');
    cachedBuildSync(options(), countedSync);
    expect(builds).to.equal(3);
  });

  it("builds again when an entry is cut short, forged, or records other bytes for an input", () => {
    cachedBuildSync(options(), countedSync);
    const [entry] = fs.readdirSync(bundleCacheDir(dir));
    const entryPath = path.join(bundleCacheDir(dir), entry);
    const whole = fs.readFileSync(entryPath, "utf8");
    fs.writeFileSync(entryPath, whole.slice(0, whole.length / 2));
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(2);
    expect(fs.readFileSync(entryPath, "utf8"), "the cut entry is replaced by a whole one").to.equal(whole);
    fs.writeFileSync(entryPath, JSON.stringify({ inputs: [], text: "forged" }));
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(3);
    fs.writeFileSync(entryPath, whole.replace(/"dep\.ts","[0-9a-f]{64}"/, '"dep.ts","0000"'));
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(4);
    // An input that is not a [file, sha256] pair: built again, never a crash.
    fs.writeFileSync(entryPath, JSON.stringify({ inputs: [1], text: "forged" }));
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(5);
  });

  it("keeps no entry from a build during which a file it read changed (an editor saving meanwhile)", () => {
    const savedDuring = (opts: BuildOptions): BuildResult => {
      const result = countedSync(opts);
      write("dep.ts", 'export const word = "saved meanwhile";\n');
      // Stamped as a save during a real build (about a second) is: after it began. This build takes
      // a few ms, within one tick of the coarse clock the kernel stamps files with.
      const later = new Date(Date.now() + 100);
      fs.utimesSync(path.join(dir, "dep.ts"), later, later);
      return result;
    };
    expect(cachedBuildSync(options(), savedDuring)).to.include('"first"');
    expect(cachedBuildSync(options(), countedSync), "not the bundle of the old bytes").to.include(
      '"saved meanwhile"',
    );
    expect(builds).to.equal(2);
  });

  it("still bundles, every time, where the cache cannot be written", () => {
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "node_modules", ".cache"), "a file where the folder would be");
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(2);
    expect(fs.readdirSync(path.join(dir, "node_modules")), "no temporary file left").to.deep.equal([
      ".cache",
    ]);
    // A folder where the entry goes: the temporary file is written, its rename fails, and it goes.
    fs.rmSync(path.join(dir, "node_modules"), { recursive: true });
    cachedBuildSync(options(), countedSync);
    const [entry] = fs.readdirSync(bundleCacheDir(dir));
    fs.rmSync(path.join(bundleCacheDir(dir), entry));
    fs.mkdirSync(path.join(bundleCacheDir(dir), entry));
    expect(cachedBuildSync(options(), countedSync)).to.include('"first"');
    expect(builds).to.equal(4);
    expect(fs.readdirSync(bundleCacheDir(dir)), "no temporary file left").to.deep.equal([entry]);
  });

  it("keeps nothing from a build that fails, and says which entry point", async () => {
    write("dep.ts", "export const word = ;\n");
    expect(() => cachedBuildSync(options(), countedSync)).to.throw(/dep\.ts/);
    let error: unknown;
    await cachedBuild(options(), counted).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/dep\.ts/);
    expect(fs.existsSync(bundleCacheDir(dir))).to.equal(false);
  });
});

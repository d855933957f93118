import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * The test commands in package.json, read as mocha reads their specs: CI's command runs every test
 * file, the unit tier, then the system tier, then the integration tier; `npm test` (a developer's
 * loop, about 3 minutes) the unit and integration tiers, neither the whole path (`test:system`)
 * nor the bench's smoke run (`test:bench`); and the tiers' own commands together hold every file
 * once.
 */

const ROOT = join(__dirname, "..", "..");
const BENCH_SMOKE = "test/integration/bench-quick.test.ts";
/** The whole path (the twin, the user data): its own command, and CI's. */
const SYSTEM = "test/system/";
/** The folders of tests, in the order every command runs them. */
const TIERS = ["test/unit", "test/system", "test/integration"];
const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<
  string,
  string
>;

/** Every *.test.ts under test/, relative to the project. */
function testFiles(dir = join(ROOT, "test")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [relative(ROOT, path)] : [];
  });
}

/**
 * The files the mocha command in `script` runs, spec by spec as mocha takes them, without its
 * --ignore'd ones. Knows the two spec forms the scripts use, `DIR/**\/*.test.ts` and a file's path,
 * and throws on any other, so that a new form gets taught here rather than passing unread.
 */
function mochaFiles(script: string, files: readonly string[]): string[] {
  const command = script
    .split("&&")
    .map((part) => part.trim())
    .find((part) => part.startsWith("mocha "));
  if (command === undefined) throw new Error(`no mocha command in ${JSON.stringify(script)}`);
  const words = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1);
  const specs: string[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "--ignore") ignored.push(words[++i]);
    else if (words[i].startsWith("-")) throw new Error(`mocha option ${words[i]} is not known here`);
    else specs.push(words[i]);
  }
  const matched = specs.flatMap((spec) => {
    const dir = /^(.+)\/\*\*\/\*\.test\.ts$/.exec(spec)?.[1];
    if (dir !== undefined) return files.filter((file) => file.startsWith(`${dir}/`)).sort();
    if (files.includes(spec)) return [spec];
    throw new Error(`mocha spec ${spec} is neither DIR/**/*.test.ts nor a test file`);
  });
  return matched.filter((file) => !ignored.includes(file));
}

/** What is wrong with the test commands in `scripts`, given every test file there is. */
function commandProblems(scripts: Record<string, string>, files: readonly string[]): string[] {
  const problems: string[] = [];
  const runs = (name: string) => mochaFiles(scripts[name] ?? "", files);
  const missing = (name: string, expected: readonly string[]) => {
    const got = runs(name);
    const absent = expected.filter((file) => !got.includes(file));
    const extra = got.filter((file) => !expected.includes(file));
    if (absent.length > 0) problems.push(`${name} does not run ${absent.join(", ")}`);
    if (extra.length > 0) problems.push(`${name} runs ${extra.join(", ")}, which it should not`);
    // The unit tier first (it answers in about a minute), then the whole path (test/system: the longest
    // files, started early so that none of them ends the run alone), then the integration tier.
    const tier = (file: string) => TIERS.findIndex((dir) => file.startsWith(`${dir}/`));
    const order = got.map(tier);
    for (let i = 1; i < order.length; i++) {
      if (order[i] < order[i - 1]) {
        problems.push(`${name} runs ${TIERS[order[i - 1]]} tests before ${TIERS[order[i]]} tests`);
        break;
      }
    }
  };
  const all = [...files];
  missing("test:ci", all);
  missing(
    "test",
    all.filter((file) => file !== BENCH_SMOKE && !file.startsWith(SYSTEM)),
  );
  missing(
    "test:system",
    all.filter((file) => file.startsWith(SYSTEM)),
  );
  missing("test:bench", [BENCH_SMOKE]);
  const tiers = ["test:unit", "test:system", "test:integration", "test:bench"].flatMap(runs);
  const twice = tiers.filter((file, i) => tiers.indexOf(file) !== i);
  if (twice.length > 0) problems.push(`the tier commands run ${twice.join(", ")} twice`);
  const untiered = all.filter((file) => !tiers.includes(file));
  if (untiered.length > 0) problems.push(`no tier command runs ${untiered.join(", ")}`);
  return problems;
}

describe("the test commands (package.json scripts)", () => {
  const files = testFiles();

  it("CI's command runs every test file, npm test all but the whole path and the bench's smoke run, each in tier order", () => {
    expect(files).to.include(BENCH_SMOKE);
    expect(files.filter((file) => file.startsWith(SYSTEM))).to.have.length.above(3);
    expect(files.filter((file) => file.startsWith("test/unit/"))).to.have.length.above(40);
    expect(commandProblems(scripts, files)).to.deep.equal([]);
  });

  it("CI runs that command: .ci/run last, and the shared test workflow", () => {
    const ciRun = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    const commands = [...ciRun.matchAll(/^\s+(?:\w+=\S+ )*(npm (?:test|run \S+).*)$/gm)].map((m) => m[1]);
    expect(commands.at(-1)).to.equal("npm run test:ci");
    expect(readFileSync(join(ROOT, ".github", "workflows", "test.yml"), "utf8")).to.match(
      /run: sudo env "PATH=\$PATH" NODE_NO_WARNINGS=1 npm run test:ci$/m,
    );
  });

  it("is caught when CI's command skips a file, npm test runs the bench or the whole path, or the tiers run out of order", () => {
    const broken = {
      ...scripts,
      "test:ci": 'mocha "test/unit/**/*.test.ts" --ignore test/unit/config.test.ts',
      test: 'mocha "test/integration/**/*.test.ts" "test/system/**/*.test.ts" "test/unit/**/*.test.ts"',
      "test:integration": 'mocha "test/integration/**/*.test.ts"',
    };
    const problems = commandProblems(broken, files);
    expect(problems.find((p) => p.startsWith("test:ci does not run"))).to.include("test/unit/config.test.ts");
    expect(problems.find((p) => p.startsWith("test:ci does not run"))).to.include(BENCH_SMOKE);
    expect(problems.find((p) => p.startsWith("test runs "))).to.include(BENCH_SMOKE);
    expect(problems.find((p) => p.startsWith("test runs "))).to.include("test/system/twin.test.ts");
    expect(problems).to.include("test runs test/integration tests before test/system tests");
    expect(problems).to.include(`the tier commands run ${BENCH_SMOKE} twice`);
  });

  it("reads only the spec forms it knows, and says so otherwise", () => {
    expect(() => mochaFiles('mocha "test/**/*.ts"', files)).to.throw(
      "neither DIR/**/*.test.ts nor a test file",
    );
    expect(() => mochaFiles("mocha --grep css test/unit/config.test.ts", files)).to.throw(
      "mocha option --grep is not known here",
    );
  });
});

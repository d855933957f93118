/**
 * Where a traced copier run's time and CPU go (scripts/bench/profile.ts), and how the breakdown
 * stage summarises its rounds (scripts/bench/breakdown.ts).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  categoryOf,
  childrenCpuSeconds,
  cpuSecondsOfStat,
  machineJiffies,
  medianProfile,
  parseTrace,
  perItem,
  Profile,
  profileOf,
  programOf,
  splitText,
  TRACE_PS4,
} from "../../scripts/bench/profile";

const execFileAsync = promisify(execFile);

const PROGRAMS = new Set(["skopeo", "curl", "jq", "flock", "aws", "env", "stat", "sort", "rm"]);
const isProgram = (word: string) => PROGRAMS.has(word);

/** A trace line as TRACE_PS4 writes it: `depth` pluses, then time, pid, function, command. */
const line = (depth: number, time: number, pid: number, fn: string, command: string) =>
  `${"+".repeat(depth)}@${time.toFixed(6)}@${pid}@${fn}@ ${command}`;

describe("bench profile of a traced run (scripts/bench/profile.ts)", () => {
  it("reads bash's own trace of a real run: every command, its process and function, in time order", async () => {
    const script = [
      `PS4='${TRACE_PS4}'`,
      "set -x",
      'greet() { local word; word="$(printf hi)"; sort </dev/null; }',
      "greet",
      "LC_ALL=C sort </dev/null",
    ].join("\n");
    const { stderr } = await execFileAsync("bash", ["-c", script]);
    const lines = parseTrace(stderr);
    const commands = lines.map((traced) => [traced.fn, traced.command]);
    expect(commands).to.deep.equal([
      ["main", "greet"],
      ["greet", "local word"],
      ["greet", "printf hi"],
      ["greet", "word=hi"],
      ["greet", "sort"],
      ["main", "LC_ALL=C"],
      ["main", "sort"],
    ]);
    // printf ran in the command substitution's subshell; everything else in the shell itself.
    expect(lines.map((traced) => traced.pid === lines[0].pid)).to.deep.equal([
      true,
      true,
      false,
      true,
      true,
      true,
      true,
    ]);
    const times = lines.map((traced) => traced.time);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(lines.map((traced) => programOf(traced.command, isProgram))).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
      "sort",
      undefined,
      "sort",
    ]);
  });

  it("skips the rest of a command that spans lines, and sorts lines of several processes by time", () => {
    const trace = [
      line(1, 10.2, 1, "main", "b"),
      line(2, 10.1, 2, "f", "printf '%s\\n' 'two"),
      "lines'",
      line(1, 10.3, 1, "main", "c"),
    ].join("\n");
    expect(parseTrace(trace).map((traced) => traced.command)).to.deep.equal([
      "printf '%s\\n' 'two",
      "b",
      "c",
    ]);
    expect(parseTrace("+@12,5@7@main@ true")[0]).to.deep.equal({
      time: 12.5,
      pid: 7,
      fn: "main",
      command: "true",
    });
  });

  it("finds the program a command starts past leading assignments and env, and none for bash's own", () => {
    expect(programOf("curl --config x", isProgram)).to.equal("curl");
    expect(programOf("AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b aws_cli ecr x", isProgram)).to.equal(
      undefined,
    );
    expect(
      programOf("env AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=5 aws ecr get-authorization-token", isProgram),
    ).to.equal("aws");
    expect(programOf("LC_ALL=C sort", isProgram)).to.equal("sort");
    expect(programOf("fields=()", isProgram)).to.equal(undefined);
    expect(programOf("[[ -e /x ]]", isProgram)).to.equal(undefined);
    expect([categoryOf("jq"), categoryOf("stat"), categoryOf(undefined)]).to.deep.equal([
      "jq",
      "other programs",
      "bash",
    ]);
  });

  it("gives each command the time to the next traced command, and bash what lies outside the trace", () => {
    const trace = [
      line(1, 100.0, 1, "main", "check"),
      line(2, 100.01, 2, "check", "jq -n 1"),
      line(1, 100.04, 1, "copy", "env A=1 aws ecr x"),
      line(1, 100.54, 1, "copy", "skopeo copy a b"),
      line(1, 101.54, 1, "copy", "rm -f x"),
      line(1, 101.56, 1, "main", "exit 0"),
    ].join("\n");
    const profile = profileOf(trace, 1.6, isProgram);
    expect(profile.total).to.equal(1.6);
    const seconds = Object.fromEntries(
      Object.entries(profile.seconds).map(([key, value]) => [key, Number(value.toFixed(6))]),
    );
    expect(seconds).to.deep.equal({
      skopeo: 1,
      curl: 0,
      jq: 0.03,
      flock: 0,
      aws: 0.5,
      "other programs": 0.02,
      // 0.01 s of "check" and 0.04 s before the first and after the last line.
      bash: 0.05,
    });
    expect(profile.processes).to.deep.include({ skopeo: 1, jq: 1, aws: 1, "other programs": 1, bash: 0 });
    expect(profile.functions.map(([name]) => name)).to.deep.equal([
      "copy",
      "(start and exit)",
      "check",
      "main",
    ]);
    expect(profile.functions[0][1]).to.be.closeTo(1.52, 1e-9);
  });

  it("reads the children's CPU from the end of a shell's `times`, and refuses output without it", () => {
    expect(
      childrenCpuSeconds('{"result":"copied"}\n0m0.010000s 0m0.002000s\n0m1.250000s 0m0.125000s\n'),
    ).to.equal(1.375);
    expect(childrenCpuSeconds("0m0.0s 0m0.0s\n1m2.5s 0m0.5s")).to.equal(63);
    expect(() => childrenCpuSeconds("copied\n")).to.throw("no 'times' output");
  });

  it("reads a process's CPU from /proc/PID/stat even when its name holds spaces and parentheses", () => {
    const stat = "4242 (docker (reg) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0";
    expect(cpuSecondsOfStat(stat)).to.equal(3.25);
    expect(() => cpuSecondsOfStat("garbage")).to.throw("not a /proc/PID/stat line");
  });

  it("counts the machine's busy jiffies as all but idle and iowait", () => {
    expect(machineJiffies("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 1 2 3 4 5")).to.deep.equal({
      busy: 155,
      total: 1000,
    });
    expect(() => machineJiffies("intr 1 2 3")).to.throw("not the first line of /proc/stat");
  });
});

describe("bench profile summaries (scripts/bench/profile.ts)", () => {
  const profile = (total: number, skopeo: number, jq: number, fn: string): Profile => ({
    total,
    seconds: {
      skopeo,
      curl: 0.05,
      jq,
      flock: 0.001,
      aws: 0,
      "other programs": 0.02,
      bash: total - skopeo - jq - 0.071,
    },
    processes: { skopeo: 1, curl: 3, jq: 5, flock: 2, aws: 0, "other programs": 20, bash: 0 },
    functions: [[fn, total]],
  });

  it("takes the median of every category, and the functions of the run of median total", () => {
    const median = medianProfile([
      profile(2, 1.7, 0.1, "a"),
      profile(1.5, 1.2, 0.2, "b"),
      profile(3, 2.5, 0.15, "c"),
    ]);
    expect(median.total).to.equal(2);
    expect(median.seconds.skopeo).to.equal(1.7);
    expect(median.seconds.jq).to.equal(0.15);
    expect(median.functions).to.deep.equal([["a", 2]]);
  });

  it("names each category that took time or started a process, with its count, bash without one", () => {
    expect(splitText(profile(2, 1.7, 0.1, "a"))).to.equal(
      "skopeo 1.70 s (1), curl 0.05 s (3), jq 0.10 s (5), flock 0.00 s (2), other programs 0.02 s (20), bash 0.13 s",
    );
    expect(splitText(profile(2, 1.7, 0.1, "a"), ["skopeo"])).to.match(/^curl 0\.05 s \(3\), /);
  });

  it("divides a profile by the tags it covers, counts becoming fractions where they do not divide", () => {
    const tag = perItem(profile(2, 1.7, 0.1, "a"), 4);
    expect(tag.total).to.equal(0.5);
    expect(tag.seconds.skopeo).to.equal(0.425);
    expect(tag.processes).to.deep.include({ skopeo: 0.25, curl: 0.75, "other programs": 5 });
    expect(tag.functions).to.deep.equal([["a", 0.5]]);
    expect(splitText(tag)).to.match(/^skopeo 0\.42 s \(0\.3\), curl 0\.01 s \(0\.8\), /);
  });
});

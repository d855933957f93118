/**
 * Where a traced copier run's time and CPU go (scripts/bench/profile.ts), read from the copier's
 * own trace (ec2-scripts/copier/trace.ts), and how the breakdown stage summarises its rounds.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { join } from "node:path";
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
  spansOf,
  splitText,
} from "../../scripts/bench/profile";

const execFileAsync = promisify(execFile);
const ROOT = join(__dirname, "..", "..");

/** A copier trace as trace.ts writes it, from [milliseconds, step] pairs, among other stderr lines. */
const trace = (steps: ReadonlyArray<readonly [number, string]>) =>
  [
    "2026-12-07T03:00:00Z ecr-sync: copying x",
    ...steps.map(([ms, step]) => `ecr-sync trace ${ms} ${step}`),
  ].join("\n");

describe("bench profile of a traced run (scripts/bench/profile.ts)", () => {
  it("reads the trace the copier's trace.ts writes with ECR_SYNC_TRACE=1, and nothing when it is unset", async () => {
    const program = [
      'const { trace, traced } = require("./ec2-scripts/copier/trace");',
      'trace("main");',
      'traced("sts AssumeRole", () => new Promise((done) => setTimeout(done, 30))).then(() => trace("exit"));',
    ].join(" ");
    const run = (env: Record<string, string>) =>
      execFileAsync(join(ROOT, "node_modules", ".bin", "tsx"), ["-e", program], {
        cwd: ROOT,
        env: { ...process.env, ...env },
      });
    const { stderr } = await run({ ECR_SYNC_TRACE: "1" });
    const lines = parseTrace(stderr);
    expect(lines.map((line) => line.step)).to.deep.equal([
      "main",
      "sts AssumeRole start",
      "sts AssumeRole end",
      "exit",
    ]);
    const [span] = spansOf(lines);
    expect(span.category).to.equal("AWS calls");
    expect(span.end - span.start).to.be.within(25, 2000);
    // Counted from the process's start: the first step comes after Node has loaded.
    expect(lines[0].ms).to.be.greaterThan(1);
    expect(parseTrace((await run({ ECR_SYNC_TRACE: "" })).stderr)).to.deep.equal([]);
  });

  it("names the category of each step the copier traces", () => {
    expect(
      [
        "skopeo copy",
        "source HEAD /v2/a/manifests/v1",
        "target GET /v2/",
        "target PUT /v2/a/manifests/sha256:ab",
        "sts AssumeRole",
        "source ecr GetAuthorizationToken",
        "target ecr DescribeRepositories coeus",
        "lock coeus:v1",
        "results close",
        "clients made",
      ].map(categoryOf),
    ).to.deep.equal([
      "skopeo",
      "registry",
      "registry",
      "registry",
      "AWS calls",
      "AWS calls",
      "AWS calls",
      "lock",
      "telemetry",
      "copier",
    ]);
  });

  it("pairs each start with the next end of the same step, first in first out, and ends an unfinished one at the last line", () => {
    const spans = spansOf(
      parseTrace(
        trace([
          [10, "source HEAD /v2/a/manifests/t start"],
          [12, "source HEAD /v2/a/manifests/t start"],
          [15, "source HEAD /v2/a/manifests/t end 200"],
          [20, "source HEAD /v2/a/manifests/t end 404"],
          [21, "skopeo copy start"],
          [40, "exit"],
        ]),
      ),
    );
    expect(spans).to.deep.equal([
      { start: 10, end: 15, category: "registry" },
      { start: 12, end: 20, category: "registry" },
      { start: 21, end: 40, category: "skopeo" },
    ]);
  });

  it("splits a run's wall time so each moment counts once: start-up, the highest-ranked wait open then, the copier's own time, bwrap and exit", () => {
    const profile = profileOf(
      trace([
        [120, "main"],
        [130, "source ecr GetAuthorizationToken start"],
        [135, "sts AssumeRole start"],
        [135, "lock t:v1 start"],
        [160, "lock t:v1 end"],
        [200, "source ecr GetAuthorizationToken end"],
        [230, "sts AssumeRole end"],
        [240, "source HEAD /v2/s/manifests/v1 start"],
        [240, "target HEAD /v2/t/manifests/v1 start"],
        [250, "source HEAD /v2/s/manifests/v1 end 200"],
        [260, "target HEAD /v2/t/manifests/v1 end 200"],
        [262, "exit"],
      ]),
      0.3,
    );
    const rounded = Object.fromEntries(
      Object.entries(profile.seconds).map(([category, seconds]) => [category, Math.round(seconds * 1000)]),
    );
    // 120 ms to the first step; AWS 130-230 (the lock inside it counts as AWS: it ranks lower);
    // registry 240-260; the copier 120-130, 230-240, 260-262; 300 - 262 after the last.
    expect(rounded).to.deep.equal({
      "start-up": 120,
      skopeo: 0,
      registry: 20,
      "AWS calls": 100,
      lock: 0,
      telemetry: 0,
      copier: 22,
      "bwrap and exit": 38,
    });
    expect(profile.count).to.deep.include({ "AWS calls": 2, lock: 1, registry: 2, skopeo: 0 });
    const sum = Object.values(profile.seconds).reduce((total, seconds) => total + seconds, 0);
    expect(sum).to.be.closeTo(0.3, 1e-9);
  });

  it("counts a run with no trace (it died before its first step) as bwrap and exit", () => {
    expect(profileOf("node: bad option\n", 0.2).seconds).to.deep.include({
      "start-up": 0,
      "bwrap and exit": 0.2,
    });
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
  const profile = (total: number, skopeo: number, aws: number): Profile => ({
    total,
    seconds: {
      "start-up": 0.12,
      skopeo,
      registry: 0.05,
      "AWS calls": aws,
      lock: 0.001,
      telemetry: 0,
      copier: 0.02,
      "bwrap and exit": total - skopeo - aws - 0.191,
    },
    count: {
      "start-up": 0,
      skopeo: 1,
      registry: 3,
      "AWS calls": 4,
      lock: 1,
      telemetry: 0,
      copier: 0,
      "bwrap and exit": 0,
    },
  });

  it("takes the median of every category", () => {
    const median = medianProfile([profile(2, 1.2, 0.1), profile(1.5, 1.0, 0.2), profile(3, 2.5, 0.15)]);
    expect(median.total).to.equal(2);
    expect(median.seconds.skopeo).to.equal(1.2);
    expect(median.seconds["AWS calls"]).to.equal(0.15);
  });

  it("names each category that took 5 ms or more, with its span count where it has spans", () => {
    expect(splitText(profile(2, 1.2, 0.1))).to.equal(
      "start-up 0.12 s, skopeo 1.20 s (1), registry 0.05 s (3), AWS calls 0.10 s (4), copier 0.02 s, bwrap and exit 0.51 s",
    );
  });

  it("divides a profile by the tags it covers, counts becoming fractions where they do not divide", () => {
    const tag = perItem(profile(2, 1.2, 0.1), 4);
    expect(tag.total).to.equal(0.5);
    expect(tag.seconds.skopeo).to.equal(0.3);
    expect(tag.count).to.deep.include({ skopeo: 0.25, registry: 0.75, "AWS calls": 1 });
    expect(splitText(tag)).to.match(
      /^start-up 0\.03 s, skopeo 0\.30 s \(0\.25\), registry 0\.01 s \(0\.75\), AWS calls 0\.03 s \(1\)/,
    );
  });
});

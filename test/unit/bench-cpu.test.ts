/**
 * The bench's CPU figures (scripts/bench/cpu.ts): read from a shell's `times`, /proc/PID/stat and
 * /proc/stat, and the floor they give a time target on this machine's cores.
 */
import { expect } from "chai";
import {
  childrenCpuSeconds,
  cpuFigures,
  cpuSecondsOfStat,
  CpuUse,
  floorLine,
  floorSeconds,
  machineBusySeconds,
  medianCpu,
} from "../../scripts/bench/cpu";

/** A backfill's CPU on this machine: 13 CPU s of its own, 0.4 of others. */
const backfill: CpuUse = { copier: 7.1, registries: 5.1, moto: 0.8, others: 0.4 };

describe("bench CPU and floors (scripts/bench/cpu.ts)", () => {
  it("reads the children's CPU from the end of a shell's `times` on stderr, and refuses output without it", () => {
    expect(
      childrenCpuSeconds('{"msg":"copying"}\n0m0.010000s 0m0.002000s\n0m1.250000s 0m0.125000s\n'),
    ).to.equal(1.375);
    expect(childrenCpuSeconds("0m0.0s 0m0.0s\n1m2.5s 0m0.5s")).to.equal(63);
    expect(() => childrenCpuSeconds("copied\n")).to.throw("no 'times' output");
  });

  it("reads a process's CPU from /proc/PID/stat even when its name holds spaces and parentheses", () => {
    const stat = "4242 (docker (reg) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0";
    expect(cpuSecondsOfStat(stat)).to.equal(3.25);
    expect(() => cpuSecondsOfStat("garbage")).to.throw("not a /proc/PID/stat line");
  });

  it("counts the machine's busy CPU seconds as all but idle and iowait", () => {
    expect(machineBusySeconds("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 1 2 3 4 5")).to.equal(1.55);
    expect(() => machineBusySeconds("intr 1 2 3")).to.throw("not the first line of /proc/stat");
  });

  it("puts the floor at the copier's, the registries' and moto's CPU over the cores, without other processes'", () => {
    expect(floorSeconds(backfill, 2)).to.be.closeTo(6.5, 1e-9);
    expect(floorSeconds(backfill, 4)).to.be.closeTo(3.25, 1e-9);
  });

  it("says why a time target missed: the CPU by whom, the floor on this machine's cores, and the target below it", () => {
    expect(floorLine("backfill of 50", 4, backfill, 2)).to.equal(
      "backfill of 50: 13.00 CPU s (copier 7.10, registries 5.10, moto 0.80) / 2 cores = floor 6.50 s, target 4 s below it; other processes 0.40 CPU s",
    );
  });

  it("says so when the target is above the floor, by how much: the run waited on more than CPU", () => {
    expect(
      floorLine("reconcile of 200", 1.5, { copier: 1.2, registries: 0.6, moto: 0, others: 0 }, 2),
    ).to.equal(
      "reconcile of 200: 1.80 CPU s (copier 1.20, registries 0.60, moto 0.00) / 2 cores = floor 0.90 s, target 1.5 s above it by 0.60 s; other processes 0.00 CPU s",
    );
  });

  it("takes each part's median over the runs, and puts the CPU and the floor in the JSON line under the target's key", () => {
    const cpu = medianCpu([
      backfill,
      { copier: 6, registries: 6, moto: 1, others: 2 },
      { copier: 8, registries: 4, moto: 0.6, others: 0 },
    ]);
    expect(cpu).to.deep.equal({ copier: 7.1, registries: 5.1, moto: 0.8, others: 0.4 });
    expect(cpuFigures("backfill", cpu, 2)).to.deep.equal({
      backfill_cpu_s: { copier: 7.1, registries: 5.1, moto: 0.8, others: 0.4 },
      backfill_floor_s: 6.5,
    });
  });
});

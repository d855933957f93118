/**
 * Runs the bench: starts the world, runs the stages in order, prints the report, records it in
 * docs/benchmarks.md when asked (record.ts), and applies the exit rule. Every copier run is inside the worker root (in-root.ts): the report names the
 * root's tools, and the clients the target registries saw (skopeo's User-Agent, Node's fetch).
 * Owns everything started: servers and temp dirs are removed on exit, failure, Ctrl-C and SIGTERM
 * (exit 130).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { startEcrSyncWorld } from "../../local/world";
import { onInterrupt } from "../interrupt";
import { measureBackfill } from "./backfill";
import { measureBurst } from "./burst";
import { Cleanups } from "./cleanups";
import { measureFullCopy } from "./full-copy";
import { closeConnections } from "./http";
import { copierTools } from "./in-root";
import { measureIncremental } from "./incremental";
import { elapsedSeconds, Measured, progress } from "./measure";
import { measureMultiArch } from "./multiarch";
import { Arguments, Plan } from "./plan";
import { measureReconcile } from "./reconcile";
import { currentCommit, recordLatestRun } from "./record";
import { formatReport, machine, reportOf } from "./report";
import { startBenchSession } from "./session";
import { round } from "./stats";
import { measureUnchanged } from "./unchanged";

/** What every stage measured, the copier's tools, and the User-Agents the target registries saw, with their requests. */
interface StagesRun {
  readonly stages: Measured[];
  readonly copierTools: Record<string, string>;
  readonly targetRegistryClients: Record<string, number>;
}

/** Runs every stage of `plan` in order. */
async function runStages(plan: Plan, quick: boolean, cleanups: Cleanups): Promise<StagesRun> {
  progress(
    `starting moto_server and the source/target registries${quick ? " (--quick: smoke-test sizes)" : ""}`,
  );
  const world = await startEcrSyncWorld();
  cleanups.add(() => world.stop());
  const bench = await startBenchSession(world, plan, randomUUID().slice(0, 8), cleanups);
  // As the copier finds them: inside the root, on its PATH.
  const tools = await copierTools(bench.copierEnv({}));
  progress(`the copier runs in the worker root: ${Object.values(tools).join("; ")}`);

  const full = await measureFullCopy(bench);
  const stages = [
    full.measured,
    await measureUnchanged(bench, full.synced),
    await measureIncremental(bench, full.synced),
  ];
  await bench.dropTarget(full.synced.registry);
  stages.push(
    await measureMultiArch(bench),
    await measureReconcile(bench),
    await measureBackfill(bench),
    await measureBurst(bench),
  );
  return { stages, copierTools: tools, targetRegistryClients: await bench.targetRegistryClients() };
}

/**
 * The bench from start to report. Sets process.exitCode 1 when a stage failed, or when a
 * correctness check failed (multi-arch digest, burst arrivals): the latter after the report, and
 * then nothing is recorded.
 */
export async function runBench({ plan, quick, record }: Arguments): Promise<void> {
  const loadAtStart = os.loadavg()[0];
  // What is measured: the checkout as it is now, not as it may be when the run ends.
  const startedAt = new Date();
  const measured = record ? await currentCommit() : undefined;
  const cleanups = new Cleanups();
  cleanups.add(async () => closeConnections());
  onInterrupt((signal) => {
    progress(`${signal}: stopping servers and removing temp dirs`);
    void cleanups.run().finally(() => process.exit(130));
  });
  try {
    const { stages, copierTools, targetRegistryClients } = await runStages(plan, quick, cleanups);
    const total = elapsedSeconds();
    const about = {
      runs: plan.runs,
      quick,
      bench_total_s: round(total, 1),
      target_registry_clients: targetRegistryClients,
      machine: await machine(loadAtStart, copierTools),
    };
    progress(`done in ${total.toFixed(0)} s`);
    const report = reportOf(stages, about);
    process.stdout.write(formatReport(quick, plan.runs, report));
    if (stages.some((stage) => stage.correct === false)) {
      progress("a correctness check failed (multi-arch digest or burst arrivals): exit 1, nothing recorded");
      process.exitCode = 1;
    } else if (record) {
      await recordLatestRun(report, startedAt, measured!);
      progress(`recorded in docs/benchmarks.md${quick ? " as a --quick smoke test" : ""}`);
    }
  } catch (error) {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  } finally {
    await cleanups.run();
  }
}

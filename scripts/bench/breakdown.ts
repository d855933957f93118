/**
 * Stage 2, continued: where the unchanged copy's time goes. Every aws, curl, skopeo and jq call
 * the script makes runs through a wrapper that logs its start and end; the log gives each tool's
 * wall time (parallel calls counted once) and what is left for bash itself. One `aws` call alone
 * is timed too: the CLI's start-up is most of it.
 */
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { toolPath } from "../../local/registry";
import { SyncedImage } from "./full-copy";
import { expectOk, Measured, progress, timed } from "./measure";
import { Bench } from "./session";
import { Breakdown, breakdownOf, median, medianOfEach, round } from "./stats";

const execFileAsync = promisify(execFile);

const TIMED_TOOLS = ["aws", "curl", "skopeo", "jq"] as const;

/** Writes a wrapper for each timed tool into `dir`: runs the real tool, appends "TOOL START_NS END_NS" to `log`. */
async function writeTimingWrappers(dir: string, log: string): Promise<void> {
  for (const tool of TIMED_TOOLS) {
    await writeFile(
      join(dir, tool),
      `#!/bin/sh\nstart=$(date +%s%N)\n'${toolPath(tool)}' "$@"\ncode=$?\nprintf '%s %s %s\\n' ${tool} "$start" "$(date +%s%N)" >> '${log}'\nexit "$code"\n`,
    );
    await chmod(join(dir, tool), 0o755);
  }
}

/** Median wall time of `aws ecr get-login-password` run on its own, three times. */
async function oneAwsCall(bench: Bench): Promise<number> {
  const times: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const { seconds } = await timed(() =>
      execFileAsync("aws", ["ecr", "get-login-password", "--region", "us-east-1"], {
        env: bench.world.env(),
      }),
    );
    times.push(seconds);
  }
  return median(times);
}

export async function measureBreakdown(bench: Bench, synced: SyncedImage): Promise<Measured> {
  const wrapperDir = await bench.tempDir("ecr-sync-bench-bin-");
  const toolLog = join(wrapperDir, "calls.log");
  await writeTimingWrappers(wrapperDir, toolLog);
  const runs = bench.plan.runs.breakdown;
  const breakdowns: Breakdown[] = [];
  let awsCalls = 0;
  for (let run = 1; run <= runs; run++) {
    await writeFile(toolLog, "");
    const { value: result, seconds } = await timed(() =>
      bench.copy(synced.sourceRepository, synced.targetRepository, synced.tag, synced.registry, {
        PATH: `${wrapperDir}:${process.env.PATH ?? ""}`,
      }),
    );
    expectOk(result, "unchanged", `instrumented unchanged copy run ${run}`);
    const split = breakdownOf(await readFile(toolLog, "utf8"), seconds);
    awsCalls = split.awsCalls;
    breakdowns.push(split.breakdown);
    progress(
      `instrumented unchanged copy ${run}/${runs}: ${seconds.toFixed(2)} s, aws CLI busy ${split.breakdown.aws_cli.toFixed(2)} s over ${awsCalls} calls`,
    );
  }
  return breakdownReport(medianOfEach<keyof Breakdown>(breakdowns), awsCalls, await oneAwsCall(bench));
}

/** `breakdown`: medians of the runs; `awsCalls`: per copy (of the last run); `awsCall`: seconds of one call alone. */
export function breakdownReport(breakdown: Breakdown, awsCalls: number, awsCall: number): Measured {
  return {
    figures: {
      unchanged_breakdown_s: breakdown,
      aws_cli_calls_per_copy: awsCalls,
      aws_cli_call_s: round(awsCall),
    },
    rows: [
      {
        figure: "  of which: aws CLI running (wall, overlaps once)",
        measured: `${breakdown.aws_cli.toFixed(2)} s (${awsCalls} calls, one alone ${awsCall.toFixed(2)} s)`,
      },
      {
        figure: "  of which: curl / skopeo / jq running",
        measured: `${breakdown.curl.toFixed(2)} / ${breakdown.skopeo.toFixed(2)} / ${breakdown.jq.toFixed(2)} s`,
      },
      { figure: "  of which: bash, no tool running", measured: `${breakdown.bash_and_startup.toFixed(2)} s` },
    ],
  };
}

/**
 * `npm run bench`: measures ec2-scripts/ecr-sync.sh doing real work against real local servers,
 * and compares it with the physical limit of moving the same bytes once over plain HTTP.
 *
 * World: the integration tests' own (local/world.ts): moto_server for STS and ECR
 * (the target side is reached only through an assumed role), a source docker-registry and, for
 * every measured copy that must start from an empty target, a fresh target docker-registry
 * (htpasswd auth, access log on) on a free loopback port. A fresh registry rather than a fresh
 * repository name, because skopeo remembers where it saw each blob (its blob-info cache) and
 * would mount it from another repository of the same registry instead of sending it.
 *
 * Figures (each the median of several runs; BENCHMARKS.md documents every name):
 *  1. full copy of a ~200 MiB 5-layer image vs. the plain-HTTP baseline (scripts/bench-http.ts)
 *  2. unchanged copy: time and layer bytes moved (registry access logs), with a breakdown of
 *     where the time goes (aws CLI, curl, skopeo, jq, the rest)
 *  3. incremental copy: bytes moved / size of the one changed layer
 *  4. multi-arch copy (index of three platforms): time, digest preserved
 *  5. reconcile of 10, 50, 200 tags in sync; backfill of 50 small missing tags
 *  6. burst: 20 copies of 20 tags started at once: total time, all arrived
 *
 * Output: progress on stderr; on stdout a table, then as the very last line one JSON object.
 * `--quick` shrinks sizes and run counts (a smoke test of the bench itself, not figures to keep).
 * Servers and temp dirs are removed on exit, failure, Ctrl-C and SIGTERM.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import {
  ecrPassword,
  EcrSyncWorld,
  runScript,
  RunResult,
  SOURCE_ACCOUNT,
  startEcrSyncWorld,
  TARGET_ACCOUNT,
} from "../local/world";
import { BuiltImage, layerBytes, MEDIA_TYPES } from "../local/oci";
import { onInterrupt } from "./interrupt";
import { Registry, startRegistry } from "../local/registry";
import { closeConnections, Endpoint, httpCopyImage, putManifest, uploadBlob } from "./bench/http";
import { formatTable, jsonLine, linearFit, median, mib, round, Row, toolTimes } from "./bench/stats";

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

interface Plan {
  readonly layerCount: number;
  readonly layerBytes: number;
  readonly multiarchLayers: readonly number[];
  readonly reconcileScales: readonly number[];
  readonly backfillTags: number;
  readonly burstCopies: number;
  readonly burstLayerBytes: number;
  readonly runs: {
    full: number;
    unchanged: number;
    incremental: number;
    multiarch: number;
    reconcile: number;
    backfill: number;
    burst: number;
    breakdown: number;
  };
}

const FULL_PLAN: Plan = {
  layerCount: 5,
  layerBytes: 40 * MiB,
  multiarchLayers: [8 * MiB, 2 * MiB],
  reconcileScales: [10, 50, 200],
  backfillTags: 50,
  burstCopies: 20,
  burstLayerBytes: 1 * MiB,
  runs: {
    full: 5,
    unchanged: 5,
    incremental: 5,
    multiarch: 5,
    reconcile: 5,
    backfill: 3,
    burst: 3,
    breakdown: 3,
  },
};

const QUICK_PLAN: Plan = {
  layerCount: 3,
  layerBytes: 2 * MiB,
  multiarchLayers: [256 * 1024],
  reconcileScales: [2, 5, 10],
  backfillTags: 5,
  burstCopies: 4,
  burstLayerBytes: 64 * 1024,
  runs: {
    full: 2,
    unchanged: 2,
    incremental: 2,
    multiarch: 1,
    reconcile: 2,
    backfill: 1,
    burst: 1,
    breakdown: 1,
  },
};

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
  { os: "linux", architecture: "arm", variant: "v7" },
] as const;

const benchStart = performance.now();
const progress = (message: string) =>
  process.stderr.write(
    `[bench ${((performance.now() - benchStart) / 1000).toFixed(1).padStart(6)} s] ${message}\n`,
  );

/** Everything to stop or remove, newest last; run in reverse on exit. */
const cleanups: Array<() => Promise<unknown>> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => undefined);
    closeConnections();
  })();
  return cleaning;
}
onInterrupt((signal) => {
  progress(`${signal}: stopping servers and removing temp dirs`);
  void cleanup().finally(() => process.exit(130));
});

const seconds = (ms: number) => ms / 1000;

async function timed<T>(action: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await action();
  return { value, seconds: seconds(performance.now() - started) };
}

function expectOk(result: RunResult, expected: string, what: string): void {
  const results = result.lines.map((line) => line.result);
  if (result.code !== 0 || results.length === 0 || results.some((value) => value !== expected)) {
    throw new Error(
      `${what}: expected exit 0 and every line '${expected}', got exit ${result.code}, results [${results.join(", ")}]\n${result.stderr}`,
    );
  }
}

async function toolVersion(tool: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(tool, args);
    return (stdout.trim() || stderr.trim()).split("\n")[0];
  } catch (error) {
    return `unknown (${(error as Error).message.split("\n")[0]})`;
  }
}

async function machine(loadAtStart: number): Promise<Record<string, string | number>> {
  const cpus = os.cpus();
  const disk = await toolVersion("sh", ["-c", `df -hT "${os.tmpdir()}" | tail -n 1`]);
  return {
    nproc: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: round(os.totalmem() / 1024 ** 3, 1),
    kernel: `${os.type()} ${os.release()}`,
    tmp_disk: disk.replace(/\s+/g, " "),
    node: process.version,
    skopeo: await toolVersion("skopeo", ["--version"]),
    docker_registry: await toolVersion("docker-registry", ["--version"]),
    aws_cli: await toolVersion("aws", ["--version"]),
    load_avg_1m_at_start: round(loadAtStart, 2),
  };
}

/**
 * A small image made and pushed over HTTP (no tool start): one random gzip'd layer, a labelled
 * config. `layerThere`: the layer is already in every repository (concurrent uploads of one blob
 * into one repository race in distribution 2.8, so a shared layer is uploaded once, first).
 */
async function seedImage(
  places: ReadonlyArray<readonly [Endpoint, string]>,
  tag: string,
  layerContent: Buffer,
  label: string,
  layerThere = false,
): Promise<string> {
  const layer = gzipSync(layerContent, { level: 0 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "ecr-sync.bench/label": label } },
      rootfs: {
        type: "layers",
        diff_ids: [`sha256:${createHash("sha256").update(layerContent).digest("hex")}`],
      },
    }),
  );
  const digestOf = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.layer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  let digest = "";
  for (const [endpoint, repository] of places) {
    if (!layerThere) await uploadBlob(endpoint, repository, layer);
    await uploadBlob(endpoint, repository, config);
    digest = await putManifest(endpoint, repository, tag, manifest, MEDIA_TYPES.manifest);
  }
  return digest;
}

/** Runs `action` over `items`, `width` at a time. */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  action: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += width) {
    results.push(
      ...(await Promise.all(
        items.slice(start, start + width).map((item, offset) => action(item, start + offset)),
      )),
    );
  }
  return results;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const unknown = process.argv.slice(2).filter((arg) => arg !== "--quick");
  if (unknown.length > 0)
    throw new Error(
      `unknown argument(s) ${unknown.join(" ")}: the only option is --quick (small sizes, few runs)`,
    );
  const plan = quick ? QUICK_PLAN : FULL_PLAN;
  const runId = randomUUID().slice(0, 8);
  const loadAtStart = os.loadavg()[0];

  progress(
    `starting moto_server and the source/target registries${quick ? " (--quick: smoke-test sizes)" : ""}`,
  );
  const world: EcrSyncWorld = await startEcrSyncWorld();
  cleanups.push(() => world.stop());
  const sourceEndpoint: Endpoint = { host: world.source.host, password: ecrPassword(SOURCE_ACCOUNT) };
  const targetEndpoint = (registry: Registry): Endpoint => ({
    host: registry.host,
    password: ecrPassword(TARGET_ACCOUNT),
  });

  const liveRegistries = new Set<Registry>();
  const freshTarget = async (): Promise<Registry> => {
    const registry = await startRegistry({
      name: "bench-target",
      users: { AWS: ecrPassword(TARGET_ACCOUNT) },
    });
    liveRegistries.add(registry);
    cleanups.push(async () => {
      if (liveRegistries.delete(registry)) await registry.stop();
    });
    return registry;
  };
  const dropTarget = async (registry: Registry) => {
    if (liveRegistries.delete(registry)) await registry.stop();
  };

  const copy = (
    source: string,
    target: string,
    tag: string,
    targetRegistry?: Registry,
    extraEnv: Record<string, string> = {},
  ) =>
    runScript(
      ["copy", "--source-repository", source, "--target-repository", target, "--tag", tag],
      world.env({
        ...(targetRegistry ? { ECR_SYNC_TARGET_REGISTRY: targetRegistry.host } : {}),
        ...extraEnv,
      }),
    );
  const reconcile = (map: Record<string, string>, targetRegistry?: Registry) =>
    runScript(
      ["reconcile"],
      world.env({
        ECR_SYNC_REPOSITORY_MAP: JSON.stringify(map),
        ...(targetRegistry ? { ECR_SYNC_TARGET_REGISTRY: targetRegistry.host } : {}),
      }),
    );

  const figures: Record<string, unknown> = {};
  const rows: Row[] = [];

  // 1. Full copy vs. the plain-HTTP baseline ------------------------------------------------
  const imageBytesPlanned = plan.layerCount * plan.layerBytes;
  progress(
    `building a ${mib(imageBytesPlanned)} image of ${plan.layerCount} random layers and pushing it to the source`,
  );
  const baseLayers = Array.from({ length: plan.layerCount - 1 }, (_, i) => ({
    size: plan.layerBytes,
    seed: `${runId}-base-${i}`,
  }));
  const full: BuiltImage = await world.layout.addImage({
    layers: [...baseLayers, { size: plan.layerBytes, seed: `${runId}-top-0` }],
    label: `${runId}-v0`,
  });
  const fullSource = "bench-full-src";
  const fullTarget = "bench-full";
  await world.pushToSource(full, fullSource, "v0");
  await world.createTargetRepository(fullTarget);
  const imageBytes = layerBytes(full);

  const copyTimes: number[] = [];
  const skopeoTimes: number[] = [];
  const authDir = await mkdtemp(join(os.tmpdir(), "ecr-sync-bench-auth-"));
  cleanups.push(() => rm(authDir, { recursive: true, force: true }));
  const skopeoAuth = join(authDir, "auth.json");
  const basic = (endpoint: Endpoint) => Buffer.from(`AWS:${endpoint.password}`).toString("base64");
  const baselineTimes: number[] = [];
  let syncedTarget: Registry | undefined;
  for (let run = 1; run <= plan.runs.full; run++) {
    const baselineRun = async () => {
      const registry = await freshTarget();
      const { value: moved, seconds: took } = await timed(() =>
        httpCopyImage(sourceEndpoint, fullSource, targetEndpoint(registry), fullTarget, "v0"),
      );
      const digest = await registry.digestOf(fullTarget, "v0");
      if (digest !== full.digest)
        throw new Error(`baseline run ${run}: target holds ${digest}, not ${full.digest}`);
      if (moved < imageBytes)
        throw new Error(
          `baseline run ${run}: moved ${moved} bytes, fewer than the ${imageBytes} layer bytes`,
        );
      baselineTimes.push(took);
      await dropTarget(registry);
      progress(`full copy ${run}/${plan.runs.full}: baseline (plain HTTP) ${took.toFixed(2)} s`);
    };
    const copyRun = async () => {
      const registry = await freshTarget();
      const { value: result, seconds: took } = await timed(() =>
        copy(fullSource, fullTarget, "v0", registry),
      );
      expectOk(result, "copied", `full copy run ${run}`);
      const digest = await registry.digestOf(fullTarget, "v0");
      if (digest !== full.digest)
        throw new Error(`full copy run ${run}: target holds ${digest}, not ${full.digest}`);
      const received = (await registry.blobTraffic()).blobUploadBytes;
      if (received < imageBytes)
        throw new Error(
          `full copy run ${run}: target received ${received} blob bytes, fewer than the ${imageBytes} layer bytes (not a fresh copy)`,
        );
      copyTimes.push(took);
      if (syncedTarget) await dropTarget(syncedTarget);
      syncedTarget = registry; // the last one stays for the unchanged and incremental copies
      progress(`full copy ${run}/${plan.runs.full}: ecr-sync.sh ${took.toFixed(2)} s`);
    };
    const skopeoRun = async () => {
      const registry = await freshTarget();
      await writeFile(
        skopeoAuth,
        JSON.stringify({
          auths: {
            [world.source.host]: { auth: basic(sourceEndpoint) },
            [registry.host]: { auth: basic(targetEndpoint(registry)) },
          },
        }),
        { mode: 0o600 },
      );
      const { seconds: took } = await timed(() =>
        execFileAsync("skopeo", [
          "copy",
          ...[
            "--all",
            "--preserve-digests",
            "--quiet",
            "--retry-times",
            "3",
            "--authfile",
            skopeoAuth,
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
          ],
          `docker://${world.source.host}/${fullSource}@${full.digest}`,
          `docker://${registry.host}/${fullTarget}:v0`,
        ]),
      );
      if ((await registry.digestOf(fullTarget, "v0")) !== full.digest)
        throw new Error(`skopeo-alone run ${run}: digest differs on the target`);
      skopeoTimes.push(took);
      await dropTarget(registry);
      progress(`full copy ${run}/${plan.runs.full}: skopeo copy alone ${took.toFixed(2)} s`);
    };
    // Rotate the order so no variant always gets the warmer caches.
    const variants = [baselineRun, copyRun, skopeoRun];
    for (let i = 0; i < variants.length; i++) await variants[(i + run - 1) % variants.length]();
  }
  const fullCopy = median(copyTimes);
  const baseline = median(baselineTimes);
  const skopeoAlone = median(skopeoTimes);
  Object.assign(figures, {
    image_layer_bytes: imageBytes,
    full_copy_s: round(fullCopy),
    baseline_s: round(baseline),
    full_copy_ratio: round(fullCopy / baseline, 2),
    full_copy_mib_per_s: round(imageBytes / MiB / fullCopy, 1),
    baseline_mib_per_s: round(imageBytes / MiB / baseline, 1),
    skopeo_alone_s: round(skopeoAlone),
    skopeo_alone_ratio: round(skopeoAlone / baseline, 2),
  });
  rows.push(
    {
      figure: `full copy, ${plan.layerCount} x ${mib(plan.layerBytes)} (ecr-sync.sh)`,
      measured: `${fullCopy.toFixed(2)} s (${(imageBytes / MiB / fullCopy).toFixed(0)} MiB/s)`,
    },
    {
      figure: "baseline: plain HTTP GET->PUT, same blobs",
      measured: `${baseline.toFixed(2)} s (${(imageBytes / MiB / baseline).toFixed(0)} MiB/s)`,
    },
    {
      figure: "full copy / baseline",
      measured: `${(fullCopy / baseline).toFixed(2)}x`,
      target: "<= 1.3x",
      met: fullCopy / baseline <= 1.3,
    },
    {
      figure: "  skopeo copy alone (no auth calls) / baseline",
      measured: `${(skopeoAlone / baseline).toFixed(2)}x (${skopeoAlone.toFixed(2)} s)`,
    },
  );
  if (!syncedTarget) throw new Error("no full copy ran");
  const synced = syncedTarget;

  // 2. Unchanged copy ------------------------------------------------------------------------
  const unchangedTimes: number[] = [];
  let unchangedBytes = 0;
  for (let run = 1; run <= plan.runs.unchanged; run++) {
    const sourceMark = await world.source.mark();
    const targetMark = await synced.mark();
    const { value: result, seconds: took } = await timed(() => copy(fullSource, fullTarget, "v0", synced));
    expectOk(result, "unchanged", `unchanged copy run ${run}`);
    const pulled = await world.source.blobTraffic(sourceMark);
    const pushed = await synced.blobTraffic(targetMark);
    unchangedBytes = Math.max(unchangedBytes, pulled.blobDownloadBytes + pushed.blobUploadBytes);
    unchangedTimes.push(took);
    progress(
      `unchanged copy ${run}/${plan.runs.unchanged}: ${took.toFixed(2)} s, ${pulled.blobDownloadBytes + pushed.blobUploadBytes} layer bytes`,
    );
  }
  const unchanged = median(unchangedTimes);
  Object.assign(figures, { unchanged_copy_s: round(unchanged), unchanged_layer_bytes: unchangedBytes });
  rows.push(
    {
      figure: "unchanged copy: time",
      measured: `${unchanged.toFixed(2)} s`,
      target: "< 0.5 s",
      met: unchanged < 0.5,
    },
    {
      figure: "unchanged copy: layer bytes moved (max of runs)",
      measured: `${unchangedBytes} B`,
      target: "0 B",
      met: unchangedBytes === 0,
    },
  );

  // Where the unchanged copy's time goes: every aws/curl/skopeo/jq call timed by a wrapper.
  const wrapperDir = await mkdtemp(join(os.tmpdir(), "ecr-sync-bench-bin-"));
  cleanups.push(() => rm(wrapperDir, { recursive: true, force: true }));
  const toolLog = join(wrapperDir, "calls.log");
  for (const tool of ["aws", "curl", "skopeo", "jq"]) {
    const { stdout } = await execFileAsync("sh", ["-c", 'command -v "$1"', "sh", tool]);
    await writeFile(
      join(wrapperDir, tool),
      `#!/bin/sh\nstart=$(date +%s%N)\n'${stdout.trim()}' "$@"\ncode=$?\nprintf '%s %s %s\\n' ${tool} "$start" "$(date +%s%N)" >> '${toolLog}'\nexit "$code"\n`,
    );
    await chmod(join(wrapperDir, tool), 0o755);
  }
  const breakdowns: Array<Record<string, number>> = [];
  let awsCalls = 0;
  for (let run = 1; run <= plan.runs.breakdown; run++) {
    await writeFile(toolLog, "");
    const { value: result, seconds: took } = await timed(() =>
      copy(fullSource, fullTarget, "v0", synced, { PATH: `${wrapperDir}:${process.env.PATH ?? ""}` }),
    );
    expectOk(result, "unchanged", `instrumented unchanged copy run ${run}`);
    const times = toolTimes(await readFile(toolLog, "utf8"));
    const lines = (await readFile(toolLog, "utf8"))
      .trim()
      .split("\n")
      .map((line) => line.split(" ").map(Number).slice(1) as [number, number]);
    const anyTool =
      toolTimes(lines.map(([start, end]) => `any ${start} ${end}`).join("\n")).any?.seconds ?? 0;
    awsCalls = times.aws?.calls ?? 0;
    breakdowns.push({
      total: took,
      aws_cli: times.aws?.seconds ?? 0,
      curl: times.curl?.seconds ?? 0,
      skopeo: times.skopeo?.seconds ?? 0,
      jq: times.jq?.seconds ?? 0,
      bash_and_startup: Math.max(0, took - anyTool),
    });
    progress(
      `instrumented unchanged copy ${run}/${plan.runs.breakdown}: ${took.toFixed(2)} s, aws CLI busy ${(times.aws?.seconds ?? 0).toFixed(2)} s over ${awsCalls} calls`,
    );
  }
  const breakdown = Object.fromEntries(
    Object.keys(breakdowns[0]).map((key) => [key, round(median(breakdowns.map((b) => b[key])))]),
  );
  const singleCall: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const { seconds: took } = await timed(() =>
      execFileAsync("aws", ["ecr", "get-login-password", "--region", "us-east-1"], { env: world.env() }),
    );
    singleCall.push(took);
  }
  const awsCall = median(singleCall);
  Object.assign(figures, {
    unchanged_breakdown_s: breakdown,
    aws_cli_calls_per_copy: awsCalls,
    aws_cli_call_s: round(awsCall),
  });
  rows.push(
    {
      figure: "  of which: aws CLI running (wall, overlaps once)",
      measured: `${breakdown.aws_cli.toFixed(2)} s (${awsCalls} calls, one alone ${awsCall.toFixed(2)} s)`,
    },
    {
      figure: "  of which: curl / skopeo / jq running",
      measured: `${breakdown.curl.toFixed(2)} / ${breakdown.skopeo.toFixed(2)} / ${breakdown.jq.toFixed(2)} s`,
    },
    { figure: "  of which: bash, no tool running", measured: `${breakdown.bash_and_startup.toFixed(2)} s` },
  );

  // 3. Incremental copy ------------------------------------------------------------------------
  const incrementalRatios: number[] = [];
  const incrementalTimes: number[] = [];
  const incrementalMoved: number[] = [];
  let changedLayerBytes = 0;
  for (let run = 1; run <= plan.runs.incremental; run++) {
    const next = await world.layout.addImage({
      layers: [...baseLayers, { size: plan.layerBytes, seed: `${runId}-top-${run}` }],
      label: `${runId}-v${run}`,
    });
    await world.pushToSource(next, fullSource, `v${run}`);
    const changed = next.layers[next.layers.length - 1];
    changedLayerBytes = changed.size;
    const sourceMark = await world.source.mark();
    const targetMark = await synced.mark();
    const { value: result, seconds: took } = await timed(() =>
      copy(fullSource, fullTarget, `v${run}`, synced),
    );
    expectOk(result, "copied", `incremental copy run ${run}`);
    if ((await synced.digestOf(fullTarget, `v${run}`)) !== next.digest)
      throw new Error(`incremental copy run ${run}: digest differs on the target`);
    const pulled = (await world.source.blobTraffic(sourceMark)).blobDownloadBytes;
    const pushed = (await synced.blobTraffic(targetMark)).blobUploadBytes;
    const moved = Math.max(pulled, pushed);
    incrementalMoved.push(moved);
    incrementalRatios.push(moved / changed.size);
    incrementalTimes.push(took);
    progress(
      `incremental copy ${run}/${plan.runs.incremental}: ${took.toFixed(2)} s, pulled ${pulled} B, pushed ${pushed} B, changed layer ${changed.size} B`,
    );
  }
  await dropTarget(synced);
  const incrementalRatio = median(incrementalRatios);
  Object.assign(figures, {
    incremental_copy_s: round(median(incrementalTimes)),
    incremental_changed_layer_bytes: changedLayerBytes,
    incremental_moved_bytes: median(incrementalMoved),
    incremental_bytes_ratio: round(incrementalRatio, 4),
  });
  rows.push(
    {
      figure: "incremental copy: time (1 of 5 layers new)",
      measured: `${median(incrementalTimes).toFixed(2)} s`,
    },
    {
      figure: "incremental: bytes moved / changed layer",
      measured: `${incrementalRatio.toFixed(4)}x (${median(incrementalMoved)} / ${changedLayerBytes} B)`,
      target: "<= 1.05x",
      met: incrementalRatio <= 1.05,
    },
  );

  // 4. Multi-arch copy ---------------------------------------------------------------------------
  progress(`building a ${PLATFORMS.length}-platform index and pushing it to the source`);
  const index = await world.layout.addMultiArch(
    PLATFORMS,
    plan.multiarchLayers.map((size) => ({ size })),
    `${runId}-multi`,
  );
  const multiSource = "bench-multiarch-src";
  const multiTarget = "bench-multiarch";
  await world.pushToSource(index, multiSource, "multi");
  await world.createTargetRepository(multiTarget);
  const multiTimes: number[] = [];
  let digestPreserved = true;
  for (let run = 1; run <= plan.runs.multiarch; run++) {
    const registry = await freshTarget();
    const { value: result, seconds: took } = await timed(() =>
      copy(multiSource, multiTarget, "multi", registry),
    );
    expectOk(result, "copied", `multi-arch copy run ${run}`);
    const sourceDigest = await world.source.digestOf(multiSource, "multi");
    const targetDigest = await registry.digestOf(multiTarget, "multi");
    let platformsPresent = true;
    for (const image of index.images)
      platformsPresent &&= (await registry.digestOf(multiTarget, image.digest)) === image.digest;
    const preserved = sourceDigest === index.digest && targetDigest === sourceDigest && platformsPresent;
    digestPreserved &&= preserved;
    multiTimes.push(took);
    await dropTarget(registry);
    progress(
      `multi-arch copy ${run}/${plan.runs.multiarch}: ${took.toFixed(2)} s, source ${sourceDigest?.slice(0, 19)} target ${targetDigest?.slice(0, 19)}, every platform present: ${platformsPresent}`,
    );
  }
  Object.assign(figures, {
    multiarch_layer_bytes: layerBytes(index),
    multiarch_copy_s: round(median(multiTimes)),
    multiarch_digest_preserved: digestPreserved,
  });
  rows.push({
    figure: `multi-arch copy: ${PLATFORMS.length} platforms, ${mib(layerBytes(index))}`,
    measured: `${median(multiTimes).toFixed(2)} s, index digest ${digestPreserved ? "preserved" : "CHANGED"}`,
    target: "same digest",
    met: digestPreserved,
  });

  // 5. Reconcile scale --------------------------------------------------------------------------
  const targetWorld: Endpoint = targetEndpoint(world.target);
  const sharedLayer = randomBytes(4096);
  const inSync: Record<string, number> = {};
  for (const scale of plan.reconcileScales) {
    const source = `bench-sync-${scale}-src`;
    const target = `bench-sync-${scale}`;
    await world.createTargetRepository(target);
    progress(`seeding ${scale} tags, in sync on both sides`);
    const tags = Array.from({ length: scale }, (_, i) => `t${String(i).padStart(4, "0")}`);
    const places = [
      [sourceEndpoint, source],
      [targetWorld, target],
    ] as const;
    for (const [endpoint, repository] of places)
      await uploadBlob(endpoint, repository, gzipSync(sharedLayer, { level: 0 }));
    await inBatches(tags, 8, (tag) => seedImage(places, tag, sharedLayer, `${runId}-${scale}-${tag}`, true));
    const times: number[] = [];
    for (let run = 1; run <= plan.runs.reconcile; run++) {
      const { value: result, seconds: took } = await timed(() => reconcile({ [source]: target }));
      expectOk(result, "unchanged", `reconcile of ${scale} in-sync tags, run ${run}`);
      if (result.lines.length !== scale)
        throw new Error(`reconcile of ${scale} tags reported ${result.lines.length} images`);
      times.push(took);
    }
    inSync[String(scale)] = round(median(times));
    progress(
      `reconcile, ${scale} tags in sync: median ${median(times).toFixed(2)} s of [${times.map((t) => t.toFixed(2)).join(", ")}]`,
    );
  }
  const fit = linearFit(plan.reconcileScales.map((scale) => [scale, inSync[String(scale)]]));
  const largest = plan.reconcileScales[plan.reconcileScales.length - 1];
  Object.assign(figures, {
    reconcile_in_sync_s: inSync,
    reconcile_per_tag_ms: round(fit.slope * 1000, 2),
    reconcile_fixed_s: round(fit.intercept),
  });
  for (const scale of plan.reconcileScales) {
    const met = scale === 200 ? inSync[String(scale)] < 10 : undefined;
    rows.push({
      figure: `reconcile, ${scale} tags in sync`,
      measured: `${inSync[String(scale)].toFixed(2)} s`,
      target: scale === 200 ? "< 10 s" : undefined,
      met,
    });
  }
  rows.push({
    figure: `reconcile growth (fit over ${plan.reconcileScales.join("/")})`,
    measured: `${(fit.slope * 1000).toFixed(1)} ms per tag + ${fit.intercept.toFixed(2)} s fixed`,
  });
  if (largest !== 200) progress(`(--quick: largest reconcile scale is ${largest}, not 200)`);

  progress(`seeding ${plan.backfillTags} small tags for the backfill`);
  const backfillSource = "bench-backfill-src";
  const backfillTarget = "bench-backfill";
  await world.createTargetRepository(backfillTarget);
  const backfillTags = Array.from({ length: plan.backfillTags }, (_, i) => `b${String(i).padStart(3, "0")}`);
  const backfillDigests = await inBatches(backfillTags, 8, (tag) =>
    seedImage([[sourceEndpoint, backfillSource]], tag, randomBytes(16 * 1024), `${runId}-${tag}`),
  );
  const backfillTimes: number[] = [];
  for (let run = 1; run <= plan.runs.backfill; run++) {
    const registry = await freshTarget();
    const { value: result, seconds: took } = await timed(() =>
      reconcile({ [backfillSource]: backfillTarget }, registry),
    );
    expectOk(result, "copied", `backfill run ${run}`);
    const arrived = await inBatches(
      backfillTags,
      10,
      async (tag, i) => (await registry.digestOf(backfillTarget, tag)) === backfillDigests[i],
    );
    if (arrived.some((ok) => !ok))
      throw new Error(
        `backfill run ${run}: ${arrived.filter((ok) => !ok).length} tags missing or different on the target`,
      );
    backfillTimes.push(took);
    await dropTarget(registry);
    progress(`backfill of ${plan.backfillTags} tags ${run}/${plan.runs.backfill}: ${took.toFixed(2)} s`);
  }
  const backfill = median(backfillTimes);
  Object.assign(figures, {
    backfill_50_s: round(backfill),
    backfill_per_tag_s: round(backfill / plan.backfillTags),
  });
  rows.push({
    figure: `backfill: reconcile copying ${plan.backfillTags} missing small tags`,
    measured: `${backfill.toFixed(2)} s (${(backfill / plan.backfillTags).toFixed(2)} s per tag)`,
  });

  // 6. Burst --------------------------------------------------------------------------------------
  progress(`seeding ${plan.burstCopies} images of ${mib(plan.burstLayerBytes)} for the burst`);
  const burstSource = "bench-burst-src";
  const burstTarget = "bench-burst";
  await world.createTargetRepository(burstTarget);
  const burstTags = Array.from({ length: plan.burstCopies }, (_, i) => `r${String(i).padStart(2, "0")}`);
  const burstDigests = await inBatches(burstTags, 4, (tag) =>
    seedImage([[sourceEndpoint, burstSource]], tag, randomBytes(plan.burstLayerBytes), `${runId}-${tag}`),
  );
  const burstTimes: number[] = [];
  let burstArrived = plan.burstCopies;
  for (let run = 1; run <= plan.runs.burst; run++) {
    const registry = await freshTarget();
    const { value: results, seconds: took } = await timed(() =>
      Promise.all(burstTags.map((tag) => copy(burstSource, burstTarget, tag, registry))),
    );
    let arrived = 0;
    for (const [i, tag] of burstTags.entries()) {
      if (results[i].code === 0 && (await registry.digestOf(burstTarget, tag)) === burstDigests[i])
        arrived += 1;
      else
        progress(
          `burst run ${run}: ${tag} did not arrive (exit ${results[i].code}): ${results[i].stderr.trim().split("\n").pop()}`,
        );
    }
    burstArrived = Math.min(burstArrived, arrived);
    burstTimes.push(took);
    await dropTarget(registry);
    progress(
      `burst of ${plan.burstCopies} copies ${run}/${plan.runs.burst}: ${took.toFixed(2)} s, ${arrived}/${plan.burstCopies} arrived`,
    );
  }
  const burst = median(burstTimes);
  Object.assign(figures, { burst_20_s: round(burst), burst_20_arrived: burstArrived });
  rows.push({
    figure: `burst: ${plan.burstCopies} copies started at once (${mib(plan.burstLayerBytes)} each)`,
    measured: `${burst.toFixed(2)} s, ${burstArrived}/${plan.burstCopies} arrived (worst run)`,
    target: "all arrive",
    met: burstArrived === plan.burstCopies,
  });

  const total = seconds(performance.now() - benchStart);
  Object.assign(figures, {
    runs: plan.runs,
    quick,
    bench_total_s: round(total, 1),
    machine: await machine(loadAtStart),
  });
  progress(`done in ${total.toFixed(0)} s`);
  const runsNote = Object.entries(plan.runs)
    .map(([stage, count]) => `${stage} ${count}`)
    .join(", ");
  process.stdout.write(
    `\necr-sync.sh benchmark${quick ? " (--quick smoke test: not comparable figures)" : ""}: medians of runs per stage (${runsNote})\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(`${jsonLine(figures)}\n`);
  if (!digestPreserved || burstArrived < plan.burstCopies) {
    progress("a correctness check failed (multi-arch digest or burst arrivals): exit 1");
    process.exitCode = 1;
  }
}

main()
  .then(() => cleanup())
  .catch(async (error: unknown) => {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup();
    process.exitCode = 1;
  });

/**
 * What `npm run bench` measures and how often: image sizes, tag counts and run counts of the full
 * run and of `--quick` (a smoke test of the bench itself, not figures to keep), and its options.
 */

export const MiB = 1024 * 1024;

/**
 * Runs per stage; the figures are their medians. The keys appear in the report's header and JSON
 * line. The copier keeps no credential between runs, so every run starts as the worker's does.
 */
export interface Runs {
  readonly full: number;
  readonly unchanged: number;
  readonly incremental: number;
  readonly multiarch: number;
  readonly reconcile: number;
  readonly backfill: number;
  readonly burst: number;
}

export interface Plan {
  /** Layers of the full-copy image, each `layerBytes` of random content. */
  readonly layerCount: number;
  readonly layerBytes: number;
  /** Layer sizes of each platform's image in the multi-arch index. */
  readonly multiarchLayers: readonly number[];
  /** Tags of the in-sync reconcile. */
  readonly reconcileTags: number;
  readonly backfillTags: number;
  readonly burstCopies: number;
  readonly burstLayerBytes: number;
  readonly runs: Runs;
}

export const FULL_PLAN: Plan = {
  layerCount: 5,
  layerBytes: 40 * MiB,
  multiarchLayers: [8 * MiB, 2 * MiB],
  reconcileTags: 200,
  backfillTags: 50,
  burstCopies: 20,
  burstLayerBytes: 1 * MiB,
  runs: {
    full: 5,
    unchanged: 5,
    incremental: 3,
    multiarch: 3,
    reconcile: 5,
    backfill: 3,
    burst: 3,
  },
};

export const QUICK_PLAN: Plan = {
  layerCount: 3,
  layerBytes: 2 * MiB,
  multiarchLayers: [256 * 1024],
  reconcileTags: 10,
  backfillTags: 5,
  burstCopies: 4,
  burstLayerBytes: 64 * 1024,
  runs: {
    full: 1,
    unchanged: 2,
    incremental: 1,
    multiarch: 1,
    reconcile: 1,
    backfill: 1,
    burst: 1,
  },
};

/** The platforms of the multi-arch index. */
export const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
  { os: "linux", architecture: "arm", variant: "v7" },
] as const;

/** What the command line asks for. */
export interface Arguments {
  /** Small sizes, few runs: a smoke test of the bench itself. */
  readonly quick: boolean;
  /** Rewrite the latest run in docs/benchmarks.md with this run's table (record.ts). */
  readonly record: boolean;
  readonly plan: Plan;
}

const OPTIONS = ["--quick", "--record"];

/** Reads the command line (without node and the script): `--quick`, `--record`, both or nothing. */
export function parseArguments(args: readonly string[]): Arguments {
  const unknown = args.filter((arg) => !OPTIONS.includes(arg));
  if (unknown.length > 0)
    throw new Error(
      `unknown argument(s) ${unknown.join(" ")}: the options are --quick (small sizes, few runs: a smoke test) and --record (write the run into docs/benchmarks.md)`,
    );
  const quick = args.includes("--quick");
  return { quick, record: args.includes("--record"), plan: quick ? QUICK_PLAN : FULL_PLAN };
}

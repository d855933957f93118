/**
 * Metrics from the result lines: CloudWatch Logs metric filters on the command log group (one
 * JSON line per image, and one summary line per reconcile, from ec2-scripts/ecr-sync.sh) and on
 * the push trigger's log group (one JSON line per decision, from lambda/index.ts), publishing to
 * the `ecr-sync` namespace. The dashboard (components/dashboard.ts) and the alarms
 * (components/alerting.ts) read these metrics by the names below, and nothing else of ours.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Where the filters publish. */
export const METRIC_NAMESPACE = "ecr-sync";

/** The metrics the filters publish, by what they count. */
export const METRICS = {
  /** One per image copied (a push, a reconcile or a manual copy). */
  copied: "ImagesCopied",
  /** One per image that could not be copied. */
  failed: "ImagesFailed",
  /** One per copy not made because the tag had already moved on. */
  superseded: "ImagesSuperseded",
  /** Push to verified in legacy, in seconds, per copied image that carried its push time. */
  latency: "CopyLatency",
  /** Per reconcile run, the images it had to copy: each one an event lost or a copy that failed. */
  reconcileHealed: "ReconcileImagesCopied",
  /** One per reconcile run that finished (its summary line). */
  reconcileRuns: "ReconcileRuns",
  /** One per event the push trigger found invalid (not what ECR sends; never synced). */
  invalidDecisions: "InvalidEvents",
  /** One per push whose tag is longer than an image reference can carry (not copied; no alarm). */
  unsupportedTags: "UnsupportedTags",
} as const;
export type MetricKey = keyof typeof METRICS;

/** The copy result lines' `result` values that are counted. */
export type CountedResult = "copied" | "failed" | "superseded";

/** A JSON pattern matching the copy result lines of one result. */
export function resultPattern(result: CountedResult): string {
  return `{ $.result = "${result}" }`;
}

/**
 * Copied lines that carry a latency. `>= 0` rather than `= *`: a number is required, so a line
 * whose latency_s is null or a string (a bug upstream) publishes nothing rather than garbage.
 */
export function latencyPattern(): string {
  return `{ ($.result = "copied") && ($.latency_s >= 0) }`;
}

/** The reconcile's summary line (one per run). */
export function reconcileSummaryPattern(): string {
  return `{ $.result = "reconcile" }`;
}

/** The push trigger's lines for an event it could not act on, ever. */
export function invalidDecisionPattern(): string {
  return `{ $.decision = "invalid" }`;
}

/** The push trigger's lines for a real push whose tag no copy can name (common/naming.ts). */
export function unsupportedDecisionPattern(): string {
  return `{ $.decision = "unsupported" }`;
}

/** One filter: its pattern, the metric, and the value each matching line adds. */
export interface FilterSpec {
  readonly metric: MetricKey;
  readonly logGroup: "commands" | "function";
  readonly pattern: string;
  /** "1", or a JSON selector whose number is the value. */
  readonly value: string;
  readonly unit: "Count" | "Seconds";
}

/**
 * Every filter. Images a reconcile had to copy come from the summary's `copied` count, not from
 * copied lines without `pushed_at`: a manual `ecr-sync.sh copy` (or the backfill's) has no push
 * time either and would be counted as a heal, and the summary also publishes 0 for a run that
 * healed nothing, which the dashboard shows as a healthy flat line rather than as no data.
 */
export function filterSpecs(): readonly FilterSpec[] {
  return [
    { metric: "copied", logGroup: "commands", pattern: resultPattern("copied"), value: "1", unit: "Count" },
    { metric: "failed", logGroup: "commands", pattern: resultPattern("failed"), value: "1", unit: "Count" },
    {
      metric: "superseded",
      logGroup: "commands",
      pattern: resultPattern("superseded"),
      value: "1",
      unit: "Count",
    },
    {
      metric: "latency",
      logGroup: "commands",
      pattern: latencyPattern(),
      value: "$.latency_s",
      unit: "Seconds",
    },
    {
      metric: "reconcileHealed",
      logGroup: "commands",
      pattern: reconcileSummaryPattern(),
      value: "$.copied",
      unit: "Count",
    },
    {
      metric: "reconcileRuns",
      logGroup: "commands",
      pattern: reconcileSummaryPattern(),
      value: "1",
      unit: "Count",
    },
    {
      metric: "invalidDecisions",
      logGroup: "function",
      pattern: invalidDecisionPattern(),
      value: "1",
      unit: "Count",
    },
    {
      metric: "unsupportedTags",
      logGroup: "function",
      pattern: unsupportedDecisionPattern(),
      value: "1",
      unit: "Count",
    },
  ];
}

export interface MetricsArgs {
  /** The sync and reconcile commands' log group (the copier's result lines). */
  readonly commandLogGroupName: pulumi.Input<string>;
  /** The push trigger's log group (its decision lines). */
  readonly functionLogGroupName: pulumi.Input<string>;
}

export function createMetricFilters(
  name: string,
  args: MetricsArgs,
  parent: pulumi.Resource,
): aws.cloudwatch.LogMetricFilter[] {
  return filterSpecs().map(
    (spec) =>
      new aws.cloudwatch.LogMetricFilter(
        `${name}-metric-${spec.metric}`,
        {
          name: `${name}-${METRICS[spec.metric]}`,
          logGroupName: spec.logGroup === "commands" ? args.commandLogGroupName : args.functionLogGroupName,
          pattern: spec.pattern,
          // No default value: a period without a matching line has no datapoint, so missing data
          // means "nothing happened" and each alarm says how to treat it.
          metricTransformation: {
            name: METRICS[spec.metric],
            namespace: METRIC_NAMESPACE,
            value: spec.value,
            unit: spec.unit,
          },
        },
        { parent },
      ),
  );
}

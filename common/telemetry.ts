/**
 * The copier's telemetry contract, one definition for the copier (ec2-scripts/copier/telemetry.ts,
 * which publishes), the stacks (components/: the results log group, the worker's grants, the
 * alarms and the dashboard, which read) and the tests. No Pulumi here: the copier's bundle imports it.
 *
 * Why the copier publishes its own figures instead of metric filters reading its stdout: the SSM
 * agent ships a command's stdout to CloudWatch Logs about once a second as ONE event holding every
 * line written since its last upload (local/twin/agent-output.ts models it, with the agent's source
 * cited), and a JSON metric filter matches an event only when the whole event is one JSON object.
 * A reconcile prints a line per tag and its summary within milliseconds, so a filter almost never
 * saw the summary (docs/operations.md "Telemetry").
 */

/** Where every figure of ecr-sync goes; the worker role may publish to this namespace only. */
export const METRIC_NAMESPACE = "ecr-sync";

/**
 * The metrics, by what they count. Published with no dimension: the alarms and the dashboard read
 * the totals, and CloudWatch neither aggregates across dimensions for an alarm nor lets an alarm use
 * SEARCH, so a per-repository dimension would have to be published twice; every distinct dimension
 * set is also a custom metric of its own, billed monthly. One worker per stack, one stack per
 * account and region: nothing else writes to this namespace there.
 */
export const METRICS = {
  /** Copier: one per image copied (a push, a reconcile or a manual copy). */
  copied: "ImagesCopied",
  /** Copier: one per image that could not be copied. */
  failed: "ImagesFailed",
  /** Copier: one per copy not made because the tag had already moved on. */
  superseded: "ImagesSuperseded",
  /** Copier: one per source tag a reconcile found that no image reference can carry (not copied). */
  unsupported: "ImagesUnsupported",
  /** Copier: push to verified in legacy, in seconds, per copied image that carried its push time. */
  latency: "CopyLatency",
  /** Copier: per reconcile run, the images it had to copy (0 included): each an event lost or a copy that failed. */
  reconcileHealed: "ReconcileImagesCopied",
  /** Copier: one per reconcile run that finished (its summary line). */
  reconcileRuns: "ReconcileRuns",
  /** Push trigger (a metric filter on its function log): one per event it found invalid. */
  invalidDecisions: "InvalidEvents",
  /** Push trigger (a metric filter on its function log): one per push whose tag no reference can carry. */
  unsupportedTags: "UnsupportedTags",
} as const;
export type MetricKey = keyof typeof METRICS;

/** The metrics the copier publishes with PutMetricData, and their units. */
export const COPIER_METRICS = {
  copied: "Count",
  failed: "Count",
  superseded: "Count",
  unsupported: "Count",
  latency: "Seconds",
  reconcileHealed: "Count",
  reconcileRuns: "Count",
} as const satisfies Partial<Record<MetricKey, "Count" | "Seconds">>;
export type CopierMetricKey = keyof typeof COPIER_METRICS;

/** The environment variable naming the results log group; unset, the copier publishes nothing. */
export const RESULTS_LOG_GROUP_ENV = "ECR_SYNC_RESULTS_LOG_GROUP";

/**
 * The results log group of stack resource name `name`: every result line of the copier, one per
 * event, written by the copier itself (next to `/<name>/commands`, the agent's batched output).
 */
export function resultsLogGroupName(name: string): string {
  return `/${name}/results`;
}

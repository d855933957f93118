/**
 * The push trigger's metrics: CloudWatch Logs metric filters on its function log group (one JSON
 * line per decision, from lambda/index.ts: Lambda writes each line as its own event, so a JSON
 * filter sees one decision per event), publishing to the `ecr-sync` namespace.
 *
 * The copier's figures are not here: it publishes them itself with PutMetricData
 * (ec2-scripts/copier/telemetry.ts), because the SSM agent batches a command's stdout into events
 * of many lines, which no JSON filter can count (local/twin/agent-output.ts; docs/operations.md
 * "Telemetry"). Every metric's name lives in common/telemetry.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRIC_NAMESPACE, METRICS, MetricKey } from "../common/telemetry";

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
  readonly pattern: string;
  /** "1", or a JSON selector whose number is the value. */
  readonly value: string;
  readonly unit: "Count";
}

/** Every filter, all on the push trigger's function log group. */
export function filterSpecs(): readonly FilterSpec[] {
  return [
    { metric: "invalidDecisions", pattern: invalidDecisionPattern(), value: "1", unit: "Count" },
    { metric: "unsupportedTags", pattern: unsupportedDecisionPattern(), value: "1", unit: "Count" },
  ];
}

export interface MetricsArgs {
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
          logGroupName: args.functionLogGroupName,
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

/**
 * The css stack's log groups, created with their retention before anything writes to them
 * (a group a service creates on first write keeps its logs forever): the SSM commands' output, the
 * copier's result lines (one per event), and the push trigger's own log.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { resultsLogGroupName } from "../common/telemetry";

export interface LogsArgs {
  /** The push trigger's function name: Lambda writes to `/aws/lambda/<function name>`. */
  readonly functionName: string;
  /** How long every group keeps its logs, in days (a value CloudWatch Logs accepts). */
  readonly retentionInDays: pulumi.Input<number>;
}

export interface Logs {
  /**
   * `/<name>/commands`: what the sync and reconcile commands print on the worker, as the SSM agent
   * ships it (about once a second, every line since its last upload in one event).
   */
  readonly commandLogGroup: aws.cloudwatch.LogGroup;
  /** `/<name>/results`: each result line of the copier as its own event, written by the copier. */
  readonly resultsLogGroup: aws.cloudwatch.LogGroup;
  /** `/aws/lambda/<function name>`: the push trigger's decisions. */
  readonly functionLogGroup: aws.cloudwatch.LogGroup;
}

export function createLogs(name: string, args: LogsArgs, parent: pulumi.Resource): Logs {
  const commandLogGroup = new aws.cloudwatch.LogGroup(
    `${name}-command-logs`,
    { name: `/${name}/commands`, retentionInDays: args.retentionInDays },
    { parent },
  );
  const resultsLogGroup = new aws.cloudwatch.LogGroup(
    `${name}-results-logs`,
    { name: resultsLogGroupName(name), retentionInDays: args.retentionInDays },
    { parent },
  );
  const functionLogGroup = new aws.cloudwatch.LogGroup(
    `${name}-function-logs`,
    { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.retentionInDays },
    { parent },
  );
  return { commandLogGroup, resultsLogGroup, functionLogGroup };
}

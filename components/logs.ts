/**
 * The css stack's two log groups, created with their retention before anything writes to them
 * (a group a service creates on first write keeps its logs forever): the SSM commands' output and
 * the push trigger's own log.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface LogsArgs {
  /** The push trigger's function name: Lambda writes to `/aws/lambda/<function name>`. */
  readonly functionName: string;
  /** How long both groups keep their logs, in days (a value CloudWatch Logs accepts). */
  readonly retentionInDays: pulumi.Input<number>;
}

export interface Logs {
  /** `/<name>/commands`: what the sync and reconcile commands print on the worker. */
  readonly commandLogGroup: aws.cloudwatch.LogGroup;
  /** `/aws/lambda/<function name>`: the push trigger's decisions. */
  readonly functionLogGroup: aws.cloudwatch.LogGroup;
}

export function createLogs(name: string, args: LogsArgs, parent: pulumi.Resource): Logs {
  const commandLogGroup = new aws.cloudwatch.LogGroup(
    `${name}-command-logs`,
    { name: `/${name}/commands`, retentionInDays: args.retentionInDays },
    { parent },
  );
  const functionLogGroup = new aws.cloudwatch.LogGroup(
    `${name}-function-logs`,
    { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.retentionInDays },
    { parent },
  );
  return { commandLogGroup, functionLogGroup };
}

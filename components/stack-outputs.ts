/**
 * The stacks' outputs, as one table: every output each stack exports, with what it is. index.ts's
 * exported object is typed by it (a missing or extra output fails `tsc`), and the legacy stack's
 * StackReference reads the css outputs it needs by the names in it.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The css stack's outputs: name → what it is. */
export const CSS_OUTPUTS = {
  participant: "`source`: this stack builds the sync machinery.",
  sourceAccountId: "The css account: where images are pushed and the worker runs.",
  targetAccountId: "The legacy account, which images are copied to.",
  region: "The region of both registries and of every resource.",
  repositories: "The mapping: source repository name → target repository name.",
  targetRoleName: "The name of the legacy account's role the worker assumes.",
  targetRoleArn: "That role's ARN, computed from its name.",
  workerRoleArn: "The worker's role: the only principal the target role trusts.",
  workerInstanceId: "The worker instance, which commands are sent to.",
  workerInstanceArn:
    "The worker instance's ARN: the target role's trust admits the worker role only with this instance's credentials.",
  workerAmiId: "The AMI the worker was built from (a new release does not replace it).",
  workerSubnetId: "The worker's subnet.",
  copierBucketName: "The private bucket the copier's bundle is uploaded to, under copier/<sha256>.cjs.",
  copierSha256: "The sha256 of the copier the documents run (a preview shows a new copier here).",
  syncDocumentName: "The SSM document that copies one pushed image.",
  commandLogGroupName: "Where the sync and reconcile commands' output goes.",
  resultsLogGroupName:
    "Where the copier writes each result line as its own event (query it with Logs Insights).",
  functionName: "The push trigger (Lambda).",
  functionLogGroupName: "The push trigger's log group.",
  pushRuleName: "The EventBridge rule for tagged pushes to the mapped repositories.",
  reconcileDocumentName: "The SSM document that copies whatever the push events missed.",
  reconcileScheduleName: "The reconcile schedule; absent when the schedule is off.",
  commandFailedRuleName: "The EventBridge rule for sync and reconcile commands that ended badly.",
  alertTopicArn: "The SNS topic alerts go to.",
  dashboardUrl: "The CloudWatch dashboard: latency, copies, failures, heals, the worker's health.",
  deadLetterQueueUrl: "The queue of events nobody could act on.",
  backfillCommand: "The `aws ssm send-command` that starts a reconcile now.",
} as const;

/** The legacy stack's outputs: name → what it is. */
export const LEGACY_OUTPUTS = {
  participant: "`target`: this stack builds the role the worker assumes.",
  sourceStack: "The css stack this one reads from.",
  sourceAccountId: "The css account, which the target role trusts.",
  targetAccountId: "This (legacy) account.",
  region: "The region of the target repositories.",
  targetRoleArn: "The role the worker assumes to push.",
  targetRoleName: "Its name, as the css stack chose it.",
  trustedWorkerRoleArn: "The worker role the target role's trust policy admits, read from the css stack.",
  trustedWorkerInstanceArn:
    "The instance whose credentials the trust admits (ec2:SourceInstanceArn), read from the css stack.",
  targetRepositoryArns: "The repositories the target role may push to.",
} as const;

export type CssOutputName = keyof typeof CSS_OUTPUTS;
export type LegacyOutputName = keyof typeof LEGACY_OUTPUTS;

/** A stack's exported object: exactly the outputs of its table, each a value or an Output. */
export type StackOutputs<Name extends string> = { readonly [K in Name]: pulumi.Input<unknown> };

/** The css outputs the legacy stack reads through its StackReference. */
export const READ_BY_LEGACY = [
  "workerRoleArn",
  "workerInstanceArn",
  "targetRoleName",
  "targetAccountId",
  "repositories",
] as const satisfies readonly CssOutputName[];

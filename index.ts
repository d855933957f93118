/**
 * The ecr-sync program. One program, two stacks: `css` (participant `source`) builds the sync
 * machinery with SourceSync; `legacy` (participant `target`) builds the role the worker
 * assumes with TargetRole, reading what it needs from the css stack through a StackReference.
 * This is the only file that reads config or the StackReference; components/config.ts checks
 * every value.
 */
import * as pulumi from "@pulumi/pulumi";
import { bundleCopierSync } from "./ec2-scripts/bundle";
import { bundleHandler } from "./lambda/bundle";
import {
  checkSourceStackOutputs,
  parseStackConfig,
  rawStackConfig,
  SourceSettings,
  TargetSettings,
} from "./components/config";
import { roleArn } from "./components/arns";
import { SourceSync } from "./components/source-sync";
import { CssOutputName, LegacyOutputName, READ_BY_LEGACY, StackOutputs } from "./components/stack-outputs";
import { TargetRole } from "./components/target-role";

const settings = parseStackConfig(
  rawStackConfig(
    pulumi.runtime.allConfig(),
    `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  ),
);

function sourceStack(s: SourceSettings): StackOutputs<CssOutputName> {
  const targetRoleArn = roleArn(s.targetAccountId, s.targetRoleName);
  const sync = new SourceSync("ecr-sync", {
    repositories: s.repositories,
    accountId: s.accountId,
    region: s.region,
    targetAccountId: s.targetAccountId,
    targetRoleArn,
    copierBundle: bundleCopierSync(),
    pushTriggerSource: bundleHandler(),
    workerInstanceType: s.workerInstanceType,
    workerSubnetId: s.workerSubnetId,
    workerAmiParameter: s.workerAmiParameter,
    logRetentionDays: s.logRetentionDays,
    alertEmail: s.alertEmail,
    latencyAlarmSeconds: s.latencyAlarmSeconds,
    runbook: s.runbook,
    reconcileSchedule: s.reconcileSchedule,
    reconcileParallelism: s.reconcileParallelism,
    copyReferrers: s.copyReferrers,
  });
  return {
    participant: s.participant,
    sourceAccountId: s.sourceAccountId,
    targetAccountId: s.targetAccountId,
    region: s.region,
    repositories: s.repositories,
    targetRoleName: s.targetRoleName,
    targetRoleArn,
    workerRoleArn: sync.workerRoleArn,
    workerInstanceId: sync.workerInstanceId,
    workerInstanceArn: sync.workerInstanceArn,
    workerAmiId: sync.workerAmiId,
    workerSubnetId: sync.workerSubnetId,
    copierBucketName: sync.copierBucketName,
    copierSha256: sync.copierSha256,
    syncDocumentName: sync.syncDocumentName,
    commandLogGroupName: sync.commandLogGroupName,
    resultsLogGroupName: sync.resultsLogGroupName,
    functionName: sync.functionName,
    functionLogGroupName: sync.functionLogGroupName,
    pushRuleName: sync.pushRuleName,
    reconcileDocumentName: sync.reconcileDocumentName,
    reconcileScheduleName: sync.reconcileScheduleName,
    commandFailedRuleName: sync.commandFailedRuleName,
    alertTopicArn: sync.alertTopicArn,
    dashboardUrl: sync.dashboardUrl,
    deadLetterQueueUrl: sync.deadLetterQueueUrl,
    backfillCommand: sync.backfillCommand,
  };
}

function targetStack(s: TargetSettings): StackOutputs<LegacyOutputName> {
  const css = new pulumi.StackReference(s.sourceStack);
  const fromCss = pulumi
    .all(Object.fromEntries(READ_BY_LEGACY.map((output) => [output, css.requireOutput(output)])))
    .apply((outputs) => checkSourceStackOutputs(outputs, s));
  const role = new TargetRole("ecr-sync", {
    roleName: fromCss.targetRoleName,
    sourceAccountId: s.sourceAccountId,
    workerRoleArn: fromCss.workerRoleArn,
    workerInstanceArn: fromCss.workerInstanceArn,
    accountId: s.accountId,
    region: s.region,
    repositoryNames: fromCss.repositories.apply((map) => Object.values(map)),
  });
  return {
    participant: s.participant,
    sourceStack: s.sourceStack,
    sourceAccountId: s.sourceAccountId,
    targetAccountId: s.targetAccountId,
    region: s.region,
    targetRoleArn: role.roleArn,
    targetRoleName: role.roleName,
    trustedWorkerRoleArn: fromCss.workerRoleArn,
    trustedWorkerInstanceArn: fromCss.workerInstanceArn,
    targetRepositoryArns: role.repositoryArns,
  };
}

export = settings.participant === "source" ? sourceStack(settings) : targetStack(settings);

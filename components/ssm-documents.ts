/**
 * The two SSM Command documents on the worker: the sync document (one pushed image, sent by the
 * push trigger) and the reconcile document (every missing tag, sent by the schedule and by
 * operators). Both name the copier's bundle in S3 by its sha256 and carry its environment; their
 * content is built by components/document-content.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  buildReconcileDocument,
  buildSyncDocument,
  CommandDocument,
  CopierLocation,
  SyncEnvironment,
} from "./document-content";

export interface SsmDocumentsArgs {
  /** Source repository name → target repository name. */
  readonly repositories: pulumi.Input<Record<string, string>>;
  /** The css account: the source registry. */
  readonly accountId: pulumi.Input<string>;
  /** The legacy account: the target registry. */
  readonly targetAccountId: pulumi.Input<string>;
  /** The region of both registries. */
  readonly region: pulumi.Input<string>;
  /** The role the copier assumes to push. */
  readonly targetRoleArn: pulumi.Input<string>;
  /** The copier's bundle in S3 (bucket, sha256, region), once it is uploaded. */
  readonly copier: pulumi.Input<CopierLocation>;
  /** The log group the copier writes its result lines to (ECR_SYNC_RESULTS_LOG_GROUP). */
  readonly resultsLogGroupName: pulumi.Input<string>;
  /** How many missing tags a reconcile copies at a time; only the reconcile document exports it. */
  readonly reconcileParallelism: number;
  /** Whether an image's referrers travel with it; both documents export it. */
  readonly copyReferrers: boolean;
}

export interface SsmDocuments {
  /** `<name>-copy-image`: copies one pushed tag. */
  readonly syncDocument: aws.ssm.Document;
  /** `<name>-reconcile`: copies whatever the push events missed. */
  readonly reconcileDocument: aws.ssm.Document;
}

/** What the copier is told about its world: both registries, the role to assume, the mapping. */
export function syncEnvironment(a: {
  accountId: string;
  targetAccountId: string;
  region: string;
  targetRoleArn: string;
  repositories: Readonly<Record<string, string>>;
  resultsLogGroup: string;
  copyReferrers: boolean;
}): SyncEnvironment {
  return {
    sourceRegistry: `${a.accountId}.dkr.ecr.${a.region}.amazonaws.com`,
    targetRegistry: `${a.targetAccountId}.dkr.ecr.${a.region}.amazonaws.com`,
    targetRoleArn: a.targetRoleArn,
    region: a.region,
    repositories: a.repositories,
    resultsLogGroup: a.resultsLogGroup,
    copyReferrers: a.copyReferrers,
  };
}

export function createSsmDocuments(
  name: string,
  args: SsmDocumentsArgs,
  parent: pulumi.Resource,
): SsmDocuments {
  const environment = pulumi
    .all([
      args.accountId,
      args.targetAccountId,
      args.region,
      args.targetRoleArn,
      pulumi.output(args.repositories),
      args.resultsLogGroupName,
    ])
    .apply(([accountId, targetAccountId, region, targetRoleArn, repositories, resultsLogGroup]) =>
      syncEnvironment({
        accountId,
        targetAccountId,
        region,
        targetRoleArn,
        repositories,
        resultsLogGroup,
        copyReferrers: args.copyReferrers,
      }),
    );
  type Build = (a: { copier: CopierLocation; environment: SyncEnvironment }) => CommandDocument;
  const commandDocument = (resourceName: string, documentName: string, build: Build) =>
    new aws.ssm.Document(
      resourceName,
      {
        name: documentName,
        documentType: "Command",
        documentFormat: "JSON",
        targetType: "/AWS::EC2::Instance",
        content: pulumi
          .all([args.copier, environment])
          // Compact: SSM's 64 KiB limit counts the content as sent (buildCopierDocument checks this same text).
          .apply(([copier, env]) => JSON.stringify(build({ copier, environment: env }))),
      },
      { parent },
    );
  return {
    syncDocument: commandDocument(`${name}-sync-document`, `${name}-copy-image`, buildSyncDocument),
    // The same copier's `reconcile`. Its output goes to the same log group, which the worker's
    // policy already lets it write.
    reconcileDocument: commandDocument(`${name}-reconcile-document`, `${name}-reconcile`, (a) =>
      buildReconcileDocument({ ...a, reconcileParallelism: args.reconcileParallelism }),
    ),
  };
}

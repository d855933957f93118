/**
 * "Deploys" the rendered stacks into the twin's world, as far as moto can hold them: the ECR
 * repositories of the mapping in both accounts (and, empty, in the registries that stand in for
 * ECR's storage), every rendered IAM role with its trust and inline policies, the rendered rules
 * with their patterns, the rendered SSM documents, the copier's bucket with the bundle the stack
 * uploads (built here from ec2-scripts/copier, and refused unless its sha256 is the rendered
 * object's, as the push trigger's bundle is). What moto cannot run is stood in for, and
 * the stand-ins are listed in what this returns: the function (local/twin/trigger.ts runs its
 * bundle), the worker instance (local/twin/agent.ts), the schedule (the twin sends its input),
 * the alert topic (an SQS queue in its place as the rule's target).
 */
import {
  BucketLocationConstraint,
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { bundleCopier } from "../../ec2-scripts/bundle";
import { MotoApi } from "../moto-api";
import { TwinPlan } from "./plan";
import { deployRule, RuleQueue } from "../moto-rules";
import { createEmptyRepository, TwinWorld } from "./world";

export interface Deployment {
  readonly pushQueue: RuleQueue;
  readonly alertQueue: RuleQueue;
  /** One line per kind of thing deployed, for the progress output. */
  readonly summary: string[];
}

async function createRepository(api: MotoApi, name: string): Promise<void> {
  await api.json("ecr", "CreateRepository", { repositoryName: name, imageTagMutability: "MUTABLE" });
}

export async function deploy(plan: TwinPlan, world: TwinWorld): Promise<Deployment> {
  const source = await world.admin(plan.sourceAccount);
  const target = await world.admin(plan.targetAccount);
  const sourceRepositories = Object.keys(plan.repositories);
  const targetRepositories = Object.values(plan.repositories);
  await Promise.all([
    ...sourceRepositories.map((name) => createRepository(source, name)),
    ...targetRepositories.map((name) => createRepository(target, name)),
  ]);
  // One at a time: pushes from one OCI layout each rewrite its index.json.
  for (const name of sourceRepositories) await createEmptyRepository(world, world.css, name);
  for (const name of targetRepositories) await createEmptyRepository(world, world.legacy, name);

  for (const role of plan.roles) {
    const api = await world.admin(role.account);
    // moto checks the policy grammar here, as IAM does (MalformedPolicyDocument).
    await api.query("iam", "CreateRole", {
      RoleName: role.name,
      AssumeRolePolicyDocument: JSON.stringify(role.trust),
    });
    for (const policy of role.policies) {
      await api.query("iam", "PutRolePolicy", {
        RoleName: role.name,
        PolicyName: policy.name,
        PolicyDocument: JSON.stringify(policy.document),
      });
    }
  }

  await uploadCopier(plan, source);

  // The log groups the stack creates (with their retention, which moto does not need): the copier
  // writes its result lines to one, the agent the commands' output to another.
  for (const logGroupName of plan.logGroups) await source.json("logs", "CreateLogGroup", { logGroupName });

  for (const document of plan.documents) {
    await source.json("ssm", "CreateDocument", {
      Name: document.name,
      Content: document.content,
      DocumentType: document.documentType,
      DocumentFormat: document.documentFormat,
    });
  }

  const pushQueue = await deployRule(source, plan.pushRule, "push-trigger-stand-in");
  const alertQueue = await deployRule(source, plan.commandFailedRule, "alert-subscriber-stand-in", {
    InputPathsMap: plan.commandFailedRule.inputPathsMap,
    InputTemplate: plan.commandFailedRule.inputTemplate,
  });
  world.pushes.reset();
  return {
    pushQueue,
    alertQueue,
    summary: [
      `ECR repositories ${sourceRepositories.join(", ")} in ${plan.sourceAccount}; ${targetRepositories.join(", ")} in ${plan.targetAccount}`,
      `IAM roles ${plan.roles.map((r) => `${r.name} (${r.account}, ${r.policies.length} inline)`).join(", ")}`,
      `S3 bucket ${plan.copier.bucket} with the copier s3://${plan.copier.bucket}/${plan.copier.key} (${plan.copier.bytes} bytes)`,
      `log groups ${plan.logGroups.join(", ")}`,
      `SSM documents ${plan.documents.map((d) => d.name).join(", ")}`,
      `rules ${plan.pushRule.name} → push trigger stand-in queue, ${plan.commandFailedRule.name} → alert subscriber stand-in queue`,
    ],
  };
}

/** The copier's bucket in the css account, and the bundle at the rendered key: what `pulumi up` uploads. */
async function uploadCopier(plan: TwinPlan, source: MotoApi): Promise<void> {
  const bundle = await bundleCopier();
  if (bundle.sha256 !== plan.copier.sha256)
    throw new Error(
      `the copier bundled now has sha256 ${bundle.sha256}, the rendered stack uploads ${plan.copier.sha256}: render again`,
    );
  const s3 = new S3Client({
    endpoint: source.endpoint,
    region: plan.region,
    forcePathStyle: true,
    credentials: source.credentials,
  });
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: plan.copier.bucket,
        // us-east-1 takes no location constraint; every other region needs its own.
        ...(plan.region === "us-east-1"
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: plan.region as BucketLocationConstraint } }),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: plan.copier.bucket,
        Key: plan.copier.key,
        Body: bundle.code,
        ContentType: "application/javascript",
        ChecksumAlgorithm: "SHA256",
      }),
    );
  } finally {
    s3.destroy();
  }
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { repositoryArn } from "./arns";
import { targetRolePolicy, targetRoleTrustPolicy } from "./policies";

/**
 * The longest session the worker may ask for, in seconds: one hour, IAM's minimum and the session
 * the copier asks for (ec2-scripts/copier/limits.ts roleSessionSeconds, renewed before it ends;
 * test/unit/contracts.test.ts keeps the two equal). A longer bound would only lengthen the life of
 * credentials that leak.
 */
export const MAX_SESSION_DURATION_SECONDS = 3600;

export interface TargetRoleArgs {
  /** The role's name; deterministic, because the css stack computes its ARN from it. */
  readonly roleName: pulumi.Input<string>;
  /** The css account id: the trust policy's principal. */
  readonly sourceAccountId: pulumi.Input<string>;
  /** The worker role's ARN; the only principal the trust policy's condition admits. */
  readonly workerRoleArn: pulumi.Input<string>;
  /**
   * The worker instance's ARN; the trust admits the worker role only with credentials EC2
   * delivered to this instance (`ec2:SourceInstanceArn`).
   */
  readonly workerInstanceArn: pulumi.Input<string>;
  /** This (legacy) account's id, for the target repositories' ARNs. */
  readonly accountId: pulumi.Input<string>;
  /** This stack's region, for the target repositories' ARNs. */
  readonly region: pulumi.Input<string>;
  /**
   * The repositories the role may push to (the mapping's targets). They must exist: this stack does
   * not create them (docs/decisions/0012-legacy-repositories-checked.md; `npm run status -- --repositories`).
   */
  readonly repositoryNames: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The role in the legacy account that the css worker assumes to push images. It trusts the
 * css account with the condition `ArnEquals aws:PrincipalArn` = the worker role's ARN and
 * `ec2:SourceInstanceArn` = the worker instance's ARN, so only that role, with the credentials
 * of that instance, can assume it (a re-created worker role of the same name still can; a
 * replaced instance can once this stack has read its new ARN), and it may push only to the
 * mapped target repositories.
 */
export class TargetRole extends pulumi.ComponentResource {
  public readonly roleArn: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;
  public readonly repositoryArns: pulumi.Output<string[]>;

  constructor(name: string, args: TargetRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ecr-sync:index:TargetRole", name, {}, opts);

    this.repositoryArns = pulumi
      .all([args.accountId, args.region, args.repositoryNames])
      .apply(([accountId, region, names]) =>
        [...names].sort().map((n) => repositoryArn(accountId, region, n)),
      );

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description:
          "Assumed by the ecr-sync worker in the css account to push synced images into this account's ECR.",
        assumeRolePolicy: pulumi
          .all([args.sourceAccountId, args.workerRoleArn, args.workerInstanceArn])
          .apply(([sourceAccountId, workerRoleArn, workerInstanceArn]) =>
            JSON.stringify(targetRoleTrustPolicy({ sourceAccountId, workerRoleArn, workerInstanceArn })),
          ),
        maxSessionDuration: MAX_SESSION_DURATION_SECONDS,
      },
      { parent: this },
    );

    new aws.iam.RolePolicy(
      `${name}-push`,
      {
        role: role.name,
        policy: this.repositoryArns.apply((targetRepositoryArns) =>
          JSON.stringify(targetRolePolicy({ targetRepositoryArns })),
        ),
      },
      { parent: this },
    );

    this.roleArn = role.arn;
    this.roleName = role.name;
    this.registerOutputs({
      roleArn: this.roleArn,
      roleName: this.roleName,
      repositoryArns: this.repositoryArns,
    });
  }
}

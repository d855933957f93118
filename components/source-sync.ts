import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HANDLER_FILE_NAME, HANDLER_NAME, HANDLER_RUNTIME } from "../lambda/bundle";
import { CONFIG_VARIABLES } from "../lambda/config";
import { buildSyncDocument } from "./document";
import { pushEventPattern } from "./patterns";
import {
  lambdaPolicy,
  lambdaTrustPolicy,
  repositoryArn,
  workerPolicy,
  workerSsmAgentPolicy,
  workerTrustPolicy,
} from "./policies";
import { workerUserData } from "./user-data";

export interface SourceSyncArgs {
  /** Source repository name (this account) → target repository name (target account). */
  readonly repositories: pulumi.Input<Record<string, string>>;
  /** This (css) account's id: the source registry and the ARNs of its repositories. */
  readonly accountId: pulumi.Input<string>;
  /** The region of both registries and of everything this component creates. */
  readonly region: pulumi.Input<string>;
  /** The target (legacy) account's id: the target registry. */
  readonly targetAccountId: pulumi.Input<string>;
  /** The role in the target account that the worker assumes to push. */
  readonly targetRoleArn: pulumi.Input<string>;
  /** The text of ec2-scripts/ecr-sync.sh, carried inside the sync document. */
  readonly syncScript: pulumi.Input<string>;
  /** Where syncScript came from, for error messages. Default "ec2-scripts/ecr-sync.sh". */
  readonly syncScriptPath?: string;
  /** The push trigger's bundled CommonJS source (lambda/bundle.ts `bundleHandler()`). */
  readonly pushTriggerSource: pulumi.Input<string>;
  /** The worker's instance type. Default "t4g.small" (Graviton; matches the default AMI). */
  readonly workerInstanceType?: pulumi.Input<string>;
  /**
   * The worker's subnet; it needs a route to the AWS APIs and ECR over HTTPS. Default: the
   * default VPC's default subnet (lowest id) in an availability zone that offers the type.
   */
  readonly workerSubnetId?: pulumi.Input<string>;
  /** The public SSM parameter naming the worker's AMI. Default Debian 12 arm64. */
  readonly workerAmiParameter?: pulumi.Input<string>;
  /** The worker's root volume size in GiB. Default 20. */
  readonly workerVolumeGiB?: pulumi.Input<number>;
  /** Retention of the function's and the commands' log groups, in days. Default 90. */
  readonly logRetentionDays?: pulumi.Input<number>;
}

/**
 * Everything in the css account: an EventBridge rule for tagged pushes to the mapped
 * repositories → the push-trigger Lambda → SSM SendCommand of the sync document (which carries
 * ecr-sync.sh) → the worker instance, whose role may read only the mapped repositories and
 * assume only the target role.
 */
export class SourceSync extends pulumi.ComponentResource {
  public readonly workerRoleArn: pulumi.Output<string>;
  public readonly workerRoleName: pulumi.Output<string>;
  public readonly workerInstanceId: pulumi.Output<string>;
  public readonly workerAmiId: pulumi.Output<string>;
  public readonly workerSubnetId: pulumi.Output<string>;
  public readonly workerSecurityGroupId: pulumi.Output<string>;
  public readonly syncDocumentName: pulumi.Output<string>;
  public readonly syncDocumentArn: pulumi.Output<string>;
  public readonly commandLogGroupName: pulumi.Output<string>;
  public readonly commandLogGroupArn: pulumi.Output<string>;
  public readonly functionName: pulumi.Output<string>;
  public readonly functionArn: pulumi.Output<string>;
  public readonly functionLogGroupName: pulumi.Output<string>;
  public readonly pushRuleName: pulumi.Output<string>;
  public readonly pushRuleArn: pulumi.Output<string>;

  constructor(name: string, args: SourceSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ecr-sync:index:SourceSync", name, {}, opts);

    const instanceType = pulumi.output(args.workerInstanceType ?? "t4g.small");
    const amiParameter = args.workerAmiParameter ?? "/aws/service/debian/release/12/latest/arm64";
    const retentionInDays = args.logRetentionDays ?? 90;
    const repositories = pulumi.output(args.repositories);
    const sourceRepositoryNames = repositories.apply((map) => Object.keys(map).sort());
    const sourceRepositoryArns = pulumi
      .all([args.accountId, args.region, sourceRepositoryNames])
      .apply(([accountId, region, names]) => names.map((n) => repositoryArn(accountId, region, n)));

    // Logs: both groups are created here, with retention, before anything writes to them.
    const commandLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-command-logs`,
      { name: `/${name}/commands`, retentionInDays },
      { parent: this },
    );
    const functionName = `${name}-push-trigger`;
    const functionLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-function-logs`,
      { name: `/aws/lambda/${functionName}`, retentionInDays },
      { parent: this },
    );

    // The worker's identity. The role's name is fixed so that its ARN, which the target role's
    // trust condition names, survives a replacement of the role.
    const workerRole = new aws.iam.Role(
      `${name}-worker-role`,
      {
        name: `${name}-worker`,
        description: "The ecr-sync worker: pulls the mapped css repositories and assumes the legacy target role to push.",
        assumeRolePolicy: JSON.stringify(workerTrustPolicy()),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-worker-sync`,
      {
        role: workerRole.name,
        policy: pulumi
          .all([sourceRepositoryArns, args.targetRoleArn, commandLogGroup.arn])
          .apply(([arns, targetRoleArn, commandLogGroupArn]) =>
            JSON.stringify(workerPolicy({ sourceRepositoryArns: arns, targetRoleArn, commandLogGroupArn })),
          ),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-worker-ssm-agent`,
      { role: workerRole.name, policy: JSON.stringify(workerSsmAgentPolicy()) },
      { parent: this },
    );
    const instanceProfile = new aws.iam.InstanceProfile(
      `${name}-worker-profile`,
      { name: `${name}-worker`, role: workerRole.name },
      { parent: this },
    );

    // Where the worker runs.
    const subnetId =
      args.workerSubnetId !== undefined ? pulumi.output(args.workerSubnetId) : this.defaultSubnet(instanceType);
    const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, { parent: this });
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-worker-sg`,
      {
        name: `${name}-worker`,
        description: "ecr-sync worker: no inbound; HTTPS out to the AWS APIs, ECR and the package mirrors",
        vpcId: subnet.vpcId,
        ingress: [],
        egress: [
          { description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
        ],
        revokeRulesOnDelete: true,
      },
      { parent: this },
    );
    const ami = aws.ssm.getParameterOutput({ name: amiParameter }, { parent: this });
    const worker = new aws.ec2.Instance(
      `${name}-worker`,
      {
        ami: ami.value,
        instanceType,
        subnetId,
        vpcSecurityGroupIds: [securityGroup.id],
        iamInstanceProfile: instanceProfile.name,
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: "disabled",
        },
        rootBlockDevice: {
          volumeType: "gp3",
          volumeSize: args.workerVolumeGiB ?? 20,
          encrypted: true,
          deleteOnTermination: true,
        },
        userData: pulumi.output(args.region).apply(workerUserData),
        userDataReplaceOnChange: true,
        tags: { Name: `${name}-worker` },
      },
      // A new AMI release must not replace the worker on the next `pulumi up`; replacing it is
      // a deliberate step (docs/decisions/0001-worker-os.md, README "Replace the worker").
      { parent: this, ignoreChanges: ["ami"] },
    );

    // The sync document: ecr-sync.sh itself, its environment, and strict parameters.
    const syncDocumentName = `${name}-copy-image`;
    const syncDocument = new aws.ssm.Document(
      `${name}-sync-document`,
      {
        name: syncDocumentName,
        documentType: "Command",
        documentFormat: "JSON",
        targetType: "/AWS::EC2::Instance",
        content: pulumi
          .all([args.syncScript, args.accountId, args.targetAccountId, args.region, args.targetRoleArn, repositories])
          .apply(([script, accountId, targetAccountId, region, targetRoleArn, map]) =>
            JSON.stringify(
              buildSyncDocument({
                script,
                scriptPath: args.syncScriptPath ?? "ec2-scripts/ecr-sync.sh",
                environment: {
                  sourceRegistry: `${accountId}.dkr.ecr.${region}.amazonaws.com`,
                  targetRegistry: `${targetAccountId}.dkr.ecr.${region}.amazonaws.com`,
                  targetRoleArn,
                  region,
                  repositories: map,
                },
              }),
              null,
              2,
            ),
          ),
      },
      { parent: this },
    );

    // The push trigger.
    const functionRole = new aws.iam.Role(
      `${name}-function-role`,
      {
        name: functionName,
        description: "The ecr-sync push trigger: sends the sync document to the worker.",
        assumeRolePolicy: JSON.stringify(lambdaTrustPolicy()),
      },
      { parent: this },
    );
    const functionPolicy = new aws.iam.RolePolicy(
      `${name}-function-send-command`,
      {
        role: functionRole.name,
        policy: pulumi
          .all([syncDocument.arn, worker.arn, functionLogGroup.arn])
          .apply(([documentArn, instanceArn, logGroupArn]) =>
            JSON.stringify(lambdaPolicy({ documentArn, instanceArn, logGroupArn })),
          ),
      },
      { parent: this },
    );
    const pushTrigger = new aws.lambda.Function(
      `${name}-function`,
      {
        name: functionName,
        description: "Turns an ECR push to a mapped repository into one SSM command on the ecr-sync worker.",
        role: functionRole.arn,
        runtime: HANDLER_RUNTIME,
        handler: HANDLER_NAME,
        architectures: ["arm64"],
        memorySize: 256,
        timeout: 30,
        code: pulumi
          .output(args.pushTriggerSource)
          .apply(
            (source) => new pulumi.asset.AssetArchive({ [HANDLER_FILE_NAME]: new pulumi.asset.StringAsset(source) }),
          ),
        environment: {
          variables: {
            [CONFIG_VARIABLES.instanceId]: worker.id,
            [CONFIG_VARIABLES.documentName]: syncDocument.name,
            [CONFIG_VARIABLES.repositoryMap]: repositories.apply((map) => JSON.stringify(map)),
            [CONFIG_VARIABLES.logGroupName]: commandLogGroup.name,
          },
        },
        loggingConfig: { logFormat: "Text", logGroup: functionLogGroup.name },
      },
      { parent: this, dependsOn: [functionPolicy] },
    );

    const pushRule = new aws.cloudwatch.EventRule(
      `${name}-push-rule`,
      {
        name: `${name}-push`,
        description: "A successful, tagged push to a mapped css ECR repository.",
        eventPattern: sourceRepositoryNames.apply((names) => JSON.stringify(pushEventPattern(names))),
      },
      { parent: this },
    );
    new aws.lambda.Permission(
      `${name}-push-permission`,
      {
        function: pushTrigger.name,
        action: "lambda:InvokeFunction",
        principal: "events.amazonaws.com",
        sourceArn: pushRule.arn,
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-push-target`,
      { rule: pushRule.name, targetId: "push-trigger", arn: pushTrigger.arn },
      { parent: this },
    );

    this.workerRoleArn = workerRole.arn;
    this.workerRoleName = workerRole.name;
    this.workerInstanceId = worker.id;
    this.workerAmiId = worker.ami;
    this.workerSubnetId = worker.subnetId;
    this.workerSecurityGroupId = securityGroup.id;
    this.syncDocumentName = syncDocument.name;
    this.syncDocumentArn = syncDocument.arn;
    this.commandLogGroupName = commandLogGroup.name;
    this.commandLogGroupArn = commandLogGroup.arn;
    this.functionName = pushTrigger.name;
    this.functionArn = pushTrigger.arn;
    this.functionLogGroupName = functionLogGroup.name;
    this.pushRuleName = pushRule.name;
    this.pushRuleArn = pushRule.arn;
    this.registerOutputs({
      workerRoleArn: this.workerRoleArn,
      workerRoleName: this.workerRoleName,
      workerInstanceId: this.workerInstanceId,
      workerAmiId: this.workerAmiId,
      workerSubnetId: this.workerSubnetId,
      workerSecurityGroupId: this.workerSecurityGroupId,
      syncDocumentName: this.syncDocumentName,
      syncDocumentArn: this.syncDocumentArn,
      commandLogGroupName: this.commandLogGroupName,
      commandLogGroupArn: this.commandLogGroupArn,
      functionName: this.functionName,
      functionArn: this.functionArn,
      functionLogGroupName: this.functionLogGroupName,
      pushRuleName: this.pushRuleName,
      pushRuleArn: this.pushRuleArn,
    });
  }

  /**
   * The default VPC's default subnet with the lowest id among the availability zones that offer
   * the instance type: deterministic, so running `pulumi up` again never moves the worker.
   */
  private defaultSubnet(instanceType: pulumi.Output<string>): pulumi.Output<string> {
    const offerings = aws.ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [instanceType] }] },
      { parent: this },
    );
    const subnets = aws.ec2.getSubnetsOutput(
      {
        filters: [
          { name: "default-for-az", values: ["true"] },
          { name: "availability-zone", values: offerings.locations },
        ],
      },
      { parent: this },
    );
    return pulumi.all([subnets.ids, instanceType]).apply(([ids, type]) => {
      if (ids.length === 0) {
        throw new Error(
          `no default-VPC subnet in an availability zone that offers ${type}: give the worker a subnet (config ecr-sync:workerSubnetId)`,
        );
      }
      return [...ids].sort()[0];
    });
  }
}

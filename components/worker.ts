/**
 * The worker: the instance that runs the copier (ec2-scripts/copier, fetched by the SSM documents), its identity (role, inline policies, instance
 * profile) and where it runs (subnet, security group). Nothing reaches it from outside; commands
 * arrive through SSM, which the agent on the instance polls over HTTPS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  SSM_AGENT_UPDATE_DOCUMENT,
  workerPolicy,
  workerSsmAgentPolicy,
  workerTelemetryPolicy,
  workerTrustPolicy,
} from "./policies";
import { WORKER_DEBIAN } from "../common/worker-os";
import { workerUserData } from "./user-data";

/**
 * The root volume's size, gp3 and encrypted. A fixed value, not an option: no stack has needed
 * another size, and an option nothing sets is one nobody tests. The worker keeps no images of its
 * own (skopeo copies registry to registry), so this is room for the OS, the packages and the logs.
 */
export const WORKER_VOLUME_GIB = 20;

/**
 * When State Manager brings the worker's SSM agent up to date (AWS-UpdateSSMAgent): once when the
 * association is made (as soon as the agent registers), then weekly on Sunday at 05:00 UTC, a quiet
 * hour for the copies. The agent does not update itself (its SelfUpdate setting is off by default).
 * An update restarts the agent; a command that waits meanwhile runs after it, within its delivery
 * timeout; a reconcile it interrupts ends as failed and the next one heals (docs/runbook.md#failed-command).
 */
export const SSM_AGENT_UPDATE_SCHEDULE = "cron(0 5 ? * SUN *)";

/**
 * The worker instance's resource name carries its Debian release. The instance ignores changes to
 * its AMI (below), and Pulumi keeps an ignored input's old value even when it replaces a resource
 * (pulumi/pulumi#2657: the engine puts the old inputs into the goal), so a replacement alone would
 * relaunch the old release's image. A new release is a new resource instead: `pulumi up` creates it
 * from the current image of the new release's parameter, then deletes the old worker.
 */
export function workerInstanceName(name: string): string {
  return `${name}-worker-debian${WORKER_DEBIAN.version}`;
}

export interface WorkerArgs {
  /** The instance type (its architecture must match the AMI's). */
  readonly instanceType: pulumi.Input<string>;
  /** The subnet; `undefined`: the default VPC's default subnet (see `defaultSubnet`). */
  readonly subnetId: pulumi.Input<string> | undefined;
  /** The public SSM parameter naming the AMI. */
  readonly amiParameter: pulumi.Input<string>;
  /** The region, written into the first-boot script. */
  readonly region: pulumi.Input<string>;
  /** The mapped source repositories, which the worker may pull. */
  readonly sourceRepositoryArns: pulumi.Input<string[]>;
  /** The role in the target account that the worker may assume. */
  readonly targetRoleArn: pulumi.Input<string>;
  /** The log group the commands' output goes to. */
  readonly commandLogGroupArn: pulumi.Input<string>;
  /** The log group the copier writes its result lines to, one per event. */
  readonly resultsLogGroupArn: pulumi.Input<string>;
  /** The bucket the copier is uploaded to: the worker may read its `copier/` prefix. */
  readonly copierBucketName: pulumi.Input<string>;
}

export interface Worker {
  readonly role: aws.iam.Role;
  readonly instance: aws.ec2.Instance;
  readonly securityGroup: aws.ec2.SecurityGroup;
}

export function createWorker(name: string, args: WorkerArgs, parent: pulumi.Resource): Worker {
  const instanceType = pulumi.output(args.instanceType);

  // The role's name is fixed so that its ARN, which the target role's trust condition names,
  // survives a replacement of the role.
  const role = new aws.iam.Role(
    `${name}-worker-role`,
    {
      name: `${name}-worker`,
      description:
        "The ecr-sync worker: pulls the mapped css repositories and assumes the legacy target role to push.",
      assumeRolePolicy: JSON.stringify(workerTrustPolicy()),
    },
    { parent },
  );
  new aws.iam.RolePolicy(
    `${name}-worker-sync`,
    {
      role: role.name,
      policy: pulumi
        .all([args.sourceRepositoryArns, args.targetRoleArn, args.commandLogGroupArn, args.copierBucketName])
        .apply(([arns, targetRoleArn, commandLogGroupArn, copierBucketName]) =>
          JSON.stringify(
            workerPolicy({ sourceRepositoryArns: arns, targetRoleArn, commandLogGroupArn, copierBucketName }),
          ),
        ),
    },
    { parent },
  );
  new aws.iam.RolePolicy(
    `${name}-worker-telemetry`,
    {
      role: role.name,
      policy: pulumi
        .output(args.resultsLogGroupArn)
        .apply((resultsLogGroupArn) => JSON.stringify(workerTelemetryPolicy({ resultsLogGroupArn }))),
    },
    { parent },
  );
  new aws.iam.RolePolicy(
    `${name}-worker-ssm-agent`,
    { role: role.name, policy: JSON.stringify(workerSsmAgentPolicy()) },
    { parent },
  );
  const instanceProfile = new aws.iam.InstanceProfile(
    `${name}-worker-profile`,
    { name: `${name}-worker`, role: role.name },
    { parent },
  );

  const subnetId =
    args.subnetId !== undefined ? pulumi.output(args.subnetId) : defaultSubnet(instanceType, parent);
  const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, { parent });
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
    { parent },
  );
  const ami = aws.ssm.getParameterOutput({ name: args.amiParameter }, { parent });
  const instance = new aws.ec2.Instance(
    workerInstanceName(name),
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
        volumeSize: WORKER_VOLUME_GIB,
        encrypted: true,
        deleteOnTermination: true,
      },
      userData: pulumi.output(args.region).apply(workerUserData),
      userDataReplaceOnChange: true,
      tags: { Name: `${name}-worker` },
    },
    // A new AMI release must not replace the worker on the next `pulumi up`; replacing it is
    // a deliberate step (docs/decisions/0001-worker-os.md, docs/runbook.md#replace-the-worker).
    { parent, ignoreChanges: ["ami"] },
  );
  new aws.ssm.Association(
    `${name}-worker-agent-update`,
    {
      name: SSM_AGENT_UPDATE_DOCUMENT,
      associationName: `${name}-worker-agent-update`,
      targets: [{ key: "InstanceIds", values: [instance.id] }],
      scheduleExpression: SSM_AGENT_UPDATE_SCHEDULE,
    },
    { parent },
  );
  return { role, instance, securityGroup };
}

/**
 * The default VPC's default subnet with the lowest id among the availability zones that offer
 * the instance type: deterministic, so running `pulumi up` again never moves the worker.
 */
function defaultSubnet(instanceType: pulumi.Output<string>, parent: pulumi.Resource): pulumi.Output<string> {
  const offerings = aws.ec2.getInstanceTypeOfferingsOutput(
    { locationType: "availability-zone", filters: [{ name: "instance-type", values: [instanceType] }] },
    { parent },
  );
  const subnets = aws.ec2.getSubnetsOutput(
    {
      filters: [
        { name: "default-for-az", values: ["true"] },
        { name: "availability-zone", values: offerings.locations },
      ],
    },
    { parent },
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

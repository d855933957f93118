/**
 * What the deploy roles may do: one table of every action `pulumi up`, `preview`, `refresh` and
 * `destroy` call for each resource type and data source (invoke) the stacks render, and the
 * function that turns it into a stack's least-privilege deploy policy. `npm run -s synth -- --stack
 * css --deploy-policy` prints it (scripts/synth-deploy-policy.ts); docs/security.md#ci-roles says
 * where it goes. A rendered type without an entry here is an error, in synth and in
 * test/unit/deploy-policy.test.ts.
 *
 * Where the actions come from. @pulumi/aws 7 runs the Terraform AWS provider (v6), so the calls are
 * those of its resource code in hashicorp/terraform-provider-aws, `internal/service/<service>/…go`
 * (named per entry): create, then the read that follows every create and update (tags, attributes),
 * update, delete and the waiters in between. Which resource each action acts on, and which actions
 * take none (and so need Resource "*"), is the Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 * (the same data @cloud-copilot/iam-simulate checks every request against in the test).
 *
 * Not here: the Pulumi state backend's permissions (docs/security.md#the-state-bucket), and
 * sts:GetCallerIdentity, which the provider calls to check aws:allowedAccountIds and which needs no
 * permission. The service-linked role AWSServiceRoleForCloudWatchEvents, which the worker's
 * recover alarm needs, is a prerequisite an administrator creates once (docs/operations.md): the
 * deploy roles never get iam:CreateServiceLinkedRole.
 */
import { sortedUnique } from "./arns";
import { ConditionBlock, PolicyDocument, PolicyStatement } from "./policies";

/** Where a stack deploys, and how it names what it creates. */
export interface DeployScope {
  /** The stack's account (its aws:allowedAccountIds). */
  readonly account: string;
  /** The stack's region (aws:region). */
  readonly region: string;
  /** What the stack's resource names start with: the component's name, e.g. "ecr-sync". */
  readonly namePrefix: string;
}

/** The stack's names: `ecr-sync-…`. */
const dashed = (base: string, { namePrefix }: DeployScope) => `${base}${namePrefix}-*`;
/** The stack's names, and the bare prefix that a few of them are (the dashboard, the schedule group). */
const prefixed = (base: string, s: DeployScope) => [`${base}${s.namePrefix}`, dashed(base, s)];

/**
 * The ARNs each kind of resource a grant acts on may have, in the stack's account and region.
 * Named resources are scoped to the stack's names. EC2 names its resources by id, unknown until
 * they exist, so the EC2 kinds cover the account and region; where the resource carries the stack's
 * Name tag (the instance), the grants that change it are also conditioned on that tag.
 */
export const RESOURCE_ARNS = {
  role: (s: DeployScope) => [dashed(`arn:aws:iam::${s.account}:role/`, s)],
  instanceProfile: (s: DeployScope) => [dashed(`arn:aws:iam::${s.account}:instance-profile/`, s)],
  /** `/<prefix>/…` and the push trigger's `/aws/lambda/<prefix>-…` (with or without `:*`). */
  logGroup: (s: DeployScope) => [
    `arn:aws:logs:${s.region}:${s.account}:log-group:/${s.namePrefix}/*`,
    dashed(`arn:aws:logs:${s.region}:${s.account}:log-group:/aws/lambda/`, s),
  ],
  sqsQueue: (s: DeployScope) => [dashed(`arn:aws:sqs:${s.region}:${s.account}:`, s)],
  /** The topic, and its subscriptions (`<topic ARN>:<id>`). */
  snsTopic: (s: DeployScope) => [dashed(`arn:aws:sns:${s.region}:${s.account}:`, s)],
  eventRule: (s: DeployScope) => [dashed(`arn:aws:events:${s.region}:${s.account}:rule/`, s)],
  lambdaFunction: (s: DeployScope) => [dashed(`arn:aws:lambda:${s.region}:${s.account}:function:`, s)],
  ssmDocument: (s: DeployScope) => [dashed(`arn:aws:ssm:${s.region}:${s.account}:document/`, s)],
  alarm: (s: DeployScope) => [dashed(`arn:aws:cloudwatch:${s.region}:${s.account}:alarm:`, s)],
  /** Dashboards are global: no region in the ARN. */
  dashboard: (s: DeployScope) => prefixed(`arn:aws:cloudwatch::${s.account}:dashboard/`, s),
  scheduleGroup: (s: DeployScope) =>
    prefixed(`arn:aws:scheduler:${s.region}:${s.account}:schedule-group/`, s),
  /** schedule/GROUP/NAME, in the stack's groups. */
  schedule: (s: DeployScope) =>
    prefixed(`arn:aws:scheduler:${s.region}:${s.account}:schedule/`, s).map((group) => `${group}/*`),
  instance: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:instance/*`],
  volume: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:volume/*`],
  networkInterface: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:network-interface/*`],
  securityGroup: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:security-group/*`],
  subnet: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:subnet/*`],
  vpc: (s: DeployScope) => [`arn:aws:ec2:${s.region}:${s.account}:vpc/*`],
  /** The worker's AMI: a public image, owned by another account (Debian's), so no account here. */
  image: (s: DeployScope) => [`arn:aws:ec2:${s.region}::image/*`],
  /** AWS's public parameters (the AMI's): AWS owns them, so the account field is empty. */
  publicParameter: (s: DeployScope) => [`arn:aws:ssm:${s.region}::parameter/aws/service/*`],
  /** The AWS-owned document a State Manager association runs to update the SSM agent. */
  ssmAgentUpdateDocument: (s: DeployScope) => [`arn:aws:ssm:${s.region}::document/AWS-UpdateSSMAgent`],
  /** Associations are named by an id AWS assigns. */
  association: (s: DeployScope) => [`arn:aws:ssm:${s.region}:${s.account}:association/*`],
  /**
   * The copier's bucket, autonamed `<prefix>-copier-<suffix>`. S3 ARNs carry no account, and bucket
   * names are global: the grants on buckets and objects are also conditioned on the bucket's owner
   * (inStackAccount), so a same-named bucket of another account is not the stack's.
   */
  s3Bucket: (s: DeployScope) => [dashed("arn:aws:s3:::", s)],
  /** The objects in it (the copier's bundles). */
  s3Object: (s: DeployScope) => [`${dashed("arn:aws:s3:::", s)}/*`],
};

/** A kind of the stack's resources (RESOURCE_ARNS), or "*": actions that take no resource at all. */
export type ResourceKind = keyof typeof RESOURCE_ARNS | "*";

/** The conditions a grant may carry. */
export const CONDITIONS = {
  /** The resource carries the stack's Name tag: for EC2, whose ARNs cannot name it. */
  nameTagged: (s: DeployScope): ConditionBlock => ({
    StringLike: { "aws:ResourceTag/Name": `${s.namePrefix}-*` },
  }),
  /** The new resource is tagged with the stack's Name in the same request. */
  launchedWithName: (s: DeployScope): ConditionBlock => ({
    StringLike: { "aws:RequestTag/Name": `${s.namePrefix}-*` },
  }),
  /** Tags written by the call that creates the resource (RunInstances' TagSpecifications), nothing else. */
  taggedAtLaunch: (): ConditionBlock => ({ StringEquals: { "ec2:CreateAction": "RunInstances" } }),
  /**
   * The resource belongs to the stack's account: for S3, whose ARNs name none. aws:ResourceAccount
   * is the account that owns the bucket (IAM user guide, "AWS global condition context keys").
   */
  inStackAccount: (s: DeployScope): ConditionBlock => ({
    StringEquals: { "aws:ResourceAccount": s.account },
  }),
};
export type ConditionName = keyof typeof CONDITIONS;

/** The steps of a resource's life whose API calls a grant lists. */
export const PHASES = ["create", "read", "update", "delete"] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Actions on one set of resources: what creating, reading (after every create and update, and on
 * refresh), updating and deleting a resource of the type calls. An action the provider calls in
 * several phases is listed in each.
 */
export type Grant = { readonly [P in Phase]?: readonly string[] } & {
  /** What the actions act on. "*" only alone, and only for actions that take no resource. */
  readonly on: readonly ResourceKind[];
  /** When the actions are allowed; default: always. */
  readonly when?: ConditionName;
};

/**
 * Pulumi type token (resource, component, or invoke) → the grants `pulumi up`, `preview`, `refresh`
 * and `destroy` need for it. Components and the StackReference call no AWS API: an empty list.
 */
export const DEPLOY_PERMISSIONS: Readonly<Record<string, readonly Grant[]>> = {
  // Components register no cloud resource; a StackReference reads the backend's state, not AWS.
  "ecr-sync:index:SourceSync": [],
  "ecr-sync:index:TargetRole": [],
  "pulumi:pulumi:StackReference": [],

  // Data sources: what preview needs beyond state (ssm/parameter_data_source.go,
  // ec2/vpc_subnet_data_source.go, vpc_subnets_data_source.go, ec2_instance_type_offerings_data_source.go).
  "aws:ssm/getParameter:getParameter": [{ read: ["ssm:GetParameter"], on: ["publicParameter"] }],
  "aws:ec2/getSubnet:getSubnet": [{ read: ["ec2:DescribeSubnets"], on: ["*"] }],
  "aws:ec2/getSubnets:getSubnets": [{ read: ["ec2:DescribeSubnets"], on: ["*"] }],
  "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": [
    { read: ["ec2:DescribeInstanceTypeOfferings"], on: ["*"] },
  ],

  // iam/role.go: the read lists the inline and attached policies; delete first takes the role out of
  // its instance profiles.
  "aws:iam/role:Role": [
    {
      create: ["iam:CreateRole", "iam:GetRole"],
      read: [
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRoleTags",
      ],
      update: [
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
      ],
      delete: ["iam:ListInstanceProfilesForRole", "iam:DeleteRole"],
      on: ["role"],
    },
    { delete: ["iam:RemoveRoleFromInstanceProfile"], on: ["instanceProfile"] },
  ],
  // iam/role_policy.go.
  "aws:iam/rolePolicy:RolePolicy": [
    {
      create: ["iam:PutRolePolicy"],
      read: ["iam:GetRolePolicy"],
      update: ["iam:PutRolePolicy"],
      delete: ["iam:DeleteRolePolicy"],
      on: ["role"],
    },
  ],
  // iam/instance_profile.go. "The caller of this operation must be granted the PassRole permission
  // on the IAM role" (IAM API reference, AddRoleToInstanceProfile).
  "aws:iam/instanceProfile:InstanceProfile": [
    {
      create: ["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:GetInstanceProfile"],
      read: ["iam:GetInstanceProfile", "iam:ListInstanceProfileTags"],
      update: [
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:TagInstanceProfile",
        "iam:UntagInstanceProfile",
      ],
      delete: ["iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
      on: ["instanceProfile"],
    },
    { create: ["iam:PassRole"], update: ["iam:PassRole"], on: ["role"] },
  ],

  // ec2/vpc_security_group.go: create revokes the default allow-all egress and authorises the
  // stack's rules; delete looks for network interfaces still using it, then revokes the rules
  // (revokeRulesOnDelete) and deletes. The group has no tag, so nothing narrows it below the account.
  "aws:ec2/securityGroup:SecurityGroup": [
    {
      create: [
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupEgress",
      ],
      update: [
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
      ],
      delete: ["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
      on: ["securityGroup"],
    },
    { create: ["ec2:CreateSecurityGroup"], on: ["vpc"] },
    {
      read: ["ec2:DescribeSecurityGroups"],
      delete: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroupRules"],
      on: ["*"],
    },
  ],
  // ec2/ec2_instance.go. Create: RunInstances with the instance profile (so iam:PassRole on its role)
  // and the Name tag in its TagSpecifications; DescribeImages for the AMI's root device. The read
  // after it: the instance, its type (credit specification of a burstable type), its attributes
  // (user data, API termination and stop, shutdown behaviour) and its root volume. Update: the
  // metadata options, user data and type (stop, modify, start), the root volume, the security
  // groups (on the primary network interface). Delete: API termination off, then terminate. The
  // encrypted root volume uses the account's default EBS key: the AWS managed aws/ebs key needs no
  // grant here; a customer managed default key would need its kms: actions added.
  "aws:ec2/instance:Instance": [
    { create: ["ec2:RunInstances"], on: ["image", "subnet", "networkInterface", "securityGroup", "volume"] },
    { create: ["ec2:RunInstances"], on: ["instance"], when: "launchedWithName" },
    { create: ["ec2:CreateTags"], on: ["instance"], when: "taggedAtLaunch" },
    { create: ["iam:PassRole"], on: ["role"] },
    {
      read: ["ec2:DescribeInstanceAttribute"],
      update: [
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyInstanceMetadataOptions",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
      ],
      delete: ["ec2:ModifyInstanceAttribute", "ec2:TerminateInstances"],
      on: ["instance"],
      when: "nameTagged",
    },
    { update: ["ec2:ModifyVolume"], on: ["volume"] },
    { update: ["ec2:ModifyNetworkInterfaceAttribute"], on: ["networkInterface", "securityGroup"] },
    {
      create: ["ec2:DescribeImages", "ec2:DescribeInstances"],
      read: [
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstanceCreditSpecifications",
        "ec2:DescribeVolumes",
      ],
      update: ["ec2:DescribeVolumesModifications"],
      delete: ["ec2:DescribeInstances"],
      on: ["*"],
    },
  ],

  // ssm/document.go: the read describes the document, gets its content and its sharing.
  "aws:ssm/document:Document": [
    {
      create: ["ssm:CreateDocument", "ssm:DescribeDocument"],
      read: [
        "ssm:DescribeDocument",
        "ssm:GetDocument",
        "ssm:DescribeDocumentPermission",
        "ssm:ListTagsForResource",
      ],
      update: [
        "ssm:UpdateDocument",
        "ssm:UpdateDocumentDefaultVersion",
        "ssm:AddTagsToResource",
        "ssm:RemoveTagsFromResource",
      ],
      delete: ["ssm:DeleteDocument", "ssm:DescribeDocument"],
      on: ["ssmDocument"],
    },
  ],
  // ssm/association.go: a State Manager association running AWS-UpdateSSMAgent on the worker.
  // CreateAssociation and UpdateAssociation are authorised against the association, the document
  // and the target instance.
  "aws:ssm/association:Association": [
    {
      create: ["ssm:CreateAssociation"],
      read: ["ssm:DescribeAssociation", "ssm:ListTagsForResource"],
      update: ["ssm:UpdateAssociation", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
      delete: ["ssm:DeleteAssociation"],
      on: ["association", "ssmAgentUpdateDocument", "instance"],
    },
  ],

  // The copier's bucket (components/copier-artifact.ts). s3/bucket.go: create, then the read that
  // follows every create and refresh, one Get per bucket setting the resource reports (HeadBucket is
  // authorised as s3:ListBucket); tags; delete, which with forceDestroy first empties the bucket,
  // every object version (ListObjectVersions is s3:ListBucketVersions, DeleteObjects is s3:DeleteObject
  // and s3:DeleteObjectVersion). S3's action names differ from its API's: Service Authorization
  // Reference, "Actions defined by Amazon S3".
  "aws:s3/bucket:Bucket": [
    {
      create: ["s3:CreateBucket", "s3:ListBucket"],
      read: [
        "s3:ListBucket",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLocation",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPolicy",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetAccelerateConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
      ],
      update: ["s3:PutBucketTagging"],
      delete: ["s3:ListBucketVersions", "s3:DeleteBucket"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
    { delete: ["s3:DeleteObject", "s3:DeleteObjectVersion"], on: ["s3Object"], when: "inStackAccount" },
  ],
  // s3/bucket_public_access_block.go: DeletePublicAccessBlock is authorised as s3:PutBucketPublicAccessBlock.
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [
    {
      create: ["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
      read: ["s3:GetBucketPublicAccessBlock"],
      update: ["s3:PutBucketPublicAccessBlock"],
      delete: ["s3:PutBucketPublicAccessBlock"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/bucket_ownership_controls.go: DeleteBucketOwnershipControls is s3:PutBucketOwnershipControls.
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [
    {
      create: ["s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"],
      read: ["s3:GetBucketOwnershipControls"],
      update: ["s3:PutBucketOwnershipControls"],
      delete: ["s3:PutBucketOwnershipControls"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/bucket_server_side_encryption_configuration.go: Put/Get/DeleteBucketEncryption are
  // s3:PutEncryptionConfiguration and s3:GetEncryptionConfiguration.
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
    {
      create: ["s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"],
      read: ["s3:GetEncryptionConfiguration"],
      update: ["s3:PutEncryptionConfiguration"],
      delete: ["s3:PutEncryptionConfiguration"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/bucket_versioning.go: delete suspends versioning (PutBucketVersioning).
  "aws:s3/bucketVersioning:BucketVersioning": [
    {
      create: ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
      read: ["s3:GetBucketVersioning"],
      update: ["s3:PutBucketVersioning"],
      delete: ["s3:PutBucketVersioning"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/bucket_lifecycle_configuration.go: Put/Get/DeleteBucketLifecycle(Configuration) are
  // s3:PutLifecycleConfiguration and s3:GetLifecycleConfiguration.
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": [
    {
      create: ["s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"],
      read: ["s3:GetLifecycleConfiguration"],
      update: ["s3:PutLifecycleConfiguration"],
      delete: ["s3:PutLifecycleConfiguration"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/bucket_policy.go.
  "aws:s3/bucketPolicy:BucketPolicy": [
    {
      create: ["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
      read: ["s3:GetBucketPolicy"],
      update: ["s3:PutBucketPolicy"],
      delete: ["s3:DeleteBucketPolicy"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],
  // s3/object.go (aws_s3_object): PutObject with its SHA-256 checksum; the read is HeadObject
  // (s3:GetObject) and the object's tags; the bucket's region is found with HeadBucket (s3:ListBucket).
  // Delete, in a versioned bucket, removes every version of the key. The stack keeps replaced bundles
  // (retainOnDelete), so only a destroy of the bucket deletes them, through the bucket's grant.
  "aws:s3/bucketObjectv2:BucketObjectv2": [
    {
      create: ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging"],
      read: ["s3:GetObject", "s3:GetObjectTagging"],
      update: ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObjectTagging"],
      delete: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
      on: ["s3Object"],
      when: "inStackAccount",
    },
    {
      create: ["s3:ListBucket"],
      read: ["s3:ListBucket"],
      delete: ["s3:ListBucketVersions"],
      on: ["s3Bucket"],
      when: "inStackAccount",
    },
  ],

  // lambda/function.go: the read lists the versions (for the qualified ARN) and reads the code
  // signing config; CreateFunction passes the function's role.
  "aws:lambda/function:Function": [
    {
      create: ["lambda:CreateFunction", "lambda:GetFunction"],
      read: [
        "lambda:GetFunction",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListTags",
      ],
      update: [
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunction",
        "lambda:TagResource",
        "lambda:UntagResource",
      ],
      delete: ["lambda:DeleteFunction", "lambda:GetFunction"],
      on: ["lambdaFunction"],
    },
    { create: ["iam:PassRole"], update: ["iam:PassRole"], on: ["role"] },
  ],
  // lambda/permission.go: the read is the function's resource policy.
  "aws:lambda/permission:Permission": [
    {
      create: ["lambda:AddPermission"],
      read: ["lambda:GetPolicy"],
      delete: ["lambda:RemovePermission"],
      on: ["lambdaFunction"],
    },
  ],
  // lambda/function_event_invoke_config.go.
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": [
    {
      create: ["lambda:PutFunctionEventInvokeConfig"],
      read: ["lambda:GetFunctionEventInvokeConfig"],
      update: ["lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig"],
      delete: ["lambda:DeleteFunctionEventInvokeConfig"],
      on: ["lambdaFunction"],
    },
  ],

  // events/rule.go (tags read with ListTagsForResource).
  "aws:cloudwatch/eventRule:EventRule": [
    {
      create: ["events:PutRule", "events:DescribeRule"],
      read: ["events:DescribeRule", "events:ListTagsForResource"],
      update: ["events:PutRule", "events:TagResource", "events:UntagResource"],
      delete: ["events:DeleteRule"],
      on: ["eventRule"],
    },
  ],
  // events/target.go. The stack's targets (a function, a topic) take no role, so no iam:PassRole.
  "aws:cloudwatch/eventTarget:EventTarget": [
    {
      create: ["events:PutTargets"],
      read: ["events:ListTargetsByRule"],
      update: ["events:PutTargets", "events:RemoveTargets"],
      delete: ["events:RemoveTargets"],
      on: ["eventRule"],
    },
  ],

  // logs/group.go: the read is DescribeLogGroups by name prefix, which takes no resource.
  "aws:cloudwatch/logGroup:LogGroup": [
    {
      create: ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
      read: ["logs:ListTagsForResource"],
      update: [
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
      ],
      delete: ["logs:DeleteLogGroup"],
      on: ["logGroup"],
    },
    { read: ["logs:DescribeLogGroups"], on: ["*"] },
  ],
  // logs/metric_filter.go: authorised against the log group.
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": [
    {
      create: ["logs:PutMetricFilter"],
      read: ["logs:DescribeMetricFilters"],
      update: ["logs:PutMetricFilter"],
      delete: ["logs:DeleteMetricFilter"],
      on: ["logGroup"],
    },
  ],
  // cloudwatch/metric_alarm.go. An alarm with an EC2 action (the worker's recover alarm) needs the
  // service-linked role AWSServiceRoleForCloudWatchEvents; PutMetricAlarm would create it on first
  // use only with iam:CreateServiceLinkedRole (CloudWatch API reference, PutMetricAlarm), which
  // these roles do not get: a prerequisite (docs/operations.md). Once it exists, PutMetricAlarm no
  // longer asks (aws-samples/amazon-cloudwatch-auto-alarms#47).
  "aws:cloudwatch/metricAlarm:MetricAlarm": [
    {
      create: ["cloudwatch:PutMetricAlarm"],
      read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
      update: ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
      delete: ["cloudwatch:DeleteAlarms"],
      on: ["alarm"],
    },
  ],
  // cloudwatch/dashboard.go.
  "aws:cloudwatch/dashboard:Dashboard": [
    {
      create: ["cloudwatch:PutDashboard"],
      read: ["cloudwatch:GetDashboard"],
      update: ["cloudwatch:PutDashboard"],
      delete: ["cloudwatch:DeleteDashboards"],
      on: ["dashboard"],
    },
  ],

  // sqs/queue.go: create waits for the attributes to read back; the read lists the tags.
  "aws:sqs/queue:Queue": [
    {
      create: ["sqs:CreateQueue", "sqs:GetQueueAttributes"],
      read: ["sqs:GetQueueAttributes", "sqs:ListQueueTags"],
      update: ["sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"],
      delete: ["sqs:DeleteQueue", "sqs:GetQueueAttributes"],
      on: ["sqsQueue"],
    },
  ],
  // sqs/queue_policy.go: the policy is a queue attribute; delete sets it empty.
  "aws:sqs/queuePolicy:QueuePolicy": [
    {
      create: ["sqs:SetQueueAttributes"],
      read: ["sqs:GetQueueAttributes"],
      update: ["sqs:SetQueueAttributes"],
      delete: ["sqs:SetQueueAttributes"],
      on: ["sqsQueue"],
    },
  ],

  // sns/topic.go.
  "aws:sns/topic:Topic": [
    {
      create: ["sns:CreateTopic", "sns:SetTopicAttributes"],
      read: ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
      update: ["sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource"],
      delete: ["sns:DeleteTopic"],
      on: ["snsTopic"],
    },
  ],
  // sns/topic_policy.go: the policy is a topic attribute; delete puts back the default.
  "aws:sns/topicPolicy:TopicPolicy": [
    {
      create: ["sns:SetTopicAttributes"],
      read: ["sns:GetTopicAttributes"],
      update: ["sns:SetTopicAttributes"],
      delete: ["sns:SetTopicAttributes"],
      on: ["snsTopic"],
    },
  ],
  // sns/topic_subscription.go: the e-mail subscription (ecr-sync:alertEmail).
  "aws:sns/topicSubscription:TopicSubscription": [
    {
      create: ["sns:Subscribe", "sns:GetSubscriptionAttributes"],
      read: ["sns:GetSubscriptionAttributes"],
      update: ["sns:SetSubscriptionAttributes"],
      delete: ["sns:Unsubscribe"],
      on: ["snsTopic"],
    },
  ],

  // scheduler/schedule_group.go: create and delete wait on GetScheduleGroup.
  "aws:scheduler/scheduleGroup:ScheduleGroup": [
    {
      create: ["scheduler:CreateScheduleGroup", "scheduler:GetScheduleGroup"],
      read: ["scheduler:GetScheduleGroup", "scheduler:ListTagsForResource"],
      update: ["scheduler:TagResource", "scheduler:UntagResource"],
      delete: ["scheduler:DeleteScheduleGroup", "scheduler:GetScheduleGroup"],
      on: ["scheduleGroup"],
    },
  ],
  // scheduler/schedule.go: CreateSchedule and UpdateSchedule pass the schedule's role.
  "aws:scheduler/schedule:Schedule": [
    {
      create: ["scheduler:CreateSchedule"],
      read: ["scheduler:GetSchedule"],
      update: ["scheduler:UpdateSchedule"],
      delete: ["scheduler:DeleteSchedule"],
      on: ["schedule"],
    },
    { create: ["iam:PassRole"], update: ["iam:PassRole"], on: ["role"] },
  ],
};

/** Every action a grant lists, whatever the phase. */
export function grantActions(grant: Grant): string[] {
  return sortedUnique(PHASES.flatMap((phase) => [...(grant[phase] ?? [])]));
}

/** "securityGroup" → "SecurityGroup". */
const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** A statement's Sid: what it acts on, and its condition ("InstanceNameTagged"). */
function statementId(on: readonly ResourceKind[], when: ConditionName | undefined): string {
  if (on.includes("*")) return "NoResourceLevelPermissions";
  return [...on].sort().map(pascal).join("") + (when === undefined ? "" : pascal(when));
}

/** A grant's Resource: "*", or the ARNs of its kinds in `scope`. */
function resourcesOf(on: readonly ResourceKind[], scope: DeployScope): "*" | string[] {
  const kinds = on.filter((kind): kind is keyof typeof RESOURCE_ARNS => kind !== "*");
  return kinds.length < on.length ? "*" : kinds.sort().flatMap((kind) => RESOURCE_ARNS[kind](scope));
}

/**
 * The deploy policy of a stack in `scope` that renders `types` (resource types, component types
 * and invoke tokens): every action of their grants, one statement per set of resources and
 * condition, scoped to the stack's account, region and names. Throws, naming them, for types
 * without an entry in DEPLOY_PERMISSIONS.
 */
export function deployPolicy(scope: DeployScope, types: Iterable<string>): PolicyDocument {
  const wanted = sortedUnique([...types]);
  const missing = wanted.filter((type) => !Object.hasOwn(DEPLOY_PERMISSIONS, type));
  if (missing.length > 0) {
    throw new Error(
      `no deploy permissions for ${missing.join(", ")}: add what pulumi calls for ${missing.length === 1 ? "it" : "them"} to DEPLOY_PERMISSIONS in components/deploy-permissions.ts`,
    );
  }
  const statements = new Map<string, PolicyStatement & { Action: string[] }>();
  for (const grant of wanted.flatMap((type) => DEPLOY_PERMISSIONS[type])) {
    const Sid = statementId(grant.on, grant.when);
    const statement = statements.get(Sid) ?? {
      Sid,
      Effect: "Allow",
      Action: [],
      Resource: resourcesOf(grant.on, scope),
      ...(grant.when === undefined ? {} : { Condition: CONDITIONS[grant.when](scope) }),
    };
    statement.Action = sortedUnique([...statement.Action, ...grantActions(grant)]);
    statements.set(Sid, statement);
  }
  const bySid = [...statements.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return { Version: "2012-10-17", Statement: bySid.map(([, statement]) => statement) };
}

/**
 * Whether an IAM resource pattern (`*` any run of characters, `?` one) matches `arn`, as IAM
 * matches a statement's Resource; conditions aside.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`).test(arn);
}

/**
 * What AWS (and Pulumi) return for each resource type the program creates: the id and the
 * computed state, in the stack's account and region. A type missing here makes the render fail
 * (StackMocks, local/render/mocks.ts): teach this table what AWS returns for it.
 */
import { createHash } from "node:crypto";
import { MockWorld, hex } from "./mock-world";

/** One resource being registered, with the names the mocks derive for it. */
export interface ResourceArgs {
  readonly type: string;
  /** The Pulumi resource name. */
  readonly name: string;
  /** The id Pulumi passes (a StackReference's stack name, when no `name` input). */
  readonly id: string | undefined;
  readonly inputs: Record<string, unknown>;
  /** account/region/type/name: what every derived id hashes. */
  readonly seed: string;
  /** The cloud name: the `name` input, or the resource name and a hash, as autonaming does. */
  readonly named: string;
  readonly world: MockWorld;
}

/** The id ("" for components) and the state the provider computes beyond the inputs. */
export interface MockedResource {
  readonly id: string;
  readonly computed: Record<string, unknown>;
}

type ResourceMock = (r: ResourceArgs) => MockedResource;

/** A resource whose id is its name, with its ARN. */
const namedWithArn =
  (arn: (r: ResourceArgs) => string, extra: (r: ResourceArgs) => Record<string, unknown> = () => ({})) =>
  (r: ResourceArgs): MockedResource => ({
    id: r.named,
    computed: { name: r.named, arn: arn(r), ...extra(r) },
  });

const component: ResourceMock = () => ({ id: "", computed: {} });

export const RESOURCE_MOCKS: Readonly<Record<string, ResourceMock>> = {
  "ecr-sync:index:SourceSync": component,
  "ecr-sync:index:TargetRole": component,

  "pulumi:pulumi:StackReference": ({ inputs, id, world }) => {
    const stackName = String(inputs.name ?? id);
    const outputs = world.stackReferences[stackName];
    if (outputs === undefined) {
      throw new Error(
        `StackReference to ${JSON.stringify(stackName)}: no rendered stack of that name (have: ${Object.keys(world.stackReferences).join(", ") || "none"})`,
      );
    }
    return { id: stackName, computed: { name: stackName, outputs, secretOutputNames: [] } };
  },

  "aws:cloudwatch/logGroup:LogGroup": namedWithArn(
    ({ world, named }) => `arn:aws:logs:${world.region}:${world.account}:log-group:${named}`,
  ),

  "aws:iam/role:Role": namedWithArn(
    ({ world, named }) => `arn:aws:iam::${world.account}:role/${named}`,
    ({ seed, inputs }) => ({
      uniqueId: `AROA${hex(seed, 17).toUpperCase()}`,
      maxSessionDuration: inputs.maxSessionDuration ?? 3600,
      path: "/",
    }),
  ),

  "aws:iam/rolePolicy:RolePolicy": ({ inputs, named }) => ({
    id: `${String(inputs.role)}:${named}`,
    computed: { name: named },
  }),

  "aws:iam/instanceProfile:InstanceProfile": namedWithArn(
    ({ world, named }) => `arn:aws:iam::${world.account}:instance-profile/${named}`,
    ({ seed }) => ({ uniqueId: `AIPA${hex(seed, 17).toUpperCase()}` }),
  ),

  "aws:ec2/securityGroup:SecurityGroup": ({ seed, named, world }) => {
    const id = `sg-${hex(seed, 17)}`;
    return {
      id,
      computed: {
        name: named,
        arn: `arn:aws:ec2:${world.region}:${world.account}:security-group/${id}`,
        ownerId: world.account,
      },
    };
  },

  "aws:ec2/instance:Instance": ({ seed, inputs, world }) => {
    const id = `i-${hex(seed, 17)}`;
    const octets = createHash("sha256").update(seed).digest();
    return {
      id,
      computed: {
        arn: `arn:aws:ec2:${world.region}:${world.account}:instance/${id}`,
        instanceState: "running",
        privateIp: `172.31.${octets[0]}.${(octets[1] % 254) + 1}`,
        availabilityZone: world.zoneOfSubnet(String(inputs.subnetId)),
        primaryNetworkInterfaceId: `eni-${hex(`${seed}/eni`, 17)}`,
      },
    };
  },

  // S3: the bucket is autonamed (`<resource name>-<suffix>`, lower case, as Pulumi names it); its
  // settings, policy and objects are separate resources whose id is the bucket's name (an object's
  // is its key).
  "aws:s3/bucket:Bucket": ({ named, world }) => {
    const bucket = named.toLowerCase();
    return {
      id: bucket,
      computed: {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        region: world.region,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${world.region}.amazonaws.com`,
        hostedZoneId: "Z3AQBSTGFYJSTF",
      },
    };
  },
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ({ inputs }) => ({
    id: String(inputs.bucket),
    computed: {},
  }),
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ({ inputs }) => ({
    id: String(inputs.bucket),
    computed: {},
  }),
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ({ inputs }) => ({
    id: String(inputs.bucket),
    computed: {},
  }),
  "aws:s3/bucketVersioning:BucketVersioning": ({ inputs }) => ({ id: String(inputs.bucket), computed: {} }),
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ({ inputs }) => ({
    id: String(inputs.bucket),
    computed: {},
  }),
  "aws:s3/bucketPolicy:BucketPolicy": ({ inputs }) => ({ id: String(inputs.bucket), computed: {} }),
  "aws:s3/bucketObjectv2:BucketObjectv2": ({ inputs, seed }) => {
    const key = String(inputs.key);
    return {
      id: key,
      computed: {
        arn: `arn:aws:s3:::${String(inputs.bucket)}/${key}`,
        etag: hex(`${seed}/${key}`, 32),
        versionId: hex(`${seed}/${key}/version`, 32),
        serverSideEncryption: "AES256",
      },
    };
  },

  "aws:ssm/document:Document": namedWithArn(
    ({ world, named }) => `arn:aws:ssm:${world.region}:${world.account}:document/${named}`,
    ({ world }) => ({
      defaultVersion: "1",
      latestVersion: "1",
      documentVersion: "1",
      status: "Active",
      owner: world.account,
    }),
  ),

  // State Manager returns a generated association id (a UUID) and the association's ARN.
  "aws:ssm/association:Association": ({ seed, world }) => {
    const id = hex(`${seed}/association`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
    return {
      id,
      computed: {
        associationId: id,
        arn: `arn:aws:ssm:${world.region}:${world.account}:association/${id}`,
      },
    };
  },

  "aws:lambda/function:Function": ({ named, world }) => {
    const arn = `arn:aws:lambda:${world.region}:${world.account}:function:${named}`;
    return {
      id: named,
      computed: {
        name: named,
        arn,
        qualifiedArn: `${arn}:$LATEST`,
        invokeArn: `arn:aws:apigateway:${world.region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        version: "$LATEST",
      },
    };
  },

  "aws:lambda/permission:Permission": ({ inputs, name, seed }) => {
    const id = typeof inputs.statementId === "string" ? inputs.statementId : `${name}-${hex(seed, 7)}`;
    return { id, computed: { statementId: id } };
  },

  "aws:cloudwatch/eventRule:EventRule": namedWithArn(
    ({ world, named }) => `arn:aws:events:${world.region}:${world.account}:rule/${named}`,
    () => ({ eventBusName: "default" }),
  ),

  "aws:cloudwatch/eventTarget:EventTarget": ({ inputs }) => ({
    id: `${String(inputs.rule)}-${String(inputs.targetId)}`,
    computed: { eventBusName: "default" },
  }),

  // The provider's id: the function name, with ":QUALIFIER" when one is set.
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ({ inputs }) => ({
    id:
      inputs.qualifier === undefined
        ? String(inputs.functionName)
        : `${String(inputs.functionName)}:${String(inputs.qualifier)}`,
    computed: {},
  }),

  // An SQS queue's id is its URL.
  "aws:sqs/queue:Queue": ({ named, inputs, world }) => {
    const url = `https://sqs.${world.region}.amazonaws.com/${world.account}/${named}`;
    return {
      id: url,
      computed: {
        name: named,
        arn: `arn:aws:sqs:${world.region}:${world.account}:${named}`,
        url,
        messageRetentionSeconds: inputs.messageRetentionSeconds ?? 345600,
        visibilityTimeoutSeconds: inputs.visibilityTimeoutSeconds ?? 30,
      },
    };
  },

  "aws:sqs/queuePolicy:QueuePolicy": ({ inputs }) => ({ id: String(inputs.queueUrl), computed: {} }),

  // An SNS topic's id is its ARN.
  "aws:sns/topic:Topic": ({ named, world }) => {
    const arn = `arn:aws:sns:${world.region}:${world.account}:${named}`;
    return { id: arn, computed: { name: named, arn, owner: world.account } };
  },

  "aws:sns/topicPolicy:TopicPolicy": ({ inputs, world }) => ({
    id: String(inputs.arn),
    computed: { owner: world.account },
  }),

  "aws:sns/topicSubscription:TopicSubscription": ({ inputs, seed, world }) => {
    const uuid = hex(seed, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
    const id = `${String(inputs.topic)}:${uuid}`;
    return {
      id,
      // An e-mail subscription waits for the recipient to confirm it.
      computed: {
        arn: id,
        ownerId: world.account,
        pendingConfirmation: inputs.protocol === "email" || inputs.protocol === "email-json",
      },
    };
  },

  "aws:cloudwatch/metricAlarm:MetricAlarm": namedWithArn(
    ({ world, named }) => `arn:aws:cloudwatch:${world.region}:${world.account}:alarm:${named}`,
  ),

  // The provider's id of a metric filter is its name.
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": ({ named }) => ({ id: named, computed: { name: named } }),

  "aws:cloudwatch/dashboard:Dashboard": ({ inputs, world }) => {
    const dashboardName = String(inputs.dashboardName);
    return {
      id: dashboardName,
      computed: { dashboardArn: `arn:aws:cloudwatch::${world.account}:dashboard/${dashboardName}` },
    };
  },

  // A rendering is a first `pulumi up`: the group is created now, and AWS stamps it (RFC 3339, whole
  // seconds, as the provider reads it back). The one value of a rendering that depends on the clock.
  "aws:scheduler/scheduleGroup:ScheduleGroup": namedWithArn(
    ({ world, named }) => `arn:aws:scheduler:${world.region}:${world.account}:schedule-group/${named}`,
    () => {
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      return { state: "ACTIVE", creationDate: now, lastModificationDate: now };
    },
  ),

  "aws:scheduler/schedule:Schedule": ({ inputs, named, world }) => {
    const group = typeof inputs.groupName === "string" ? inputs.groupName : "default";
    return {
      id: `${group}/${named}`,
      computed: {
        name: named,
        groupName: group,
        arn: `arn:aws:scheduler:${world.region}:${world.account}:schedule/${group}/${named}`,
      },
    };
  },
};

/**
 * IAM on every hop, with the rendered policies: each AWS call the worker made (recorded by the
 * `aws` wrapper the fake agent puts on PATH) and each registry operation (read from the
 * registries' access logs: ECR authorises a registry request as the ECR action it maps to) is
 * evaluated with iam-simulate against the caller's rendered inline policies and, for
 * sts:AssumeRole, the assumed role's rendered trust. iam-simulate rather than moto's own
 * enforcement: moto does not serve the registries, and its enforcement skips conditions such as
 * ec2:SourceInstanceArn, which the target role's trust turns on.
 */
import { AccessLogEntry } from "../registry";
import { evaluate } from "../iam";
import type { PolicyDocument } from "../../components/policies";
import { roleOf, TwinPlan } from "./plan";

export interface Hop {
  /** The caller: a session ARN (arn:aws:sts::…:assumed-role/ROLE/SESSION) or a service principal. */
  readonly principal: string;
  /** The role whose policies apply (for a session); undefined for a service principal. */
  readonly roleArn?: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string>;
  /** What was done, for the message: the command line or the HTTP request. */
  readonly what: string;
}

export const sessionArn = (roleArn: string, session: string): string => {
  const [, , , , account, rest] = roleArn.split(":");
  return `arn:aws:sts::${account}:assumed-role/${rest
    .replace(/^role\//, "")
    .split("/")
    .pop()}/${session}`;
};

const ALLOW_ALL: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

/** Why `hop` would be denied in AWS, or undefined when it is allowed. */
export async function denial(plan: TwinPlan, hop: Hop): Promise<string | undefined> {
  const identity = hop.roleArn === undefined ? undefined : roleOf(plan, hop.roleArn);
  const assumed =
    hop.action === "sts:AssumeRole" ? plan.roles.find((r) => r.arn === hop.resource) : undefined;
  const where = `${hop.principal} → ${hop.action} on ${hop.resource} (${hop.what})`;
  if (identity !== undefined) {
    const byIdentity = await evaluate({
      principal: hop.principal,
      action: hop.action,
      resource: hop.resource,
      // Only the identity policies: evaluated as if the resource were the caller's own.
      resourceAccount: identity.account,
      identityPolicies: identity.policies.map((p) => p.document),
      context: hop.context,
    });
    if (byIdentity !== "Allowed") {
      return `IAM denies ${where}: ${byIdentity} by the rendered policies of role ${identity.name} (${identity.policies.map((p) => p.name).join(", ") || "none"})`;
    }
  }
  if (assumed !== undefined) {
    const byTrust = await evaluate({
      principal: hop.principal,
      action: hop.action,
      resource: hop.resource,
      resourcePolicy: assumed.trust,
      // A service principal has no identity policies; a session's were checked above.
      identityPolicies: hop.roleArn === undefined ? [] : [ALLOW_ALL],
      context: hop.context,
    });
    if (byTrust !== "Allowed")
      return `IAM denies ${where}: ${byTrust} by the rendered trust policy of role ${assumed.name}`;
  } else if (identity === undefined) {
    throw new Error(
      `the twin cannot evaluate ${where}: neither a rendered role's session nor a rendered role`,
    );
  }
  return undefined;
}

/** Every denial among `hops` (each distinct principal, action and resource evaluated once), and how many were evaluated. */
export async function denials(
  plan: TwinPlan,
  hops: readonly Hop[],
): Promise<{ denied: string[]; evaluated: number }> {
  const seen = new Set<string>();
  const found: string[] = [];
  for (const hop of hops) {
    const key = `${hop.principal} ${hop.action} ${hop.resource}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const why = await denial(plan, hop);
    if (why !== undefined) found.push(why);
  }
  return { denied: found, evaluated: seen.size };
}

const kebabToPascal = (s: string) => s.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** The IAM action a CLI command needs (the CLI's own names where they differ from the API's). */
const CLI_ACTIONS: Readonly<Record<string, string>> = {
  "ecr get-login-password": "ecr:GetAuthorizationToken",
  // The documents' download: the CLI's HeadObject and GetObject are both authorised as s3:GetObject.
  "s3 cp": "s3:GetObject",
  "s3api get-object": "s3:GetObject",
};
/** Calls that need no permission. */
const UNAUTHORISED_CALLS = new Set(["sts get-caller-identity"]);

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A role session the worker assumed. */
export interface AssumedSession {
  readonly roleArn: string;
  readonly principal: string;
}

/**
 * The hops of the worker's recorded `aws` calls. A call made with the worker's own key is the
 * worker's; one made with another key is the session of the role the worker assumed, in this run
 * or, given as `earlier`, in an earlier one (the copier keeps the session's credentials in its cache).
 */
export function awsCallHops(
  plan: TwinPlan,
  workerKeyId: string,
  calls: readonly string[],
  earlier?: AssumedSession,
): { hops: Hop[]; assumed?: AssumedSession } {
  const worker = sessionArn(plan.workerRoleArn, plan.workerInstanceId);
  const workerContext = { "ec2:SourceInstanceArn": plan.workerInstanceArn };
  let assumed: AssumedSession | undefined = earlier;
  const hops: Hop[] = [];
  for (const call of calls) {
    const [keyId, service, operation, ...args] = call.split(" ");
    const command = `${service} ${operation}`;
    if (UNAUTHORISED_CALLS.has(command)) continue;
    const own = keyId === workerKeyId;
    if (!own && assumed === undefined)
      throw new Error(
        `the worker ran \`aws ${command}\` with credentials it did not get from its instance profile or an assume-role`,
      );
    const caller = own
      ? { principal: worker, roleArn: plan.workerRoleArn, context: workerContext }
      : { principal: assumed!.principal, roleArn: assumed!.roleArn, context: undefined };
    const region = flag(args, "--region") ?? plan.region;
    const account = (own ? plan.workerRoleArn : assumed!.roleArn).split(":")[4];
    const action = CLI_ACTIONS[command] ?? `${service}:${kebabToPascal(operation)}`;
    let resource = "*";
    let context: Record<string, string> | undefined;
    if (command === "sts assume-role") resource = flag(args, "--role-arn") ?? "*";
    // An object: `s3 cp s3://BUCKET/KEY FILE` (the document's download), or the relay's
    // `s3api get-object --bucket BUCKET --key KEY` (local/twin/aws-relay.ts).
    const s3Url = args.find((a) => a.startsWith("s3://"));
    if (s3Url !== undefined) resource = `arn:aws:s3:::${s3Url.slice("s3://".length)}`;
    if (service === "s3api")
      resource = `arn:aws:s3:::${flag(args, "--bucket") ?? ""}/${flag(args, "--key") ?? ""}`;
    const logGroup = service === "logs" ? flag(args, "--log-group-name") : undefined;
    if (logGroup !== undefined) {
      const group = `arn:aws:logs:${region}:${account}:log-group:${logGroup}`;
      const stream = flag(args, "--log-stream-name");
      resource = stream === undefined ? group : `${group}:log-stream:${stream}`;
    }
    // PutMetricData takes no resource; its namespace is a condition key.
    const namespace = service === "cloudwatch" ? flag(args, "--namespace") : undefined;
    if (namespace !== undefined) context = { "cloudwatch:namespace": namespace };
    const repository =
      service === "ecr" ? (flag(args, "--repository-name") ?? flag(args, "--repository-names")) : undefined;
    if (repository !== undefined)
      resource = `arn:aws:ecr:${region}:${flag(args, "--registry-id") ?? account}:repository/${repository}`;
    hops.push({
      ...caller,
      ...(context === undefined ? {} : { context: { ...caller.context, ...context } }),
      action,
      resource,
      what: `aws ${command}${repository ? ` ${repository}` : ""}${resource.startsWith("arn:aws:s3:::") ? ` ${resource}` : ""}`,
    });
    if (command === "sts assume-role" && own) {
      const roleArn = flag(args, "--role-arn") ?? "";
      assumed = { roleArn, principal: sessionArn(roleArn, flag(args, "--role-session-name") ?? "session") };
    }
  }
  return { hops, assumed };
}

const REGISTRY_PATH =
  /^\/v2\/(.+?)\/(manifests\/[^/]+|blobs\/uploads\/?[^/]*|blobs\/[^/]+|tags\/list|referrers\/[^/]+)$/;

/** The ECR action a registry request is authorised as. */
export function registryAction(method: string, part: string): string | undefined {
  if (part.startsWith("manifests/")) {
    if (method === "GET" || method === "HEAD") return "ecr:BatchGetImage";
    if (method === "PUT") return "ecr:PutImage";
    if (method === "DELETE") return "ecr:BatchDeleteImage";
  } else if (part.startsWith("blobs/uploads")) {
    if (method === "POST" || method === "GET") return "ecr:InitiateLayerUpload";
    if (method === "PATCH") return "ecr:UploadLayerPart";
    if (method === "PUT") return "ecr:CompleteLayerUpload";
  } else if (part.startsWith("blobs/")) {
    if (method === "GET") return "ecr:GetDownloadUrlForLayer";
    if (method === "HEAD") return "ecr:BatchCheckLayerAvailability";
  } else if (part === "tags/list") {
    return "ecr:ListImages";
  } else if (part.startsWith("referrers/")) {
    // The OCI referrers API: ECR's ListImageReferrers "must have the ecr:BatchGetImage permission"
    // (https://docs.aws.amazon.com/powershell/latest/reference/items/Get-ECRImageReferrerList.html,
    // quoting the ECR API reference).
    if (method === "GET") return "ecr:BatchGetImage";
  }
  return undefined;
}

/** The hops of a registry's access-log entries, made by `caller` in the registry's `account`. */
export function registryHops(
  entries: readonly AccessLogEntry[],
  caller: { principal: string; roleArn: string; context?: Record<string, string> },
  registry: { account: string; region: string; name: string },
): Hop[] {
  const hops: Hop[] = [];
  for (const entry of entries) {
    // 401: the challenge before the client sends its password; nothing was authorised.
    if (entry.status === 401 || entry.path === "/v2/" || entry.path === "/v2") continue;
    const match = REGISTRY_PATH.exec(entry.path);
    const action = match ? registryAction(entry.method, match[2]) : undefined;
    if (match === null || action === undefined)
      throw new Error(
        `the twin cannot tell which ECR action ${entry.method} ${entry.path} in the ${registry.name} registry is`,
      );
    hops.push({
      ...caller,
      action,
      resource: `arn:aws:ecr:${registry.region}:${registry.account}:repository/${match[1]}`,
      what: `${entry.method} ${entry.path} in the ${registry.name} registry`,
    });
  }
  return hops;
}

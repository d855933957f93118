/**
 * Evaluates IAM requests with @cloud-copilot/iam-simulate, the way IAM does: identity policies,
 * an optional resource (trust) policy, same-account and cross-account rules.
 *
 * The simulator does not fill the request context from the principal, so `evaluate` adds what AWS
 * adds to every signed request: aws:PrincipalArn (for an assumed-role session, the role's ARN, as
 * AWS reports it) and aws:PrincipalAccount. A test may override them through `context`.
 *
 * Policies that fail the simulator's own grammar check make `evaluate` throw, so a malformed
 * document can never pass as "denied".
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../components/policies";

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface IamRequest {
  /** Policies attached to the principal (its role); none for AWS service principals. */
  identityPolicies?: PolicyDocument[];
  /** The resource's own policy, e.g. a role's trust policy for sts:AssumeRole. */
  resourcePolicy?: PolicyDocument;
  /** Caller: a role, an assumed-role session, a root user, or a service principal (ec2.amazonaws.com). */
  principal: string;
  action: string;
  /** The resource ARN the action is authorised against, or "*" for actions that take none. */
  resource: string;
  /** The account that owns the resource; defaults to the ARN's account, else the principal's. */
  resourceAccount?: string;
  context?: Record<string, string | string[]>;
}

const ASSUMED_ROLE = /^arn:aws:sts::([0-9]{12}):assumed-role\/([^/]+)\/[^/]+$/;
const IAM_PRINCIPAL = /^arn:aws:iam::([0-9]{12}):(?:root|role\/.+|user\/.+)$/;

/** The context keys AWS sets from the caller's identity. */
export function principalContext(principal: string): Record<string, string> {
  const session = ASSUMED_ROLE.exec(principal);
  if (session) {
    return {
      "aws:PrincipalArn": `arn:aws:iam::${session[1]}:role/${session[2]}`,
      "aws:PrincipalAccount": session[1],
    };
  }
  const iam = IAM_PRINCIPAL.exec(principal);
  if (iam) return { "aws:PrincipalArn": principal, "aws:PrincipalAccount": iam[1] };
  return {};
}

function accountOf(arn: string): string | undefined {
  const account = arn.split(":")[4];
  return account && /^[0-9]{12}$/.test(account) ? account : undefined;
}

export async function evaluate(request: IamRequest): Promise<Decision> {
  const principalAccount = accountOf(request.principal);
  const resourceAccount = request.resourceAccount ?? accountOf(request.resource) ?? principalAccount;
  if (!resourceAccount) {
    throw new Error(`evaluate: cannot tell which account owns ${request.resource}; pass resourceAccount`);
  }
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: resourceAccount },
        contextVariables: { ...principalContext(request.principal), ...request.context },
      },
      identityPolicies: (request.identityPolicies ?? []).map((policy, index) => ({
        name: `identity-${index}`,
        policy,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy,
    },
    {},
  );
  if (result.resultType === "error") {
    throw new Error(`iam-simulate rejected the request: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}

export async function isAllowed(request: IamRequest): Promise<boolean> {
  return (await evaluate(request)) === "Allowed";
}

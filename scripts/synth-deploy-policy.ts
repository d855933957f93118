/**
 * synth --deploy-policy: the least-privilege policy of a stack's deploy role, built from what the
 * rendered stack uses (its resource types and data sources) by components/deploy-permissions.ts,
 * in the account, region and names the stack deploys to.
 */
import { arnMatches, DeployScope, deployPolicy } from "../components/deploy-permissions";
import type { PolicyDocument } from "../components/policies";
import { projectName, Rendering, RenderedResource, StackConfig, stackAccountId } from "../local/render";

/**
 * Where the rendered stack deploys: the account and region of its config, and the name of its
 * component, which every resource name it chooses starts with.
 */
export function deployScopeOf(rendering: Rendering, config: StackConfig): DeployScope {
  const components = rendering.resources.filter((r) => r.type.startsWith(`${projectName()}:index:`));
  if (components.length !== 1) {
    throw new Error(
      `stack ${rendering.stack}: expected one ${projectName()} component to name the deploy policy's resources after, found ${components.length}`,
    );
  }
  return { account: stackAccountId(config), region: config["aws:region"], namePrefix: components[0].name };
}

/** The ARN a rendered resource reports, if it has one. */
function arnOf(resource: RenderedResource): string | undefined {
  const arn = resource.state.arn ?? resource.state.dashboardArn;
  return typeof arn === "string" ? arn : undefined;
}

/**
 * The deploy policy of a rendered stack. Throws if a rendered resource's ARN lies outside every
 * statement (a name that does not start with the component's, such as an ecr-sync:targetRoleName
 * of another pattern): the policy would not let the deploy touch it.
 */
export function deployPolicyOf(rendering: Rendering, config: StackConfig): PolicyDocument {
  const scope = deployScopeOf(rendering, config);
  const policy = deployPolicy(scope, [...rendering.resources.map((r) => r.type), ...rendering.invokes]);
  const patterns = policy.Statement.flatMap((s) => ([] as string[]).concat(s.Resource ?? []));
  const outside = rendering.resources.filter((r) => {
    const arn = arnOf(r);
    return arn !== undefined && !patterns.some((pattern) => arnMatches(pattern, arn));
  });
  if (outside.length > 0) {
    throw new Error(
      `stack ${rendering.stack}: the deploy policy would not cover ${outside.map((r) => `${r.name} (${arnOf(r)})`).join(", ")}: its names must start with ${scope.namePrefix}-`,
    );
  }
  return policy;
}

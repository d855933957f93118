/**
 * Before anything is pushed: the tools are there, both identities act in the expected accounts,
 * and both repositories can be read. Every failure here is "did not run".
 */
import { AwsAccount, reason, runTool, Sides } from "./aws";
import { DidNotRun, log } from "./outcome";
import { describeCredentials } from "./settings";

async function checkTools(env: NodeJS.ProcessEnv): Promise<void> {
  for (const tool of ["aws", "skopeo"]) {
    const result = await runTool(tool, ["--version"], env);
    if (result.code !== 0)
      throw new DidNotRun(
        `${tool}: ${reason(result)} (install it: the AWS CLI, and skopeo from your distribution)`,
      );
  }
}

/** The identity acts in the account it must, and the account's repository can be read. */
async function checkAccount(side: AwsAccount, region: string): Promise<void> {
  const { role, profile, expectedAccountId, repository } = side.account;
  const identity = await side
    .json<{ Account: string; Arn: string }>(["sts", "get-caller-identity"])
    .catch((error: Error) => {
      throw new DidNotRun(
        `no usable credentials for the ${role} account from ${describeCredentials(side.account)}: ${error.message}`,
      );
    });
  if (identity.Account !== expectedAccountId) {
    const variable = role === "source" ? "ECR_SYNC_E2E_SOURCE_ACCOUNT" : "ECR_SYNC_E2E_TARGET_ACCOUNT";
    throw new DidNotRun(
      `${describeCredentials(side.account)} acts in account ${identity.Account}, not the ${role} account ${expectedAccountId} ` +
        `(use the right profile, or set ${variable})`,
    );
  }
  log(
    `${role}: ${identity.Arn}${profile === undefined ? " (default credential chain)" : ` (profile ${profile})`}`,
  );
  const repositories = await side.call(["ecr", "describe-repositories", "--repository-names", repository]);
  if (repositories.code !== 0) {
    throw new DidNotRun(
      `${role} repository '${repository}' in account ${identity.Account} (${region}) cannot be read: ${reason(repositories)}` +
        (repositories.stderr.includes("RepositoryNotFoundException")
          ? " (is the stack deployed and the mapping right?)"
          : ""),
    );
  }
}

/** Tools first, then the source account, then the target account. */
export async function preflight(env: NodeJS.ProcessEnv, region: string, sides: Sides): Promise<void> {
  await checkTools(env);
  for (const side of [sides.source, sides.target]) await checkAccount(side, region);
}

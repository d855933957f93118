/**
 * The settings of `npm run test:e2e`, read once from the ECR_SYNC_E2E_* variables and checked:
 * every error names the variable and its value, and means "did not run" (nothing was pushed).
 */
import { isAccountId, isRegion, isRepositoryName } from "../../common/naming";
import { DidNotRun } from "./outcome";

const CSS_ACCOUNT = "770203350335";
const LEGACY_ACCOUNT = "730096353738";

export interface Account {
  /** "source" or "target", for messages. */
  readonly role: "source" | "target";
  /** Named profile, or undefined for the default credential chain. */
  readonly profile: string | undefined;
  readonly expectedAccountId: string;
  readonly repository: string;
}

export interface Settings {
  readonly source: Account;
  readonly target: Account;
  readonly region: string;
  /** host[:port] the image is pushed to; default the source account's ECR registry. */
  readonly sourceRegistry: string | undefined;
  readonly timeoutSeconds: number;
}

export function describeCredentials(account: Account): string {
  return account.profile === undefined ? "the default credential chain" : `profile '${account.profile}'`;
}

/** Reads and checks the ECR_SYNC_E2E_* variables of `env`; every error names the variable and value. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const repository = (name: string, fallback: string): string => {
    const repositoryName = value(name) ?? fallback;
    if (!isRepositoryName(repositoryName))
      throw new DidNotRun(`${name}='${repositoryName}' is not a valid ECR repository name`);
    return repositoryName;
  };
  const account = (name: string, fallback: string): string => {
    const id = value(name) ?? fallback;
    if (!isAccountId(id)) throw new DidNotRun(`${name}='${id}' is not a 12-digit AWS account id`);
    return id;
  };

  const targetProfile = value("ECR_SYNC_E2E_TARGET_PROFILE");
  if (targetProfile === undefined) {
    throw new DidNotRun(
      "ECR_SYNC_E2E_TARGET_PROFILE is not set: name the AWS profile of the legacy account " +
        "(ECR_SYNC_E2E_SOURCE_PROFILE names the css account's, or the default credential chain is used for it)",
    );
  }
  const timeoutText = value("ECR_SYNC_E2E_TIMEOUT_SECONDS") ?? "120";
  const timeoutSeconds = Number(timeoutText);
  if (!/^[0-9]+$/.test(timeoutText) || timeoutSeconds < 1) {
    throw new DidNotRun(`ECR_SYNC_E2E_TIMEOUT_SECONDS='${timeoutText}' is not a whole number of seconds ≥ 1`);
  }
  const region = value("ECR_SYNC_E2E_REGION") ?? "us-east-1";
  if (!isRegion(region)) throw new DidNotRun(`ECR_SYNC_E2E_REGION='${region}' is not an AWS region name`);

  const settings: Settings = {
    source: {
      role: "source",
      profile: value("ECR_SYNC_E2E_SOURCE_PROFILE"),
      expectedAccountId: account("ECR_SYNC_E2E_SOURCE_ACCOUNT", CSS_ACCOUNT),
      repository: repository("ECR_SYNC_E2E_SOURCE_REPOSITORY", "kuali-coeus"),
    },
    target: {
      role: "target",
      profile: targetProfile,
      expectedAccountId: account("ECR_SYNC_E2E_TARGET_ACCOUNT", LEGACY_ACCOUNT),
      repository: repository("ECR_SYNC_E2E_TARGET_REPOSITORY", "coeus"),
    },
    region,
    sourceRegistry: value("ECR_SYNC_E2E_SOURCE_REGISTRY"),
    timeoutSeconds,
  };
  if (settings.source.expectedAccountId === settings.target.expectedAccountId) {
    throw new DidNotRun(
      `source and target account are both ${settings.source.expectedAccountId}: the check needs the two accounts`,
    );
  }
  return settings;
}

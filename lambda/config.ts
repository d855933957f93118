import { isDocumentReference, isInstanceId, isLogGroupName } from "../common/naming";
import { CONFIG_VARIABLES } from "../common/push-trigger";
import { checkRepositoryMapText } from "../common/repository-map";
import { shown } from "../common/shown";

/**
 * The push trigger's configuration. The stack sets these environment variables on the
 * function; `readConfig` checks every one of them when the module loads, so a broken
 * deployment fails on its first invocation with the variable's name instead of sending a
 * wrong command later.
 */
export interface SyncConfig {
  /** SYNC_INSTANCE_ID: the worker instance that runs the copier. */
  readonly instanceId: string;
  /** SYNC_DOCUMENT_NAME: the SSM Command document that runs the copier's `copy`. */
  readonly documentName: string;
  /** REPOSITORY_MAP: source repository name → target repository name. */
  readonly repositoryMap: ReadonlyMap<string, string>;
  /** SYNC_LOG_GROUP_NAME: the CloudWatch log group that receives the command's output. */
  readonly logGroupName: string;
}

/**
 * Reads and checks the configuration from `env` (process.env in the function). Throws one
 * error that lists every missing or malformed variable by name, with what to set instead.
 */
export function readConfig(env: Readonly<Record<string, string | undefined>>): SyncConfig {
  const problems: string[] = [];

  function required(name: string): string | undefined {
    const value = env[name];
    if (value === undefined || value.trim() === "") {
      problems.push(`${name} is not set`);
      return undefined;
    }
    return value;
  }

  const instanceId = required(CONFIG_VARIABLES.instanceId);
  if (instanceId !== undefined && !isInstanceId(instanceId)) {
    problems.push(
      `${CONFIG_VARIABLES.instanceId}=${shown(instanceId)} is not an EC2 instance id (expected i- and 8 or 17 hex digits, e.g. i-0123456789abcdef0)`,
    );
  }

  const documentName = required(CONFIG_VARIABLES.documentName);
  if (documentName !== undefined && !isDocumentReference(documentName)) {
    problems.push(
      `${CONFIG_VARIABLES.documentName}=${shown(documentName)} is not an SSM document name (3–128 characters of letters, digits, _ - . : /)`,
    );
  }

  const logGroupName = required(CONFIG_VARIABLES.logGroupName);
  if (logGroupName !== undefined && !isLogGroupName(logGroupName)) {
    problems.push(
      `${CONFIG_VARIABLES.logGroupName}=${shown(logGroupName)} is not a CloudWatch log group name (1–512 characters of letters, digits, . - _ / #)`,
    );
  }

  // The same rules the stack checked ecr-sync:repositories by (common/repository-map.ts).
  const mapText = required(CONFIG_VARIABLES.repositoryMap);
  const mapCheck =
    mapText === undefined
      ? undefined
      : checkRepositoryMapText(mapText, CONFIG_VARIABLES.repositoryMap, 'e.g. {"kuali-coeus":"coeus"}');
  problems.push(...(mapCheck?.problems ?? []));

  if (problems.length > 0) {
    throw new Error(
      `ecr-sync push trigger: invalid configuration; fix these environment variables (the stack sets them): ${problems.join("; ")}`,
    );
  }
  return {
    instanceId: instanceId as string,
    documentName: documentName as string,
    repositoryMap: new Map(Object.entries(mapCheck?.map ?? {})),
    logGroupName: logGroupName as string,
  };
}

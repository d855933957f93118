/**
 * The push trigger's deployment contract: the file and handler its bundle is deployed as, the
 * runtime it is built for, and the environment variables the stack sets on the function.
 * lambda/ (which reads them) and components/ (which sets them) both import this file.
 */

/** The file name the bundle must have inside the function's code archive. */
export const HANDLER_FILE_NAME = "index.js";
/** The function's `handler` setting for that file. */
export const HANDLER_NAME = "index.handler";
/** The Lambda runtime the bundle is built for (until when AWS supports it: docs/push-trigger.md). */
export const HANDLER_RUNTIME = "nodejs24.x";

/** The names of the push trigger's environment variables, as the stack must set them. */
export const CONFIG_VARIABLES = {
  instanceId: "SYNC_INSTANCE_ID",
  documentName: "SYNC_DOCUMENT_NAME",
  repositoryMap: "REPOSITORY_MAP",
  logGroupName: "SYNC_LOG_GROUP_NAME",
} as const;

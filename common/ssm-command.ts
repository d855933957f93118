/**
 * The sync command as the push trigger sends it and the SSM document declares it: its
 * parameter names and how long SSM may wait to deliver it. Shared by lambda/ and components/.
 */

/**
 * The names of the sync document's parameters. The push trigger sends them, the SSM document
 * declares them, and the document passes each to the copier as the flag of the same meaning
 * (`--source-repository`, `--target-repository`, `--tag`, `--digest`, `--pushed-at`).
 * `pushedAt` is the push event's `time` (when ECR finished the push, ISO-8601 UTC), for the
 * latency on the copy's result line; it is optional (default ""), because an event without a
 * valid time must still be copied.
 */
export const SYNC_PARAMETERS = {
  sourceRepository: "sourceRepository",
  targetRepository: "targetRepository",
  tag: "tag",
  digest: "digest",
  pushedAt: "pushedAt",
} as const;

/**
 * How long SSM waits for the worker's agent to pick the command up before it gives up
 * ("Delivery Timed Out"). Ten minutes rides out an agent reconnect or a reboot of the worker,
 * yet keeps a command from firing long after its push, when a newer push of the same tag may
 * already have been copied. A command that times out is not lost work: the copier's reconcile
 * copies whatever is missing. A command's own run time is bounded by its document
 * (executionTimeout), not by this value. The push trigger and the reconcile schedule both use it.
 */
export const COMMAND_DELIVERY_TIMEOUT_SECONDS = 600;

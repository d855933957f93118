import { isRepositoryName } from "../common/naming";
import { shown } from "../common/shown";
import { debianAmiParameter } from "../common/worker-os";

/**
 * The stack config's keys: which exist, which stack reads each, and every default. This is the
 * one home of the defaults: Pulumi.yaml declares the same ones and the README's configuration
 * table shows them (test/unit/config-docs.test.ts keeps all three equal), and nothing after
 * parseStackConfig (components/config.ts) applies a default again.
 */

/** The project's config namespace (the project name in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "ecr-sync";

/** Keys in the `ecr-sync` namespace that the program reads. Pulumi.yaml documents each one. */
export const CONFIG_KEYS = [
  "participant",
  "sourceAccountId",
  "targetAccountId",
  "repositories",
  "sourceStack",
  "targetRoleName",
  "workerInstanceType",
  "workerSubnetId",
  "workerAmiParameter",
  "logRetentionDays",
  "alertEmail",
  "reconcileSchedule",
  "reconcileParallelism",
  "copyReferrers",
  "latencyAlarmSeconds",
  "runbookUrl",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** What a stack is: `source` builds the sync machinery (css), `target` the role it assumes (legacy). */
export type Participant = "source" | "target";
export const PARTICIPANTS: readonly Participant[] = ["source", "target"];

/** Which participant reads a key: one of them, or both. */
export type KeyScope = Participant | "both";

export const CONFIG_KEY_SCOPE: Readonly<Record<ConfigKey, KeyScope>> = {
  participant: "both",
  sourceAccountId: "both",
  targetAccountId: "both",
  repositories: "source",
  sourceStack: "target",
  targetRoleName: "source",
  workerInstanceType: "source",
  workerSubnetId: "source",
  workerAmiParameter: "source",
  logRetentionDays: "source",
  alertEmail: "source",
  reconcileSchedule: "source",
  reconcileParallelism: "source",
  copyReferrers: "source",
  latencyAlarmSeconds: "source",
  runbookUrl: "source",
};

/**
 * The default of every optional key; a key without one here is required (on the stacks its scope
 * names). `""` means "none": no subnet chosen (a default subnet is used). alertEmail has none on
 * purpose: a css stack must say where alerts go (an address, or `none`), components/config-values.ts.
 */
export const CONFIG_DEFAULTS = {
  sourceStack: "organization/ecr-sync/css",
  targetRoleName: "ecr-sync-target",
  workerInstanceType: "t4g.small",
  workerSubnetId: "",
  workerAmiParameter: debianAmiParameter("arm64"),
  logRetentionDays: 90,
  reconcileSchedule: "rate(1 day)",
  // The copier's own default (ec2-scripts/copier/limits.ts; test/unit/contracts.test.ts keeps them equal).
  reconcileParallelism: 4,
  copyReferrers: true,
  latencyAlarmSeconds: 900,
  // None: the alerts name the runbook by its path in this repository, docs/runbook.md.
  runbookUrl: "",
} as const satisfies Partial<Record<ConfigKey, string | number | boolean>>;

/** A key as the user writes it: `ecr-sync:alertEmail`. */
export function configKey(name: string): string {
  return `${CONFIG_NAMESPACE}:${name}`;
}

function isConfigKey(name: string): name is ConfigKey {
  return (CONFIG_KEYS as readonly string[]).includes(name);
}

const STACK_OF: Readonly<Record<Participant, string>> = {
  source: "source (css)",
  target: "target (legacy)",
};

/**
 * The problems with which keys a stack sets: a key the program does not read (a misspelling or a
 * leftover, which would otherwise be ignored without a word), and a key the other participant
 * reads. `values` is every `ecr-sync:*` value the stack holds, by key without the namespace.
 *
 * The Pulumi CLI puts the `default:` of every key Pulumi.yaml declares into each stack's config,
 * so a key equal to its declared default cannot be told from a key that is not set: such a key on
 * the wrong stack passes, and only a value that differs from the default is refused.
 */
export function keyProblems(
  values: Readonly<Record<string, string | undefined>>,
  participant: Participant | undefined,
  stack?: string,
): string[] {
  const problems: string[] = [];
  // The stack's own short name, so the suggested command acts on this stack, not the selected one.
  const shortName = stack?.split("/").pop();
  const onStack = shortName === undefined ? "" : ` -s ${shortName}`;
  const file = shortName === undefined ? "the stack's config" : stackFileName(shortName);
  for (const [name, value] of Object.entries(values)) {
    if (!isConfigKey(name)) {
      const nearest = nearestKey(name);
      const remove = `pulumi config rm ${configKey(name)}${onStack}`;
      const notRead = `${configKey(name)} in ${file} is not a key this program reads, so it would be ignored`;
      if (nearest !== undefined) {
        problems.push(`${notRead}: did you mean ${configKey(nearest)}? rename or remove it (${remove})`);
      } else if (participant !== "target" && isRepositoryName(name) && isRepositoryName(value)) {
        // Pulumi reads a key without a namespace as the project's (local/render/config.ts), so a
        // mapping line indented two spaces short arrives here as ecr-sync:<source repository>.
        problems.push(
          `${notRead}. If it is a line of ${configKey("repositories")}, it is indented as a key of its own ` +
            `(the Pulumi CLI reads a key without a namespace as ${configKey("<key>")}): indent it under ` +
            `${configKey("repositories")} like the lines above it. Otherwise rename or remove it (${remove}); ` +
            `the keys are ${CONFIG_KEYS.map(configKey).join(", ")}`,
        );
      } else {
        problems.push(
          `${notRead}: the keys are ${CONFIG_KEYS.map(configKey).join(", ")}; rename or remove it (${remove})`,
        );
      }
      continue;
    }
    const scope = CONFIG_KEY_SCOPE[name];
    if (participant === undefined || scope === "both" || scope === participant) continue;
    // repositories has a check of its own on a target stack (components/config.ts).
    if (name === "repositories" || value === undefined || value.trim() === "") continue;
    const declared = (CONFIG_DEFAULTS as Partial<Record<ConfigKey, string | number | boolean>>)[name];
    if (declared !== undefined && value === String(declared)) continue;
    problems.push(
      `${configKey(name)} is set to ${shown(value)} on a ${STACK_OF[participant]} stack, but only a ${STACK_OF[scope]} stack reads it: ` +
        `remove it here (pulumi config rm ${configKey(name)}${onStack}) and set it on the ${STACK_OF[scope]} stack`,
    );
  }
  return problems;
}

/**
 * Keys in a namespace a slip away from the project's (`ecr_sync:`, `ecrsync:`): the CLI hands them to
 * the program, which never reads them, so the value meant for the program would be ignored.
 */
export function namespaceProblems(keys: readonly string[], stack?: string): string[] {
  const shortName = stack?.split("/").pop();
  const file = shortName === undefined ? "the stack's config" : stackFileName(shortName);
  return keys.flatMap((key) => {
    const [namespace, ...rest] = key.split(":");
    if (rest.length === 0 || namespace === CONFIG_NAMESPACE) return [];
    if (editDistance(namespace.toLowerCase(), CONFIG_NAMESPACE) > 2) return [];
    return [
      `${key} in ${file} is in namespace ${namespace}, which this program does not read, so it would be ignored: ` +
        `did you mean ${configKey(rest.join(":"))}? rename it`,
    ];
  });
}

/** The file that holds a stack's config: `Pulumi.css.yaml`. */
export function stackFileName(shortStackName: string): string {
  return `Pulumi.${shortStackName}.yaml`;
}

/**
 * The real key closest to `name` in edit distance (ignoring case), if it is close enough to be a
 * slip of the keyboard: at most 2 edits, or a third of the name for long names.
 */
export function nearestKey(name: string): ConfigKey | undefined {
  const wanted = name.toLowerCase();
  let best: { key: ConfigKey; distance: number } | undefined;
  for (const key of CONFIG_KEYS) {
    const distance = editDistance(wanted, key.toLowerCase());
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  return best !== undefined && best.distance <= tolerance ? best.key : undefined;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions from a to b. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

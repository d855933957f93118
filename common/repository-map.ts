import { isRepositoryName } from "./naming";
import { shown } from "./shown";

/**
 * The one rule set for the mapping source repository (css) → target repository (legacy). Three
 * places hold the map: the css stack's `ecr-sync:repositories`, the css stack's `repositories`
 * output as the legacy stack reads it, and the push trigger's REPOSITORY_MAP variable. Each checks
 * it here, so a map one of them accepts the others accept too. The caller names where the map came
 * from (`label`) and how to fix it (`fix`); every problem starts with the label.
 */

/** A checked map, or the problems that stop it (each naming the entry and what to do). */
export interface RepositoryMapCheck {
  /** The map, when there are no problems. */
  readonly map: Readonly<Record<string, string>> | undefined;
  readonly problems: readonly string[];
}

const NAME_RULE = "2–256 lowercase letters, digits and . _ - /";

/** Checks a map held as JSON text (stack config, an environment variable). */
export function checkRepositoryMapText(text: string, label: string, fix: string): RepositoryMapCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refused(
      `${label} is not valid JSON (${shown(text)}): it must be an object of source → target repository names; ${fix}`,
    );
  }
  return checkRepositoryMap(parsed, label, fix);
}

/**
 * Checks a map: an object, not empty, of valid ECR repository names, no repository mapped to
 * itself (the copy would overwrite its own source) and no two sources mapped to one target (each
 * would overwrite the other's tags).
 */
export function checkRepositoryMap(value: unknown, label: string, fix: string): RepositoryMapCheck {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return refused(
      `${label} must be a JSON object of source → target repository names; ${fix}; got ${shown(value)}, which is not an object`,
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) {
    return refused(
      `${label} is an empty object: nothing would be synced; map at least one source repository to a target; ${fix}`,
    );
  }
  const problems: string[] = [];
  const sourcesByTarget = new Map<string, string>();
  for (const [source, target] of entries) {
    const entry = `${label}[${shown(source)}]`;
    if (!isRepositoryName(source)) {
      problems.push(`${entry}: the key is not a valid ECR repository name (${NAME_RULE})`);
    }
    if (!isRepositoryName(target)) {
      problems.push(
        `${entry}: the target ${shown(target)} is not a valid ECR repository name (${NAME_RULE})`,
      );
      continue;
    }
    if (source === target) {
      problems.push(
        `${entry} maps the repository to itself; name the legacy repository it should be copied to`,
      );
    }
    const other = sourcesByTarget.get(target);
    if (other !== undefined) {
      problems.push(
        `${label}: ${shown(other)} and ${shown(source)} are both mapped to ${shown(target)}; each target takes one source`,
      );
    } else {
      sourcesByTarget.set(target, source);
    }
  }
  return problems.length > 0 ? refused(...problems) : { map: value as Record<string, string>, problems };
}

function refused(...problems: string[]): RepositoryMapCheck {
  return { map: undefined, problems };
}

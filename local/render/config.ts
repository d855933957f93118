/**
 * A stack's config as the Pulumi CLI hands it to the program: Pulumi.yaml's declared defaults,
 * overlaid by Pulumi.<stack>.yaml. The renderer feeds exactly this to the runtime, so the
 * program sees what `pulumi up` would show it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { StackConfig } from "./types";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");
/** The organization a self-managed backend uses in stack names (organization/project/stack). */
export const ORGANIZATION = "organization";

function configText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The project's name from Pulumi.yaml. */
export function projectName(root = PROJECT_ROOT): string {
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof project?.name !== "string")
    throw new Error(`${path.join(root, "Pulumi.yaml")}: no project name`);
  return project.name;
}

/** The stacks that have a Pulumi.<stack>.yaml. */
export function stackNames(root = PROJECT_ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * The config a stack's program sees: Pulumi.yaml's declared defaults, overlaid by
 * Pulumi.<stack>.yaml, overlaid by `overrides`. Like the CLI, refuses a stack file that lacks
 * a key Pulumi.yaml declares without a default.
 */
export function readStackConfig(
  stack: string,
  overrides: Record<string, unknown> = {},
  root = PROJECT_ROOT,
): StackConfig {
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(
      `unknown stack ${JSON.stringify(stack)}: there is no ${path.basename(stackFile)} (stacks: ${stackNames(root).join(", ")})`,
    );
  }
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, unknown>;
  };
  const stackConfig =
    ((parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> }).config ??
    {};
  const config: StackConfig = {};
  for (const [key, value] of Object.entries(stackConfig)) config[key] = configText(value);

  for (const [rawKey, declaration] of Object.entries(project.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project.name}:${rawKey}`;
    if (key in config) continue;
    const d = declaration as { default?: unknown; value?: unknown; type?: unknown } | null;
    if (d !== null && typeof d === "object" && "value" in d) {
      config[key] = configText(d.value);
    } else if (d !== null && typeof d === "object" && "default" in d) {
      config[key] = configText(d.default);
    } else if (d !== null && typeof d === "object" && "type" in d) {
      throw new Error(
        `${path.basename(stackFile)} lacks ${key}, which Pulumi.yaml declares without a default; pulumi would refuse this stack`,
      );
    } else {
      config[key] = configText(d);
    }
  }

  for (const [key, value] of Object.entries(overrides)) {
    if (value === null || value === undefined) delete config[key];
    else config[key] = configText(value);
  }
  return config;
}

/** Stands in for the account in mock ARNs when aws:allowedAccountIds names none. */
const UNKNOWN_ACCOUNT = "000000000000";

/**
 * The account a stack deploys into, for the mocks' ARNs: the single entry of
 * aws:allowedAccountIds. When that is missing or malformed, a stand-in, so that the program
 * itself runs and reports the problem with its own message (which says how to fix it).
 */
export function stackAccountId(config: StackConfig): string {
  let ids: unknown;
  try {
    ids = JSON.parse(config["aws:allowedAccountIds"] ?? "[]");
  } catch {
    return UNKNOWN_ACCOUNT;
  }
  return Array.isArray(ids) && typeof ids[0] === "string" ? ids[0] : UNKNOWN_ACCOUNT;
}

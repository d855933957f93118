/**
 * The defaults live in components/config-keys.ts (CONFIG_DEFAULTS); Pulumi.yaml declares them to
 * the CLI and the README's configuration table shows them to people. These tests keep both equal
 * to the code, key by key.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parse as parseYaml } from "yaml";
import { CONFIG_DEFAULTS, CONFIG_KEYS, CONFIG_KEY_SCOPE, ConfigKey } from "../../components/config";
import { CSS_OUTPUTS, LEGACY_OUTPUTS } from "../../components/stack-outputs";
import { PROJECT_ROOT } from "../../local/render";

const DEFAULTS = CONFIG_DEFAULTS as Partial<Record<ConfigKey, string | number | boolean>>;
/** How the README's Stack column names a key's scope. */
const STACK_CELL = { source: "css", target: "legacy", both: "both" } as const;
const TABLE_HEADER = ["Key", "Stack", "Default", "Meaning"];
/** The provider keys the program reads (components/config.ts rawStackConfig): required on both stacks. */
const PROVIDER_KEYS = ["aws:region", "aws:allowedAccountIds"];

/** The README's Default cell for a key: the default in backticks, `required` or `none`. */
function defaultCell(key: ConfigKey): string {
  const value = DEFAULTS[key];
  if (value === undefined) return "required";
  return value === "" ? "none" : `\`${value}\``;
}

/** The cells of a Markdown table row (a `\|` inside a cell is not a separator). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/**
 * What is wrong with the configuration table under `## Configuration` in the Markdown file at
 * `readmePath`, measured against CONFIG_KEYS, CONFIG_KEY_SCOPE and CONFIG_DEFAULTS; [] when it is
 * right. The table: header `| Key | Stack | Default | Meaning |`, one row per key.
 */
function configTableProblems(readmePath: string): string[] {
  const lines = fs.readFileSync(readmePath, "utf8").split("\n");
  const name = path.basename(readmePath);
  const heading = lines.findIndex((l) => l.trim() === "## Configuration");
  if (heading < 0) return [`${name} has no "## Configuration" heading`];
  const end = lines.findIndex((l, i) => i > heading && /^#{1,2} /.test(l));
  const section = lines.slice(heading + 1, end < 0 ? undefined : end);
  // Prettier pads the cells, so the header is compared cell by cell.
  const start = section.findIndex(
    (l) => l.trim().startsWith("|") && cells(l).join("|") === TABLE_HEADER.join("|"),
  );
  if (start < 0) {
    return [`${name}: no table with the header | ${TABLE_HEADER.join(" | ")} | under ## Configuration`];
  }
  const rows: string[] = [];
  for (const line of section.slice(start + 2)) {
    if (!line.trim().startsWith("|")) break;
    rows.push(line);
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const providerKeysSeen = new Set<string>();
  for (const row of rows) {
    const [keyCell, stack, defaults, meaning] = cells(row);
    const providerKey = /^`(aws:[A-Za-z]+)`$/.exec(keyCell ?? "")?.[1];
    if (providerKey !== undefined && PROVIDER_KEYS.includes(providerKey)) {
      providerKeysSeen.add(providerKey);
      if (stack !== "both" || defaults !== "required")
        problems.push(`${name}: ${providerKey} must be required on both stacks`);
      continue;
    }
    const key = /^`ecr-sync:([A-Za-z]+)`$/.exec(keyCell ?? "")?.[1];
    if (key === undefined || !(CONFIG_KEYS as readonly string[]).includes(key)) {
      problems.push(`${name}: row ${JSON.stringify(row)} names no key of CONFIG_KEYS`);
      continue;
    }
    const k = key as ConfigKey;
    if (seen.has(k)) problems.push(`${name}: ecr-sync:${k} has two rows`);
    seen.add(k);
    if (stack !== STACK_CELL[CONFIG_KEY_SCOPE[k]])
      problems.push(`${name}: ecr-sync:${k} Stack is ${stack}, expected ${STACK_CELL[CONFIG_KEY_SCOPE[k]]}`);
    if (defaults !== defaultCell(k))
      problems.push(`${name}: ecr-sync:${k} Default is ${defaults}, expected ${defaultCell(k)}`);
    if ((meaning ?? "") === "") problems.push(`${name}: ecr-sync:${k} has no Meaning`);
  }
  for (const k of CONFIG_KEYS) if (!seen.has(k)) problems.push(`${name}: no row for ecr-sync:${k}`);
  for (const k of PROVIDER_KEYS) if (!providerKeysSeen.has(k)) problems.push(`${name}: no row for ${k}`);
  return problems;
}

describe("config documentation against CONFIG_KEYS and CONFIG_DEFAULTS", () => {
  describe("Pulumi.yaml", () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
    const declared = (
      parseYaml(text) as { config: Record<string, { description?: string; default?: unknown }> }
    ).config;

    it("documents every key, with the same defaults the program applies", () => {
      for (const key of CONFIG_KEYS) {
        if (key === "repositories") {
          // No object type in Pulumi's project config schema: documented in a comment instead.
          expect(text).to.match(/#\s+ecr-sync:repositories\s+\(object, css stack only\)/);
          continue;
        }
        if (key === "alertEmail") {
          // Required on css only: declared without a default, Pulumi would require it on legacy too.
          expect(text).to.match(/#\s+ecr-sync:alertEmail\s+\(string, css stack only, required\)/);
          continue;
        }
        expect(declared[key], `Pulumi.yaml config.${key}`).to.be.an("object");
        expect(declared[key].description, `Pulumi.yaml config.${key}.description`).to.be.a("string").and.not
          .empty;
      }
      for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
        expect(declared[key].default, `Pulumi.yaml config.${key}.default`).to.equal(value);
      }
      expect(declared.workerSubnetId.default).to.equal("");
      expect(declared).not.to.have.property("alertEmail");
      expect(DEFAULTS).not.to.have.property("alertEmail");
    });

    it("declares no key the program does not read, and no default the program does not have", () => {
      for (const [key, declaration] of Object.entries(declared)) {
        expect(CONFIG_KEYS as readonly string[], `Pulumi.yaml config.${key}`).to.include(key);
        if ("default" in declaration) expect(DEFAULTS, `CONFIG_DEFAULTS for ${key}`).to.have.property(key);
        else expect(DEFAULTS, `CONFIG_DEFAULTS for ${key}`).not.to.have.property(key);
      }
    });

    it("says which stack reads each one-stack key", () => {
      for (const key of CONFIG_KEYS) {
        const scope = CONFIG_KEY_SCOPE[key];
        if (key === "repositories" || key === "alertEmail" || scope === "both") continue;
        expect(declared[key].description, `Pulumi.yaml config.${key}.description`).to.match(
          scope === "source" ? /^Css stack only/ : /^Legacy stack only/,
        );
      }
    });
  });

  describe("the README's configuration table", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-config-docs-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const SAMPLE_ROWS = [
      "| `ecr-sync:participant` | both | required | source or target |",
      "| `ecr-sync:sourceAccountId` | both | required | the css account |",
      "| `ecr-sync:targetAccountId` | both | required | the legacy account |",
      "| `ecr-sync:repositories` | css | required | source → target |",
      "| `ecr-sync:sourceStack` | legacy | `organization/ecr-sync/css` | the css stack |",
      "| `ecr-sync:targetRoleName` | css | `ecr-sync-target` | the role the worker assumes |",
      "| `ecr-sync:workerInstanceType` | css | `t4g.small` | the worker's type |",
      "| `ecr-sync:workerSubnetId` | css | none | the worker's subnet |",
      "| `ecr-sync:workerAmiParameter` | css | `/aws/service/debian/release/13/latest/arm64` | the AMI |",
      "| `ecr-sync:logRetentionDays` | css | `90` | log retention |",
      "| `ecr-sync:alertEmail` | css | required | who gets alerts, or `none` |",
      "| `ecr-sync:reconcileSchedule` | css | `rate(1 day)` | when to reconcile (`off` \\| a rate) |",
      "| `ecr-sync:reconcileParallelism` | css | `4` | copies at a time |",
      "| `ecr-sync:copyReferrers` | css | `true` | referrers too |",
      "| `ecr-sync:latencyAlarmSeconds` | css | `900` | latency alarm threshold |",
      "| `ecr-sync:runbookUrl` | css | none | the runbook's address |",
      "| `aws:region` | both | required | the region |",
      "| `aws:allowedAccountIds` | both | required | the one account |",
    ];
    function sample(rows: string[], name: string): string {
      const file = path.join(dir, name);
      const table = [`| ${TABLE_HEADER.join(" | ")} |`, "| --- | --- | --- | --- |", ...rows].join("\n");
      fs.writeFileSync(file, `# ecr-sync\n\n## Configuration\n\nThe keys:\n\n${table}\n\n## Next\n`);
      return file;
    }

    it("matches CONFIG_KEYS and CONFIG_DEFAULTS", () => {
      expect(configTableProblems(path.join(PROJECT_ROOT, "README.md"))).to.deep.equal([]);
    });

    it("accepts a table that shows every key, its stack and its default", () => {
      expect(configTableProblems(sample(SAMPLE_ROWS, "good.md"))).to.deep.equal([]);
    });

    it("names a wrong default, a wrong stack, a missing row and a key that does not exist", () => {
      const rows = SAMPLE_ROWS.filter((r) => !r.includes("alertEmail"))
        .map((r) =>
          r
            .replace("`90`", "`30`")
            .replace("| `ecr-sync:sourceStack` | legacy", "| `ecr-sync:sourceStack` | both"),
        )
        .concat("| `ecr-sync:colour` | css | none | nothing |");
      expect(configTableProblems(sample(rows, "bad.md"))).to.deep.equal([
        "bad.md: ecr-sync:sourceStack Stack is both, expected legacy",
        "bad.md: ecr-sync:logRetentionDays Default is `30`, expected `90`",
        'bad.md: row "| `ecr-sync:colour` | css | none | nothing |" names no key of CONFIG_KEYS',
        "bad.md: no row for ecr-sync:alertEmail",
      ]);
    });
  });
});

describe("docs/configuration.md's output tables against components/stack-outputs.ts", () => {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "configuration.md"), "utf8");

  /** The output names in backticks in the first column of the table after `heading`. */
  function namesInTable(heading: string): string[] {
    const rows = text.slice(text.indexOf(heading)).split("\n").slice(1);
    const start = rows.findIndex((l) => l.trim().startsWith("|"));
    const names: string[] = [];
    for (const row of rows.slice(start + 2)) {
      if (!row.trim().startsWith("|")) break;
      names.push(...[...(cells(row)[0] ?? "").matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => m[1]));
    }
    return names.sort();
  }

  it("lists every css output, and no other", () => {
    expect(namesInTable("`pulumi stack output -s css`")).to.deep.equal(Object.keys(CSS_OUTPUTS).sort());
  });

  it("lists every legacy output, and no other", () => {
    expect(namesInTable("`pulumi stack output -s legacy`")).to.deep.equal(Object.keys(LEGACY_OUTPUTS).sort());
  });
});

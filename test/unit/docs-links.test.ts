/**
 * The README and docs/ link to files and to sections; the alarms and alert texts point people at
 * runbook sections. Every such link must land: a renamed file or heading fails here, not in a
 * reader's browser at 3 a.m.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { PROJECT_ROOT } from "../../local/render";

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings (outside fenced code blocks). */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (heading !== null) anchors.add(headingAnchor(heading[1].replace(/`/g, "")));
  }
  return anchors;
}

/** What is wrong with one link target written in `from` ("" when it lands). */
function brokenLink(from: string, target: string): string {
  if (/^[a-z]+:/i.test(target)) return "";
  const [file, anchor] = target.split("#", 2);
  const resolved = file === "" ? from : path.resolve(path.dirname(from), decodeURIComponent(file));
  const shown = `${path.relative(PROJECT_ROOT, from)} → ${target}`;
  if (!fs.existsSync(resolved)) return `${shown}: no such file`;
  if (anchor === undefined || anchor === "") return "";
  if (!resolved.endsWith(".md")) return `${shown}: an anchor into a file that is not Markdown`;
  return anchorsOf(resolved).has(anchor) ? "" : `${shown}: no heading with the anchor #${anchor}`;
}

function trackedFiles(pattern: string): string[] {
  return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", pattern], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter((f) => f !== "" && fs.existsSync(path.join(PROJECT_ROOT, f)))
    .map((f) => path.join(PROJECT_ROOT, f));
}

describe("links in the README, docs/ and alert texts", () => {
  it("gives the anchors GitHub gives", () => {
    expect(headingAnchor("Read a command's output")).to.equal("read-a-commands-output");
    expect(headingAnchor("`.ci/run`: the test command on a clean machine")).to.equal(
      "cirun-the-test-command-on-a-clean-machine",
    );
  });

  it("every relative link in a Markdown file lands on a file and, with #, on a heading", () => {
    const problems: string[] = [];
    for (const file of trackedFiles("*.md")) {
      let fenced = false;
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced) continue;
        for (const link of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const problem = brokenLink(file, link[1]);
          if (problem !== "") problems.push(problem);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("every runbook section the program or scripts name exists", () => {
    const problems: string[] = [];
    const runbook = path.join(PROJECT_ROOT, "docs", "runbook.md");
    const sources = [
      ...trackedFiles("*.ts"),
      ...trackedFiles("ec2-scripts/ecr-sync"),
      ...trackedFiles(".ci/run"),
    ].filter((f) => !f.includes(`${path.sep}test${path.sep}`));
    let seen = 0;
    for (const file of sources) {
      // The path itself, or the alerts' `${runbook}#section` (the runbook's address or its path).
      const text = fs.readFileSync(file, "utf8");
      for (const ref of text.matchAll(/(?:docs\/runbook\.md|\$\{(?:args\.)?runbook\})#([a-z0-9-]+)/g)) {
        seen++;
        if (!anchorsOf(runbook).has(ref[1])) {
          problems.push(
            `${path.relative(PROJECT_ROOT, file)} names docs/runbook.md#${ref[1]}: no such section`,
          );
        }
      }
    }
    expect(seen, "runbook references found in the code").to.be.greaterThan(0);
    expect(problems).to.deep.equal([]);
  });
});

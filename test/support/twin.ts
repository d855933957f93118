/**
 * What the twin's test files share (test/system/twin*.test.ts): finding and editing resources
 * of a rendering before the twin deploys it, the failure a broken rendering must end in, a gate that
 * holds a reconcile in its worker, and pushes of small images.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CommandDocument } from "../../components/document-content";
import { pushImage } from "../../local/oci";
import { Rendering, resourcesOfType } from "../../local/render";
import { RunningTwin, runTwin, TwinFailure } from "../../local/twin/run";
import { workerToolPath } from "../../local/worker-root";

/** The resource of `type` whose cloud name is `name` (the way the twin finds it from the outputs). */
export function named(r: Rendering, type: string, name: unknown) {
  const found = resourcesOfType(r, type).find((x) => x.inputs.name === name);
  if (found === undefined) throw new Error(`test: no ${type} named ${String(name)} in ${r.stack}`);
  return found;
}

/** Edits a JSON-text input in place. */
export function editJson<T>(inputs: Record<string, unknown>, key: string, edit: (value: T) => void) {
  const value = JSON.parse(inputs[key] as string) as T;
  edit(value);
  inputs[key] = JSON.stringify(value);
}

/** Edits the command of a rendered SSM document, line by line. */
export function editCommand(inputs: Record<string, unknown>, edit: (line: string) => string) {
  editJson<CommandDocument>(inputs, "content", (content) => {
    const runCommand = content.mainSteps[0].inputs.runCommand as string[];
    const edited = runCommand.map(edit);
    expect(edited, "the edit changes the command").to.not.deep.equal(runCommand);
    runCommand.splice(0, runCommand.length, ...edited);
  });
}

/** Runs the twin on the transformed rendering; resolves with the failure it must end in. */
export async function failureOf(
  transform: (r: { css: Rendering; legacy: Rendering }) => void,
  lines: string[] = [],
): Promise<TwinFailure> {
  try {
    await runTwin({ transform, write: (line) => lines.push(line) });
  } catch (error) {
    if (error instanceof TwinFailure) return error;
    throw error;
  }
  throw new Error(`the twin passed on a broken rendering:\n${lines.join("\n")}`);
}

/**
 * Holds the next reconcile in its worker until the test releases it: a `node` first on the worker's
 * PATH (in the temp dir, which the worker's root shares) that, in a reconcile (only its document
 * exports ECR_SYNC_RECONCILE_PARALLELISM) and once armed, blocks before running the root's node.
 * The document runs the copier with node after it has fetched and checked it, so the reconcile is
 * held before it takes a lock or makes a request; renaming "armed" to "held" takes the hold exactly once.
 *
 * Copies (every other run of node) can be held the same way, all of them, from armCopies() to
 * releaseCopies(): so that a test decides when a worker comes free, not the copier's speed.
 */
export class ReconcileGate {
  private constructor(readonly dir: string) {}

  static async create(): Promise<ReconcileGate> {
    const dir = await mkdtemp(join(tmpdir(), "ecr-sync-twin-gate-"));
    const script = [
      "#!/bin/sh",
      `if [ -n "\${ECR_SYNC_RECONCILE_PARALLELISM:-}" ] && mv '${dir}/armed' '${dir}/held' 2>/dev/null; then`,
      `  while [ ! -e '${dir}/released' ]; do sleep 0.1; done`,
      `elif [ -z "\${ECR_SYNC_RECONCILE_PARALLELISM:-}" ] && [ -e '${dir}/copies-armed' ]; then`,
      `  : >'${dir}/copy-held.'$$`,
      `  while [ ! -e '${dir}/copies-released' ]; do sleep 0.1; done`,
      "fi",
      `exec '${workerToolPath("node")}' "$@"`,
    ];
    await writeFile(join(dir, "node"), `${script.join("\n")}\n`, { mode: 0o755 });
    return new ReconcileGate(dir);
  }

  arm(): Promise<void> {
    return writeFile(join(this.dir, "armed"), "");
  }

  /** Resolves once a reconcile is held at the gate; fails after `timeoutMs`. */
  async held(timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(join(this.dir, "held"))) {
      if (Date.now() > deadline)
        throw new Error(`no reconcile reached the gate in ${this.dir} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  release(): Promise<void> {
    return writeFile(join(this.dir, "released"), "");
  }

  /** From now on, every copy waits at the gate until releaseCopies(). */
  armCopies(): Promise<void> {
    return writeFile(join(this.dir, "copies-armed"), "");
  }

  /** Resolves once `count` copies are held at the gate; fails after `timeoutMs`. */
  async copiesHeld(count: number, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const held = async () => (await readdir(this.dir)).filter((f) => f.startsWith("copy-held.")).length;
    while ((await held()) < count) {
      if (Date.now() > deadline)
        throw new Error(
          `${await held()} of ${count} copies reached the gate in ${this.dir} within ${timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  releaseCopies(): Promise<void> {
    return writeFile(join(this.dir, "copies-released"), "");
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/** Pushes `count` small images under distinct tags to the mapped css repositories, in turn. */
export async function pushImages(twin: RunningTwin, count: number, label: string) {
  const { world } = twin;
  const repositories = Object.keys(twin.plan.repositories);
  const pushes: Array<{ repository: string; tag: string; digest: string }> = [];
  for (let i = 0; i < count; i++) {
    const repository = repositories[i % repositories.length];
    const tag = `${label}-${String(i).padStart(2, "0")}`;
    const image = await world.layout.addImage({ layers: [{ size: 2048 }], label: tag });
    await pushImage(world.layout, image, {
      registry: world.css.host,
      repository,
      tag,
      ...world.login(world.css),
    });
    pushes.push({ repository, tag, digest: image.digest });
  }
  return pushes;
}

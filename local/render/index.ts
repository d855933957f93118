/**
 * Offline rendering of a stack: runs the real program (the project's index.ts) under Pulumi's mocks
 * with the stack's real config (Pulumi.yaml + Pulumi.<stack>.yaml) and records every resource
 * with its resolved inputs and the state the mocks gave it, plus the stack outputs. No Pulumi
 * CLI, no cloud credentials. Used by scripts/synth.ts and the tests.
 *
 * - config.ts: the stack's config, merged as the Pulumi CLI merges it.
 * - mocks.ts: strict mocks; mock-resources.ts and mock-invokes.ts are the tables of what AWS
 *   returns for each resource type and invoke, in the stack's account (aws:allowedAccountIds)
 *   and region; mock-world.ts the account's zones and subnets.
 * - stack.ts: `renderStack`, each distinct request rendered once per process, the referenced
 *   stack rendered first (legacy reads css), reference cycles refused; in-process.ts runs the
 *   program, one render at a time, each in a reset runtime with a fresh index.ts.
 * - query.ts: looking things up in a rendering.
 */
export {
  ORGANIZATION,
  PROJECT_ROOT,
  projectName,
  readStackConfig,
  StackFileError,
  stackAccountId,
  stackNames,
  stackPairProblems,
} from "./config";
export { localStackOf, renderStack, stackReferencesFor } from "./stack";
export { plain, renderInThisProcess } from "./in-process";
export { StackMocks } from "./mocks";
export { jsonInput, resource, resourcesOfType } from "./query";
export type { RenderOptions, RenderRequest, RenderedResource, Rendering, StackConfig } from "./types";

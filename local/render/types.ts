/** The shapes a rendering is made of, shared by every part of the renderer and its callers. */

/** One resource as the program registered it. */
export interface RenderedResource {
  /** Pulumi type token, e.g. aws:iam/role:Role. */
  readonly type: string;
  /** The Pulumi resource name (not the cloud name). */
  readonly name: string;
  /** The id the mocks gave it ("" for components). */
  readonly id: string;
  /** Every input, resolved; assets and archives as { asset|archive, sha256, bytes }. */
  readonly inputs: Record<string, unknown>;
  /** What the resource resolved to: its inputs plus id, ARN, name and other computed values. */
  readonly state: Record<string, unknown>;
}

/** A stack as the program registered it (`synth --json` prints all but the invokes). */
export interface Rendering {
  readonly stack: string;
  readonly resources: RenderedResource[];
  readonly outputs: Record<string, unknown>;
  /** The data sources the program called (invoke tokens, e.g. aws:ssm/getParameter:getParameter), each once, sorted. */
  readonly invokes: string[];
}

/** Flat stack config as the Pulumi runtime holds it: "namespace:key" → string (JSON for objects). */
export type StackConfig = Record<string, string>;

/** What one render is given: a stack, its config, and the outputs its references read (the key it is kept by). */
export interface RenderRequest {
  readonly stack: string;
  readonly config: StackConfig;
  /** Outputs of the stacks the program references, by fully qualified stack name. */
  readonly stackReferences: Record<string, Record<string, unknown>>;
}

export interface RenderOptions {
  /**
   * Changes to the stack's config before rendering: "namespace:key" → value (objects are
   * stored as JSON, as Pulumi does); `null` removes the key.
   */
  readonly config?: Record<string, unknown>;
  /** Outputs for the referenced stack instead of rendering it (legacy only). */
  readonly sourceOutputs?: Record<string, unknown>;
}

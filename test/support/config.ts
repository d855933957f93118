/** Helpers the config and rendering tests share. */
import { expect } from "chai";
import { ConfigError, parseStackConfig, RawStackConfig, rawStackConfig } from "../../components/config";
import { readStackConfig } from "../../local/render";

/**
 * The raw config index.ts would hand over for a stack, from the real stack files: every value,
 * Pulumi.yaml's declared defaults included (the CLI injects them), with the stack's own name.
 */
export function rawFor(stack: string, overrides: Record<string, unknown> = {}): RawStackConfig {
  return rawStackConfig(readStackConfig(stack, overrides), `organization/ecr-sync/${stack}`);
}

/** The problems parseStackConfig reports for `raw`; fails the test when it reports none. */
export function problemsOf(raw: RawStackConfig): string[] {
  try {
    parseStackConfig(raw);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

/** The message `promise` rejects with; fails the test when it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the rendering to fail");
}

/**
 * The stacks' outputs are one table (components/stack-outputs.ts): each stack, as rendered, exports
 * exactly its table's names, and the legacy stack reads from the css stack only the names listed
 * for it. That index.ts's exported object cannot miss or add an output is checked by `tsc`; the
 * `@ts-expect-error` lines below keep that typing strict.
 */
import { expect } from "chai";
import {
  CSS_OUTPUTS,
  CssOutputName,
  LEGACY_OUTPUTS,
  READ_BY_LEGACY,
  StackOutputs,
} from "../../components/stack-outputs";
import { Rendering, renderStack } from "../../local/render";

describe("stack outputs: one typed table (components/stack-outputs.ts)", function () {
  this.timeout(120000);
  let css: Rendering;
  let legacy: Rendering;
  before(async () => {
    css = await renderStack("css");
    legacy = await renderStack("legacy", { sourceOutputs: css.outputs });
  });

  it("the css stack exports exactly the css table's outputs", () => {
    expect(Object.keys(css.outputs).sort()).to.deep.equal(Object.keys(CSS_OUTPUTS).sort());
  });

  it("the legacy stack exports exactly the legacy table's outputs", () => {
    expect(Object.keys(legacy.outputs).sort()).to.deep.equal(Object.keys(LEGACY_OUTPUTS).sort());
  });

  it("the legacy stack reads only the css outputs listed for it", async () => {
    const read = Object.fromEntries(READ_BY_LEGACY.map((name) => [name, css.outputs[name]]));
    const fromListedOnly = await renderStack("legacy", { sourceOutputs: read });
    expect(fromListedOnly.outputs).to.deep.equal(legacy.outputs);
  });

  it("describes every output in a sentence", () => {
    for (const [name, text] of Object.entries({ ...CSS_OUTPUTS, ...LEGACY_OUTPUTS }))
      expect(text, name).to.match(/^\S.*\.$/);
  });
});

/**
 * Compile-time only: never called. `tsc --noEmit` (npm run lint) fails if either line below
 * compiles, that is, if StackOutputs stopped refusing a missing or an extra output.
 */
export function stackOutputsTypingIsStrict(all: StackOutputs<CssOutputName>): unknown[] {
  // @ts-expect-error: backfillCommand is missing
  const missing: StackOutputs<CssOutputName> = (({ backfillCommand: _, ...rest }) => rest)(all);
  // @ts-expect-error: "extra" is not an output of the table
  const extra: StackOutputs<CssOutputName> = { ...all, extra: "x" };
  return [missing, extra];
}

// Loads index.ts the way `pulumi up` / `pulumi preview` do, without the Pulumi CLI: it registers
// TypeScript exactly as @pulumi/pulumi's cmd/run/run.js does (its own tsutils pick the project's
// typescript and the vendored ts-node, with the same merged compiler options and type checking),
// then runs the program under the project's StackMocks and prints the stack outputs as JSON.
// tsx (which the tests and synth use) is more forgiving than this loader, so only this proves
// that the CLI can compile the program. Usage: node test/support/pulumi-loader.cjs css
"use strict";
const path = require("node:path");

const root = path.resolve(__dirname, "../..");
const stack = process.argv[2];
const tsutils = require("@pulumi/pulumi/tsutils");
const semver = require(
  require.resolve("semver", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] }),
);

const tsConfigPath = path.join(root, "tsconfig.json");
const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const ts = require(typescriptRequire);
const useNodeNext = semver.parse(ts.version).compare(new semver.SemVer("4.7.0")) >= 0;
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: tsConfigPath,
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: useNodeNext ? "nodenext" : "commonjs",
    moduleResolution: useNodeNext ? "nodenext" : "node",
    sourceMap: "true",
    ...compilerOptions,
  },
});

async function main() {
  const pulumi = require("@pulumi/pulumi");
  const render = require(path.join(root, "local/render/index.ts"));
  const config = render.readStackConfig(stack);
  // A target stack's reference is fed as synth feeds it: the stack it names, rendered first.
  const references = await render.stackReferencesFor(stack, config);
  const mocks = new render.StackMocks(render.stackAccountId(config), config["aws:region"], references);
  await pulumi.runtime.setMocks(mocks, render.projectName(), stack, false, render.ORGANIZATION);
  for (const [key, value] of Object.entries(config)) pulumi.runtime.setConfig(key, value);
  const program = require(path.join(root, "index.ts"));
  const outputs = {};
  for (const [key, value] of Object.entries(program)) {
    outputs[key] = pulumi.Output.isInstance(value) ? await value.promise() : value;
  }
  process.stdout.write(`${JSON.stringify({ typescript: ts.version, tsnode: tsnodeRequire, outputs })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

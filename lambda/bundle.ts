import * as path from "node:path";
import { build, buildSync, BuildOptions, BuildResult } from "esbuild";
import { HANDLER_RUNTIME } from "../common/push-trigger";

/** esbuild's target for a Lambda Node.js runtime ("nodejs24.x" → "node24"). */
export function esbuildTarget(runtime: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (major === undefined)
    throw new Error(`${JSON.stringify(runtime)} is not a Lambda Node.js runtime (nodejsNN.x)`);
  return `node${major}`;
}

/**
 * One CommonJS file with everything the handler needs, the AWS SDK included: the function runs
 * the SDK version this project tested, not whichever one the Lambda runtime happens to ship.
 * Not minified, so that stack traces in the logs point at readable lines; the output does not
 * depend on where the checkout lives, so an unchanged handler gives Pulumi an unchanged asset.
 */
function bundleOptions(): BuildOptions {
  return {
    absWorkingDir: path.resolve(__dirname, ".."),
    entryPoints: [path.join("lambda", "index.ts")],
    bundle: true,
    platform: "node",
    target: esbuildTarget(HANDLER_RUNTIME),
    format: "cjs",
    legalComments: "none",
    write: false,
    logLevel: "silent",
  };
}

function onlyOutput(result: BuildResult): string {
  const files = result.outputFiles ?? [];
  if (files.length !== 1) {
    throw new Error(`bundling lambda/index.ts produced ${files.length} files, expected exactly one`);
  }
  return files[0].text;
}

/** The bundled handler as CommonJS source text (save it as HANDLER_FILE_NAME). */
export async function bundleHandler(): Promise<string> {
  return onlyOutput(await build(bundleOptions()));
}

/** The same bundle, built synchronously (for program code that cannot await). */
export function bundleHandlerSync(): string {
  return onlyOutput(buildSync(bundleOptions()));
}

import * as path from "node:path";
import { build, buildSync, BuildOptions } from "esbuild";
import { cachedBuild, cachedBuildSync } from "../common/bundle-cache";
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
function bundleOptions(): BuildOptions & { absWorkingDir: string } {
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

/**
 * The bundled handler as CommonJS source text (save it as HANDLER_FILE_NAME), from the checkout's
 * bundle cache (common/bundle-cache.ts) when nothing it reads changed.
 */
export async function bundleHandler(): Promise<string> {
  return cachedBuild(bundleOptions(), build);
}

/** The same bundle, built synchronously (for program code that cannot await). */
export function bundleHandlerSync(): string {
  return cachedBuildSync(bundleOptions(), buildSync);
}

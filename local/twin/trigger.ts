/**
 * The push trigger as the stack deploys it: the same bundle (its sha256 checked against the
 * rendered code asset), saved under the rendered file name, its rendered handler called with each
 * event the rule delivered, in a process of its own with exactly the rendered environment plus what
 * Lambda adds: the function role's credentials (assumed through moto's STS) and the endpoint.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleHandler } from "../../lambda/bundle";
import { awsEnvironment, Credentials } from "../moto";
import { TwinPlan } from "./plan";

export interface TriggerRun {
  readonly result: { status: string; commandId?: string; reason?: string } | undefined;
  /** The handler's JSON log lines. */
  readonly logs: Array<Record<string, unknown>>;
  readonly error?: string;
}

export interface PushTrigger {
  invoke(event: unknown): Promise<TriggerRun>;
}

/** Loads the bundle as Lambda would and calls the handler with the event on stdin (one process per event). */
const RUNNER = (file: string, exportName: string) => `
const handler = require(${JSON.stringify(file)})[${JSON.stringify(exportName)}];
let input = "";
process.stdin.on("data", (chunk) => (input += chunk)).on("end", async () => {
  try {
    const result = await handler(JSON.parse(input));
    process.stdout.write("RESULT " + JSON.stringify(result) + "\\n");
  } catch (error) {
    process.stdout.write("ERROR " + JSON.stringify(String(error && error.message || error)) + "\\n");
  }
});
`;

export async function loadPushTrigger(
  plan: TwinPlan,
  dir: string,
  endpoint: string,
  credentials: Credentials,
): Promise<PushTrigger> {
  const bundle = await bundleHandler();
  const sha256 = createHash("sha256").update(bundle).digest("hex");
  if (sha256 !== plan.pushTrigger.sha256) {
    throw new Error(
      `the push trigger bundle built now (sha256 ${sha256}) is not the one the css stack renders (${plan.pushTrigger.sha256})`,
    );
  }
  const [moduleName, exportName] = plan.pushTrigger.handler.split(".");
  if (`${moduleName}.js` !== plan.pushTrigger.fileName)
    throw new Error(
      `the function's handler ${plan.pushTrigger.handler} is not in its code file ${plan.pushTrigger.fileName}`,
    );
  const functionDir = join(dir, "function");
  await mkdir(functionDir, { recursive: true });
  await writeFile(join(functionDir, plan.pushTrigger.fileName), bundle);
  await writeFile(join(functionDir, "runner.js"), RUNNER(`./${plan.pushTrigger.fileName}`, exportName));
  const env = {
    PATH: process.env.PATH ?? "",
    NODE_NO_WARNINGS: "1",
    ...plan.pushTrigger.environment,
    ...awsEnvironment(endpoint, credentials, plan.region),
  };
  return {
    invoke: (event) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["runner.js"], {
          cwd: functionDir,
          env,
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.once("error", reject);
        child.once("close", (code) => {
          const lines = stdout.split("\n").filter((l) => l.trim() !== "");
          const resultLine = lines.find((l) => l.startsWith("RESULT "));
          const errorLine = lines.find((l) => l.startsWith("ERROR "));
          const logs = lines
            .filter((l) => !l.startsWith("RESULT ") && !l.startsWith("ERROR "))
            .map((l) => {
              try {
                return JSON.parse(l) as Record<string, unknown>;
              } catch {
                return { line: l };
              }
            });
          if (code !== 0 && resultLine === undefined && errorLine === undefined) {
            resolve({
              result: undefined,
              logs,
              error: `the handler's process exited ${code}: ${stderr.trim()}`,
            });
            return;
          }
          resolve({
            result: resultLine ? JSON.parse(resultLine.slice("RESULT ".length)) : undefined,
            logs,
            ...(errorLine ? { error: JSON.parse(errorLine.slice("ERROR ".length)) as string } : {}),
          });
        });
        child.stdin.end(JSON.stringify(event));
      }),
  };
}

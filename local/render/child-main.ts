/**
 * The child process's entry (child.ts starts it): `node --import tsx child-main.ts REQUEST RESULT`
 * reads a RenderRequest, renders it in this process and writes `{rendering}` or `{error}` to
 * RESULT. The parent reads the file, not stdout, so nothing the program prints can garble it.
 */
import * as fs from "node:fs";
import { renderInThisProcess } from "./in-process";
import { RenderRequest } from "./types";

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

async function childMain(requestFile: string, resultFile: string): Promise<void> {
  const request = JSON.parse(fs.readFileSync(requestFile, "utf8")) as RenderRequest;
  // An error in an apply can surface as an unhandled rejection rather than through an output.
  const fail = (error: unknown) => {
    fs.writeFileSync(resultFile, JSON.stringify({ error: errorText(error) }));
    process.exit(1);
  };
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);
  try {
    const rendering = await renderInThisProcess(request);
    fs.writeFileSync(resultFile, JSON.stringify({ rendering }));
    process.exit(0);
  } catch (error) {
    fail(error);
  }
}

if (require.main === module) {
  void childMain(process.argv[2], process.argv[3]);
}

/** People-facing log lines, on stderr (stdout carries only the result lines). */
export const PROGRAM = "ecr-sync";

export function log(message: string): void {
  const time = new Date().toISOString().slice(0, 19) + "Z";
  process.stderr.write(`${time} ${PROGRAM}: ${message}\n`);
}

import { EXIT, ExitCode } from "../../common/result-lines";

/**
 * A failure the copier reports: its exit code (the class, from structured data: an HTTP status, an
 * SDK error's name, an errno) and one sentence for people naming the side and the endpoint.
 */
export class Failure extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = "Failure";
  }
}

export const failure = (code: ExitCode, message: string): Failure => new Failure(code, message);

/** A Failure as is; anything else (a bug) as exit 1 with its message. */
export function asFailure(error: unknown): Failure {
  if (error instanceof Failure) return error;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new Failure(EXIT.failed, `unexpected failure: ${text}`);
}

/** The errno codes that mean the state directory's file system cannot take a write. */
const STATE_WRITE_CODES = new Set([
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "EACCES",
  "EPERM",
  "EIO",
  "ELOOP",
  "ENOTDIR",
  "EEXIST",
]);

/** A failed write or open in the state directory: exit 3, naming the path and what to do. */
export function stateFailure(error: unknown, what: string, stateDir: string): Failure {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === undefined || !STATE_WRITE_CODES.has(code)) return asFailure(error);
  const why =
    code === "ENOSPC" || code === "EDQUOT"
      ? "the file system is full"
      : code === "EROFS"
        ? "the file system is read-only"
        : code === "ELOOP"
          ? "a symlink is in the way (never followed)"
          : code === "EEXIST"
            ? "something is already there"
            : `${code}`;
  return new Failure(
    EXIT.config,
    `cannot ${what} (${why}): check ECR_SYNC_STATE_DIR (${stateDir}): it must be a writable directory only the user running ecr-sync owns`,
  );
}

import { ImageLine, ImageResult, ReconcileLine, ResultLine } from "../../common/result-lines";
import { Clock, seconds } from "./clock";
import { log } from "./log";

/** Where every result line goes besides stdout (the telemetry: metrics and the results log). */
export interface ResultSink {
  (line: ResultLine): void;
  /** Sends what it still holds; the run waits for it before it exits. */
  close?(): Promise<void>;
}

/** What a result line is about, and when the tag's lock was taken (for copy_s). */
export interface ImageContext {
  readonly source: string;
  readonly target: string;
  /** Monotonic milliseconds when the tag's lock was taken: copied, unchanged and superseded lines then carry copy_s. */
  readonly lockedAt?: number;
}

/** The push event's time (copy --pushed-at): lines with copy_s then carry pushed_at and latency_s. */
export interface PushTime {
  readonly text: string;
  readonly epochMicros: number;
}

const TIMED: readonly ImageResult[] = ["copied", "unchanged", "superseded"];

/**
 * The one way out for result lines: each is printed on stdout as one JSON object and handed to
 * every sink, and counted for the reconcile's summary. A failed line's error is logged too.
 */
export class Results {
  private readonly counts = new Map<ImageResult, number>();
  private readonly referrerCounts = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly sinks: ResultSink[] = [],
    private readonly pushTime?: PushTime,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  addSink(sink: ResultSink): void {
    this.sinks.push(sink);
  }

  image(
    result: ImageResult,
    context: ImageContext,
    fields: {
      digest?: string;
      error?: string;
      event_digest?: string;
      planned_digest?: string;
      reason?: string;
    } = {},
  ): ImageLine {
    if (fields.error !== undefined) log(`error: ${fields.error}`);
    const line: Record<string, string | number> = { result, source: context.source, target: context.target };
    for (const [name, value] of Object.entries(fields))
      if (value !== undefined && value !== "") line[name] = value;
    if (context.lockedAt !== undefined && TIMED.includes(result)) {
      line.copy_s = seconds(this.clock.monotonic() - context.lockedAt);
      if (this.pushTime !== undefined) {
        line.pushed_at = this.pushTime.text;
        line.latency_s = seconds(this.clock.wall() - this.pushTime.epochMicros / 1000);
      }
    }
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
    return this.emit(line as unknown as ImageLine);
  }

  /** A referrer's line: what happened to it, and the image it travels with. */
  referrer(
    result: "copied" | "unsupported" | "failed",
    images: { readonly source: string; readonly target: string },
    fields: { subject: string; referrer?: string; artifact_type?: string; error?: string; reason?: string },
  ): ImageLine {
    if (fields.error !== undefined) log(`error: ${fields.error}`);
    const line: Record<string, string> = { result, source: images.source, target: images.target };
    for (const [name, value] of Object.entries(fields))
      if (value !== undefined && value !== "") line[name] = value;
    this.referrerCounts.set(result, (this.referrerCounts.get(result) ?? 0) + 1);
    return this.emit(line as unknown as ImageLine);
  }

  /** The reconcile's last line; a dry run's says so, so that no one counts it as a run. */
  summary(startedAt: number, dryRun = false): ReconcileLine {
    const count = (result: ImageResult) => this.counts.get(result) ?? 0;
    return this.emit({
      result: "reconcile",
      copied: count("copied"),
      unchanged: count("unchanged"),
      superseded: count("superseded"),
      failed: count("failed"),
      unsupported: count("unsupported"),
      planned: count("planned"),
      referrers_copied: this.referrerCounts.get("copied") ?? 0,
      referrers_unsupported: this.referrerCounts.get("unsupported") ?? 0,
      referrers_failed: this.referrerCounts.get("failed") ?? 0,
      duration_s: seconds(this.clock.monotonic() - startedAt),
      ...(dryRun ? { dry_run: true as const } : {}),
    });
  }

  private emit<T extends ResultLine>(line: T): T {
    this.write(`${JSON.stringify(line)}\n`);
    for (const sink of this.sinks) {
      try {
        sink(line);
      } catch (error) {
        log(`warning: a result sink failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return line;
  }

  /** Waits for every sink to send what it holds. */
  async close(): Promise<void> {
    await Promise.all(
      this.sinks.map((sink) =>
        sink.close?.().catch((error: unknown) => {
          log(
            `warning: a result sink failed to close: ${error instanceof Error ? error.message : String(error)}`,
          );
        }),
      ),
    );
  }
}

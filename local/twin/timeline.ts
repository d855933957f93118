/** What the twin prints: one progress line per step, the timeline of the image's journey, the verdict. */
import type { TwinResult } from "./run";

export interface Step {
  readonly label: string;
  readonly at: Date;
  readonly note?: string;
}

export class Progress {
  private readonly started = Date.now();

  constructor(private readonly write: (line: string) => void) {}

  /** One line, prefixed with the seconds since the twin started. */
  step(text: string): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1).padStart(5);
    this.write(`[${seconds}s] ${text}`);
  }

  line(text: string): void {
    this.write(text);
  }
}

/** The timeline: each step's clock time and its offset from the first, then the `total` line. */
export function timelineLines(title: string, steps: readonly Step[], total: string): string[] {
  if (steps.length === 0) return [];
  const start = steps[0].at.getTime();
  const width = Math.max(...steps.map((s) => s.label.length));
  const lines = [title];
  for (const s of steps) {
    const offset = `+${((s.at.getTime() - start) / 1000).toFixed(2)}s`.padStart(9);
    lines.push(`  ${s.at.toISOString()}  ${offset}  ${s.label.padEnd(width)}${s.note ? `  ${s.note}` : ""}`);
  }
  lines.push(`  ${total}`);
  return lines;
}

/** The run in one sentence, for the last line. */
export function verdict(result: TwinResult): string {
  const arrived =
    `${result.source} (${result.platforms.join(" and ")}) arrived in legacy as ${result.target} with the same digest and its cosign signature ` +
    `${result.latency_s} s after the push (as the copier measured it; the copy itself took ${result.copy_s} s)`;
  return result.healed
    ? `${arrived}, and when it was deleted there the reconcile brought it back.`
    : `${arrived}, but when it was deleted there the reconcile did not bring it back (see "heal failed" above).`;
}

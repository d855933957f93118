/** What the twin prints: one progress line per step, then the timeline of the image's journey. */

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

/** The timeline: each step's clock time and its offset from the first, then the total. */
export function timelineLines(title: string, steps: readonly Step[], totalLabel: string): string[] {
  if (steps.length === 0) return [];
  const start = steps[0].at.getTime();
  const width = Math.max(...steps.map((s) => s.label.length));
  const lines = [title];
  for (const s of steps) {
    const offset = `+${((s.at.getTime() - start) / 1000).toFixed(2)}s`.padStart(9);
    lines.push(`  ${s.at.toISOString()}  ${offset}  ${s.label.padEnd(width)}${s.note ? `  ${s.note}` : ""}`);
  }
  const total = (steps[steps.length - 1].at.getTime() - start) / 1000;
  lines.push(`  ${totalLabel}: ${total.toFixed(2)} s`);
  return lines;
}

/**
 * A HAND-WRITTEN STAND-IN for CloudWatch Logs' evaluator of metric filter patterns, cut to the one
 * form still used: `{ $.key = "string" }`, the push trigger's function-log filters
 * (components/metrics.ts) and, in test/integration/telemetry-under-agent.test.ts, the old copier
 * filters that test proves wrong. moto stores metric filters but evaluates no JSON pattern (its
 * filter_log_events treats `{ … }` as unsupported and matches every event) and publishes no metric
 * from them, so nothing more faithful runs here.
 *
 * The rule it keeps from CloudWatch: a JSON pattern matches an event only when the whole event is one
 * JSON object ("Metric filters … JSON log events": one object per event). The value `1` or `$.key` (a
 * number, else nothing is published). Anything else throws rather than guessing.
 */

const PATTERN = /^\{\s*\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*\}$/;

function parsePattern(pattern: string): { key: string; value: string } {
  const m = PATTERN.exec(pattern.trim());
  if (m === null) throw new Error(`not a pattern this stand-in evaluates: ${pattern}`);
  return { key: m[1], value: JSON.parse(m[2]) as string };
}

function parseEvent(message: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The value one log event adds to the metric: the literal, or the number a `$.key` selects;
 * `undefined` when the event does not match or the selector finds no number (nothing published).
 */
export function metricValue(pattern: string, value: string, message: string): number | undefined {
  const { key, value: expected } = parsePattern(pattern);
  const event = parseEvent(message);
  if (event === undefined || event[key] !== expected) return undefined;
  if (!value.startsWith("$.")) return Number(value);
  const selected = event[value.slice(2)];
  return typeof selected === "number" ? selected : undefined;
}

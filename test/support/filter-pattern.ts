/**
 * A HAND-WRITTEN STAND-IN for CloudWatch Logs' evaluator of metric filter patterns, for the JSON
 * subset components/metrics.ts uses. moto_server stores metric filters but evaluates no JSON
 * pattern (its filter_log_events treats `{ … }` as "unsupported" and matches every event), and
 * publishes no metric from them, so nothing more faithful runs here.
 *
 * Covered: `{ COND }` and `{ (COND) && (COND) … }`, COND being `$.key = "string"` (exact, case
 * sensitive), `$.key = number`, or `$.key OP number` with OP one of = != > < >= <= (a numeric
 * comparison on a JSON number only). The event must be one JSON object, as CloudWatch requires
 * of JSON patterns. A metric value `$.key` must select a number; a string or a missing key
 * publishes nothing, as CloudWatch does.
 *
 * Not covered: `||`, nested selectors and arrays (`$.a.b`, `$.a[0]`), `*` wildcards in strings,
 * `IS NULL`/`NOT EXISTS`/`IS TRUE`, regex (`%…%`), term and space-delimited patterns, the
 * coercion CloudWatch applies to numeric strings, and how a Lambda text-format prefix
 * (time, request id, level) before the JSON is handled. Any of those throws here rather than
 * guessing.
 */

type Condition = { key: string; op: string; value: string | number };

const CONDITION = /^\$\.([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=|>=|<=|>|<)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)$/;

export function parsePattern(pattern: string): Condition[] {
  const body = /^\{\s*(.*?)\s*\}$/.exec(pattern.trim());
  if (body === null) throw new Error(`not a JSON pattern this stand-in evaluates: ${pattern}`);
  if (body[1].includes("||")) throw new Error(`|| is not covered by this stand-in: ${pattern}`);
  const parts = body[1].split("&&").map((part) => part.trim());
  return parts.map((part) => {
    const inner = parts.length > 1 ? /^\((.*)\)$/.exec(part)?.[1]?.trim() : part;
    const m = inner === undefined ? null : CONDITION.exec(inner);
    if (m === null) throw new Error(`condition not covered by this stand-in: ${part} (in ${pattern})`);
    const value = m[3].startsWith('"') ? (JSON.parse(m[3]) as string) : Number(m[3]);
    if (typeof value === "string" && m[2] !== "=" && m[2] !== "!=")
      throw new Error(`string comparison ${m[2]} is not covered: ${part}`);
    return { key: m[1], op: m[2], value };
  });
}

function holds(c: Condition, event: Record<string, unknown>): boolean {
  const actual = event[c.key];
  if (typeof c.value === "string") {
    if (typeof actual !== "string") return c.op === "!=";
    return c.op === "=" ? actual === c.value : actual !== c.value;
  }
  if (typeof actual !== "number") return false;
  switch (c.op) {
    case "=":
      return actual === c.value;
    case "!=":
      return actual !== c.value;
    case ">":
      return actual > c.value;
    case "<":
      return actual < c.value;
    case ">=":
      return actual >= c.value;
    default:
      return actual <= c.value;
  }
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

/** Whether the pattern matches the log event's message. */
export function matches(pattern: string, message: string): boolean {
  const conditions = parsePattern(pattern);
  const event = parseEvent(message);
  return event !== undefined && conditions.every((c) => holds(c, event));
}

/**
 * The value a matching event adds to the metric: the literal, or the number a `$.key` selects;
 * `undefined` when the event does not match or the selector finds no number (nothing published).
 */
export function metricValue(pattern: string, value: string, message: string): number | undefined {
  if (!matches(pattern, message)) return undefined;
  if (!value.startsWith("$.")) return Number(value);
  const selected = parseEvent(message)?.[value.slice(2)];
  return typeof selected === "number" ? selected : undefined;
}

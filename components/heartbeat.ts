/**
 * The no-reconcile alarm's clock (components/alerting.ts): how many hours without a finished
 * reconcile raise it, and which schedules it can wait for. Plain values, so that the config check
 * (components/config-values.ts) refuses at `pulumi up` a schedule the alarm would fire between runs
 * of, by the same rule the alarm is built with.
 */

/** The floor: a daily schedule, plus two hours for a slow run and jitter. */
export const HEARTBEAT_MIN_HOURS = 26;
/** What the alarm adds to a schedule's interval: a slow run and jitter. */
export const HEARTBEAT_SLACK_HOURS = 2;
/**
 * CloudWatch evaluates at most 7 days: "Period multiplied by EvaluationPeriods can't be more than
 * 604,800 seconds" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export const HEARTBEAT_MAX_HOURS = 168;

/** The interval of a `rate(…)` expression in hours; `undefined` for anything else. */
function rateHours(scheduleExpression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(scheduleExpression.trim());
  if (rate === null) return undefined;
  return Number(rate[1]) * { minute: 1 / 60, hour: 1, day: 24 }[rate[2] as "minute" | "hour" | "day"];
}

/**
 * How many hours without a finished reconcile raise the no-reconcile alarm: 26, or for a `rate(…)`
 * schedule less often than daily, its interval plus two hours (so `rate(2 days)` does not alarm
 * every other day); at most 168. A `cron(…)` gets 26: the config admits only crons that run every day.
 */
export function heartbeatHours(scheduleExpression: string): number {
  const hours = rateHours(scheduleExpression);
  if (hours === undefined) return HEARTBEAT_MIN_HOURS;
  return Math.min(
    HEARTBEAT_MAX_HOURS,
    Math.max(HEARTBEAT_MIN_HOURS, Math.ceil(hours) + HEARTBEAT_SLACK_HOURS),
  );
}

/** The rarest rate the alarm covers, in whole days: its interval plus the slack fits in 168 hours. */
const RAREST_COVERED_RATE = `rate(${Math.floor((HEARTBEAT_MAX_HOURS - HEARTBEAT_SLACK_HOURS) / 24)} days)`;

/**
 * Why the no-reconcile alarm cannot wait for a well-formed Scheduler expression (it would fire
 * between two runs that are on time), or `undefined` when it can: a rate whose interval plus the
 * slack fits in what CloudWatch evaluates, or a cron that runs every day (the alarm gives a cron 26
 * hours; finding the longest gap of an arbitrary cron is not worth its bugs).
 */
export function heartbeatCannotCover(scheduleExpression: string): string | undefined {
  const expression = scheduleExpression.trim();
  const hours = rateHours(expression);
  if (hours !== undefined) {
    if (Math.ceil(hours) + HEARTBEAT_SLACK_HOURS <= HEARTBEAT_MAX_HOURS) return undefined;
    return (
      `runs every ${+hours.toFixed(2)} hours, but the no-reconcile alarm fires after at most ${HEARTBEAT_MAX_HOURS} hours without a ` +
      `finished reconcile (the longest CloudWatch evaluates), so it would fire between two runs on time: ` +
      `run it at least every ${HEARTBEAT_MAX_HOURS - HEARTBEAT_SLACK_HOURS} hours (${RAREST_COVERED_RATE} at most)`
    );
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron === null) return undefined;
  const [, , dayOfMonth, month, dayOfWeek, year] = cron[1].trim().split(/\s+/);
  const everyDay =
    month === "*" &&
    year === "*" &&
    ((dayOfMonth === "*" && dayOfWeek === "?") || (dayOfMonth === "?" && dayOfWeek === "*"));
  if (everyDay) return undefined;
  return (
    `does not run every day, but the no-reconcile alarm fires after ${HEARTBEAT_MIN_HOURS} hours without a finished ` +
    `reconcile from a cron schedule, so it would fire between two runs on time: run the cron every day ` +
    `(day-of-month * and day-of-week ?, month and year *), or use a rate up to ${RAREST_COVERED_RATE}`
  );
}

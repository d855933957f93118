import { isAccountId, isRoleName } from "../common/naming";
import { shown } from "../common/shown";
import { CONFIG_DEFAULTS, configKey as key } from "./config-keys";
import { heartbeatCannotCover } from "./heartbeat";

/**
 * The checks of single config values, each as plain as the value: the text as the stack holds it
 * (a default already applied by components/config.ts), the problems found pushed to `problems`
 * with the key, the value and what to do, and the typed value returned.
 */

/** The `reconcileSchedule` value that switches the scheduled reconcile off. */
export const RECONCILE_OFF = "off";

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
/** Graviton families carry a `g` right after the generation digit (t4g, m7g, c6gn, r8gd). */
const ARM64_INSTANCE_TYPE = /^[a-z]+\d+g[a-z]*\./;
const SUBNET_ID = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const AMI_PARAMETER = /^\/aws\/service\/[A-Za-z0-9_.\-/]+$/;
/** `stack`, `project/stack` or `organization/project/stack`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+){0,2}$/;

export function checkRoleName(name: string, problems: string[]): void {
  if (!isRoleName(name)) {
    problems.push(
      `${key("targetRoleName")}: ${shown(name)} is not a valid IAM role name (1–64 of letters, digits and +=,.@_-)`,
    );
  }
}

/** Checks the instance type and that the AMI parameter names an image of its architecture. */
export function checkWorkerImage(instanceType: string, amiParameter: string, problems: string[]): void {
  const typeIsValid = INSTANCE_TYPE.test(instanceType);
  if (!typeIsValid) {
    problems.push(
      `${key("workerInstanceType")}: ${shown(instanceType)} is not an EC2 instance type (e.g. t4g.small)`,
    );
  }
  if (!AMI_PARAMETER.test(amiParameter)) {
    problems.push(
      `${key("workerAmiParameter")}: ${shown(amiParameter)} is not a public AMI parameter (it starts with /aws/service/)`,
    );
    return;
  }
  if (!typeIsValid) return;
  const armImage = /(^|[/_-])(arm64|aarch64)($|[/_-])/.test(amiParameter);
  const armType = ARM64_INSTANCE_TYPE.test(instanceType);
  if (armImage !== armType) {
    problems.push(
      `${key("workerAmiParameter")} ${shown(amiParameter)} is for ${armImage ? "arm64" : "x86_64"} but ${key("workerInstanceType")} ${shown(instanceType)} is ${armType ? "arm64 (Graviton)" : "x86_64"}: change one so they match`,
    );
  }
}

/** `undefined` (no subnet chosen: a default subnet of the default VPC) or a subnet id. */
export function parseSubnetId(text: string | undefined, problems: string[]): string | undefined {
  if (text !== undefined && !SUBNET_ID.test(text)) {
    problems.push(
      `${key("workerSubnetId")}: ${shown(text)} is not a subnet id (subnet- and 8 or 17 hex digits); leave it unset to use a default subnet`,
    );
  }
  return text;
}

export function checkStackName(name: string, problems: string[]): void {
  if (!STACK_NAME.test(name)) {
    problems.push(
      `${key("sourceStack")}: ${shown(name)} is not a stack name (organization/project/stack, e.g. organization/ecr-sync/css)`,
    );
  }
}

/**
 * What to add when an account id arrives as fewer than 12 digits: YAML reads an unquoted id as a
 * number, and a number drops a leading zero (yaml.v3, which the Pulumi CLI uses, even reads
 * `0123…` as octal), so the id the stack file meant may be right there with its zero lost.
 */
export function lostLeadingZero(value: unknown, file: string): string {
  const digits = typeof value === "number" ? String(value) : value;
  if (typeof digits !== "string" || !/^\d{1,11}$/.test(digits)) return "";
  return `; if ${file} writes it without quotes and it starts with 0, YAML read it as a number and lost the zero: quote it ("0…")`;
}

/** `aws:allowedAccountIds` must name exactly one account: the one this stack deploys into. */
export function parseAllowedAccountIds(
  text: string | undefined,
  problems: string[],
  file = "the stack's config",
): string | undefined {
  const fix = 'set it to the one account this stack may deploy into, e.g. ["770203350335"]';
  if (text === undefined || text.trim() === "") {
    problems.push(`aws:allowedAccountIds is missing: ${fix}`);
    return undefined;
  }
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch {
    problems.push(`aws:allowedAccountIds: ${shown(text)} is not a list: ${fix}`);
    return undefined;
  }
  if (Array.isArray(ids) && ids.length === 1 && typeof ids[0] === "number") {
    problems.push(
      `aws:allowedAccountIds: ${shown(ids)} lists a number, not an account id: write the id in quotes in ${file} (- "770203350335")${lostLeadingZero(ids[0], file)}`,
    );
    return undefined;
  }
  if (!Array.isArray(ids) || ids.length !== 1 || !isAccountId(ids[0])) {
    problems.push(
      `aws:allowedAccountIds: ${shown(ids)} must list exactly one 12-digit account id: ${fix}${Array.isArray(ids) && ids.length === 1 ? lostLeadingZero(ids[0], file) : ""}`,
    );
    return undefined;
  }
  return ids[0];
}

export function parseRetention(text: string, problems: string[]): number {
  const days = Number(text);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    problems.push(
      `${key("logRetentionDays")}: ${shown(text)} is not a retention CloudWatch Logs accepts (one of ${LOG_RETENTION_DAYS.join(", ")})`,
    );
  }
  return days;
}

/** One address, as SNS's e-mail protocol takes it: local@domain.tld, no spaces, no list. */
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** The `alertEmail` value that says, on purpose, that no address is subscribed here. */
export const ALERT_EMAIL_NONE = "none";

const ALERT_EMAIL_CHOICES =
  `set it to one e-mail address the alert topic mails (e.g. kuali-oncall@example.edu), ` +
  `or to ${ALERT_EMAIL_NONE} if another endpoint (chat, paging) is subscribed to the alertTopicArn output by hand`;

/**
 * Where alerts go, required on a css stack so that nobody deploys an alert topic without a
 * reader by accident: one address, or `none` (returned as `undefined`: no e-mail subscription).
 */
export function parseAlertEmail(text: string | undefined, problems: string[]): string | undefined {
  if (text === undefined || text.trim() === "") {
    problems.push(`${key("alertEmail")} is missing: ${ALERT_EMAIL_CHOICES}`);
    return undefined;
  }
  const address = text.trim();
  if (address === ALERT_EMAIL_NONE) return undefined;
  if (address.length > 254 || !EMAIL.test(address)) {
    problems.push(
      `${key("alertEmail")}: ${shown(text)} is neither one e-mail address nor ${ALERT_EMAIL_NONE}: ${ALERT_EMAIL_CHOICES}`,
    );
    return undefined;
  }
  return address;
}

/** What the alerts call the runbook when ecr-sync:runbookUrl is not set: its path in this repository. */
export const RUNBOOK_PATH = "docs/runbook.md";

/**
 * ecr-sync:runbookUrl: the runbook's web address, so an alert e-mail links it (a path is not a
 * link); empty, the alerts name RUNBOOK_PATH. An https URL without a fragment (the alerts add the
 * section), without credentials (every alarm would show them), of printable ASCII without spaces,
 * quotes, angle brackets or backslashes (which end a link in a mail reader), at most RUNBOOK_URL_MAX.
 */
export function parseRunbookUrl(text: string | undefined, problems: string[]): string {
  const value = (text ?? "").trim();
  if (value === "") return RUNBOOK_PATH;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const reason =
    url === undefined || url.protocol !== "https:"
      ? "is not an https web address"
      : url.username !== "" || url.password !== ""
        ? "carries a user name or password, which every alarm would show: give the address alone"
        : value.includes("#")
          ? "has a #section: give the page's address, the alerts add the section"
          : !/^[\x21-\x7e]*$/.test(value) || /["'<>`\\]/.test(value)
            ? "holds a space, a quote, an angle bracket, a backslash or a character outside printable ASCII, which would cut the link short in a mail reader"
            : value.length > RUNBOOK_URL_MAX
              ? `is longer than ${RUNBOOK_URL_MAX} characters (an alarm's description holds 1024)`
              : undefined;
  if (reason !== undefined) {
    problems.push(
      `${key("runbookUrl")}: ${shown(text)} ${reason} (e.g. https://github.com/ORG/ecr-sync/blob/main/docs/runbook.md); leave it unset for the path ${RUNBOOK_PATH}`,
    );
    return RUNBOOK_PATH;
  }
  return value;
}

/** The longest runbook address: the longest alarm description with it stays within CloudWatch's 1024. */
export const RUNBOOK_URL_MAX = 400;

/** The latency alarm's bounds: under a minute alarms on ordinary copies; over a day never helps. */
export const LATENCY_ALARM_SECONDS = { min: 60, max: 86400 } as const;

/** The latency (push to verified in legacy, seconds) above which the latency alarm fires. */
export function parseLatencyAlarmSeconds(text: string, problems: string[]): number {
  const seconds = Number(text.trim());
  if (
    !/^\d+$/.test(text.trim()) ||
    seconds < LATENCY_ALARM_SECONDS.min ||
    seconds > LATENCY_ALARM_SECONDS.max
  ) {
    problems.push(
      `${key("latencyAlarmSeconds")}: ${shown(text)} is not a whole number of seconds from ${LATENCY_ALARM_SECONDS.min} to ${LATENCY_ALARM_SECONDS.max} (e.g. 900, 15 minutes)`,
    );
  }
  return seconds;
}

/**
 * How many missing tags a reconcile copies at a time: the bounds the copier accepts in
 * ECR_SYNC_RECONCILE_PARALLELISM (ec2-scripts/copier/limits.ts; test/unit/contracts.test.ts keeps
 * them equal), so a value the copier would refuse on the worker at the first reconcile is refused
 * here, at `pulumi up`.
 */
export const RECONCILE_PARALLELISM = { min: 1, max: 16 } as const;

/** The reconcile's parallelism: a whole number of copies at a time within RECONCILE_PARALLELISM. */
export function parseReconcileParallelism(text: string, problems: string[]): number {
  const copies = Number(text.trim());
  if (
    !/^\d+$/.test(text.trim()) ||
    copies < RECONCILE_PARALLELISM.min ||
    copies > RECONCILE_PARALLELISM.max
  ) {
    problems.push(
      `${key("reconcileParallelism")}: ${shown(text)} is not a whole number of copies from ${RECONCILE_PARALLELISM.min} to ${RECONCILE_PARALLELISM.max} (e.g. ${CONFIG_DEFAULTS.reconcileParallelism})`,
    );
  }
  return copies;
}

/** Whether referrers travel: true or false (a YAML boolean, or its text as the CLI passes it). */
export function parseCopyReferrers(text: string, problems: string[]): boolean {
  const flag = text.trim();
  if (flag !== "true" && flag !== "false")
    problems.push(
      `${key("copyReferrers")}: ${shown(text)} is not true or false (true: an image's signatures and SBOMs travel with it; false: images only)`,
    );
  return flag !== "false";
}

const RATE = /^rate\((\d+) (minutes?|hours?|days?)\)$/;
const CRON = /^cron\(([^()]+)\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;
const SCHEDULE_EXAMPLES = `e.g. "rate(1 day)", "rate(12 hours)" or "cron(0 6 * * ? *)" (06:00 UTC daily), or "${RECONCILE_OFF}" to switch the reconcile off`;

/**
 * Checks an EventBridge Scheduler expression for the recurring reconcile: `rate(N unit)` (unit
 * singular for 1, plural otherwise, as Scheduler requires) or `cron(…)` with its six fields and
 * `?` in exactly one of day-of-month and day-of-week. One-time `at(…)` schedules are refused: a
 * reconcile that runs once does not heal later gaps; and so is a schedule the no-reconcile alarm
 * cannot wait for (components/heartbeat.ts): it would page between two runs on time. Returns
 * `undefined` for "off".
 */
export function parseReconcileSchedule(text: string, problems: string[]): string | undefined {
  const expression = text.trim();
  if (expression === RECONCILE_OFF) return undefined;
  const problem = (why: string) => {
    problems.push(`${key("reconcileSchedule")}: ${shown(text)} ${why}; ${SCHEDULE_EXAMPLES}`);
    return undefined;
  };
  const covered = (schedule: string) => {
    const why = heartbeatCannotCover(schedule);
    return why === undefined ? schedule : problem(why);
  };
  const rate = RATE.exec(expression);
  if (rate !== null) {
    const count = Number(rate[1]);
    const plural = rate[2].endsWith("s");
    if (count < 1) return problem("runs never: the rate must be at least 1");
    if (count === 1 && plural)
      return problem(
        `is not accepted by EventBridge Scheduler: write ${JSON.stringify(`rate(1 ${rate[2].slice(0, -1)})`)}`,
      );
    if (count > 1 && !plural)
      return problem(
        `is not accepted by EventBridge Scheduler: write ${JSON.stringify(`rate(${count} ${rate[2]}s)`)}`,
      );
    return covered(expression);
  }
  const cron = CRON.exec(expression);
  if (cron !== null) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6)
      return problem(
        `has ${fields.length} cron fields; Scheduler takes six (minutes hours day-of-month month day-of-week year)`,
      );
    if (!fields.every((f) => CRON_FIELD.test(f)))
      return problem("has a character a cron field does not take");
    if ((fields[2] === "?") === (fields[4] === "?"))
      return problem("must have ? in exactly one of day-of-month and day-of-week");
    return covered(expression);
  }
  if (expression.startsWith("at(")) return problem("is a one-time schedule; the reconcile must recur");
  return problem("is not a schedule expression");
}

/**
 * synth --cost: what a rendered stack costs a month, counted from what it renders (the worker's
 * instance type and volume, the alarms, dashboards, metric filters and log groups) and priced from
 * PRICES, each price with the page it was read from and the day. docs/operations.md#cost holds the
 * css stack's section as this prints it, and test/unit/synth-cost.test.ts fails when the two differ:
 * a new alarm or a bigger volume changes the page in the same pull request.
 */
import { COPIER_METRICS } from "../common/telemetry";
import { Rendering, RenderedResource } from "../local/render";

/** A unit price (us-east-1, on demand), where it was read and when. */
export interface Price {
  readonly usd: number;
  readonly per: string;
  /** How many a month each account gets free (CloudWatch's free tier), if any. */
  readonly free?: number;
  readonly source: string;
  /** YYYY-MM-DD. */
  readonly read: string;
  /** How it was read, when not straight from AWS's page. */
  readonly note?: string;
}

const EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/";
const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";
const CLOUDWATCH_SUMMARY =
  "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/";

/** Every price the table uses. Re-read the pages and change `read` when a price is checked again. */
export const PRICES = {
  /** Per instance type the worker may have; a type not here is shown without a price. */
  instanceHour: {
    "t4g.small": {
      usd: 0.0168,
      per: "hour",
      source: EC2,
      read: "2026-12-01",
      note: "the page did not load where this was written; the figure public price tables quote: check it",
    },
  } as Readonly<Record<string, Price>>,
  gp3GbMonth: {
    usd: 0.08,
    per: "GB-month",
    source: "https://aws.amazon.com/ebs/pricing/",
    read: "2026-12-01",
  },
  publicIpv4Hour: {
    usd: 0.005,
    per: "hour",
    source: "https://aws.amazon.com/vpc/pricing/",
    read: "2026-12-01",
  },
  ecrStorageGbMonth: {
    usd: 0.1,
    per: "GB-month",
    source: "https://aws.amazon.com/ecr/pricing/",
    read: "2026-12-01",
    note: "as https://cloudburn.io/blog/amazon-ecr-pricing (March 2026) summarises it",
  },
  logsIngestGb: { usd: 0.5, per: "GB ingested", free: 5, source: CLOUDWATCH, read: "2026-12-01" },
  alarmMonth: {
    usd: 0.1,
    per: "alarm metric-month",
    free: 10,
    source: CLOUDWATCH_SUMMARY,
    read: "2026-12-07",
    note: "a summary dated 2026-06-13, not AWS's page: check it",
  },
  customMetricMonth: { usd: 0.3, per: "metric-month", free: 10, source: CLOUDWATCH, read: "2026-12-01" },
  dashboardMonth: {
    usd: 3,
    per: "dashboard-month",
    free: 3,
    source: CLOUDWATCH_SUMMARY,
    read: "2026-12-07",
    note: "a summary dated 2026-06-13, not AWS's page: check it",
  },
  s3GbMonth: {
    usd: 0.023,
    per: "GB-month",
    source: "https://aws.amazon.com/s3/pricing/",
    read: "2026-12-01",
  },
} as const;

/** A month, as AWS's price pages count one. */
export const HOURS_PER_MONTH = 730;

const TYPES = {
  instance: "aws:ec2/instance:Instance",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  bucket: "aws:s3/bucket:Bucket",
  function: "aws:lambda/function:Function",
  rule: "aws:cloudwatch/eventRule:EventRule",
  schedule: "aws:scheduler/schedule:Schedule",
  queue: "aws:sqs/queue:Queue",
  topic: "aws:sns/topic:Topic",
} as const;

/** Types with a price of their own; a stack of none of these (legacy: a role) costs nothing. */
const BILLED = new Set<string>(Object.values(TYPES));

const count = (r: Rendering, type: string) => r.resources.filter((x) => x.type === type).length;
const usd = (n: number) => `$${n.toFixed(2)}`;
const WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
const words = (n: number) => WORDS[n] ?? String(n);
const plural = (n: number, one: string, many = `${one}s`) => `${words(n)} ${n === 1 ? one : many}`;

/** A CloudWatch line: how many, and what they cost beyond the free tier (per account). */
function freeTier(n: number, price: Price): string {
  const beyond = Math.max(0, n - (price.free ?? 0));
  return beyond === 0
    ? `$0 within the first ${price.free} (else ${usd(n * price.usd)})`
    : `**${usd(beyond * price.usd)}** (${beyond} beyond the first ${price.free})`;
}

/** The sources, numbered in the order PRICES lists them, each once (its earliest reading, and how). */
function sources(): Array<{ url: string; read: string; note?: string }> {
  const all: Price[] = [
    ...Object.values(PRICES.instanceHour),
    PRICES.gp3GbMonth,
    PRICES.publicIpv4Hour,
    PRICES.ecrStorageGbMonth,
    PRICES.logsIngestGb,
    PRICES.alarmMonth,
    PRICES.customMetricMonth,
    PRICES.dashboardMonth,
    PRICES.s3GbMonth,
  ];
  const seen = new Map<string, { url: string; read: string; note?: string }>();
  for (const p of all) {
    const earlier = seen.get(p.source);
    if (earlier === undefined || p.read < earlier.read)
      seen.set(p.source, { url: p.source, read: p.read, note: p.note });
  }
  return [...seen.values()];
}

/** The css stack's cost section (Markdown): the table, the fixed total, the sources with dates. */
export function costSection(rendering: Rendering): string {
  const refs = sources();
  const ref = (p: Price) => `[${refs.findIndex((s) => s.url === p.source) + 1}]`;
  const instances = rendering.resources.filter((x) => x.type === TYPES.instance);
  if (instances.length === 0 && !rendering.resources.some((x) => BILLED.has(x.type)))
    return `Stack ${rendering.stack}: nothing it renders is billed (${[...new Set(rendering.resources.map((x) => x.type))].join(", ")}); the images it lets the worker write are in the css stack's table.`;
  if (instances.length !== 1)
    throw new Error(`stack ${rendering.stack}: expected one worker instance, found ${instances.length}`);
  const worker: RenderedResource = instances[0];
  const type = String(worker.inputs.instanceType);
  const root = worker.inputs.rootBlockDevice as { volumeSize: number; volumeType: string };
  const hour = PRICES.instanceHour[type];
  const workerMonth = hour === undefined ? undefined : hour.usd * HOURS_PER_MONTH;
  // Priced for gp3 only: another type is named without a price rather than priced as gp3.
  const volumeMonth = root.volumeType === "gp3" ? root.volumeSize * PRICES.gp3GbMonth.usd : undefined;
  const ipv4Month = PRICES.publicIpv4Hour.usd * HOURS_PER_MONTH;
  const alarms = count(rendering, TYPES.alarm);
  const metrics = Object.keys(COPIER_METRICS).length + count(rendering, TYPES.metricFilter);
  const dashboards = count(rendering, TYPES.dashboard);
  const rows: Array<[string, string, string]> = [
    [
      `Worker \`${type}\`, always on`,
      hour === undefined ? `not in this table: see ${EC2}` : `$${hour.usd} per hour ${ref(hour)}`,
      workerMonth === undefined ? "see the price page" : `**${usd(workerMonth)}**`,
    ],
    [
      `Its root volume, ${root.volumeType} ${root.volumeSize} GiB`,
      volumeMonth === undefined
        ? `not in this table: see ${PRICES.gp3GbMonth.source}`
        : `$${PRICES.gp3GbMonth.usd} per GB-month ${ref(PRICES.gp3GbMonth)}`,
      volumeMonth === undefined ? "see the price page" : `**${usd(volumeMonth)}**`,
    ],
    [
      "Public IPv4 address, if the subnet gives one (default subnets do)",
      `$${PRICES.publicIpv4Hour.usd} per hour ${ref(PRICES.publicIpv4Hour)}`,
      `**${usd(ipv4Month)}**`,
    ],
    [
      "Copies of the images in legacy's ECR",
      `$${PRICES.ecrStorageGbMonth.usd.toFixed(2)} per GB-month ${ref(PRICES.ecrStorageGbMonth)}`,
      `$${PRICES.ecrStorageGbMonth.usd.toFixed(2)} × GB the mapping holds`,
    ],
    [
      `CloudWatch Logs: ${plural(count(rendering, TYPES.logGroup), "log group")}`,
      `$${PRICES.logsIngestGb.usd.toFixed(2)} per GB ingested, first ${PRICES.logsIngestGb.free} GB free ${ref(PRICES.logsIngestGb)}`,
      "cents",
    ],
    [
      `${plural(alarms, "alarm")}`,
      `$${PRICES.alarmMonth.usd.toFixed(2)} per alarm metric-month, first ${PRICES.alarmMonth.free} free ${ref(PRICES.alarmMonth)}`,
      freeTier(alarms, PRICES.alarmMonth),
    ],
    [
      `${plural(metrics, "custom metric")} (${Object.keys(COPIER_METRICS).length} the copier's, ${count(rendering, TYPES.metricFilter)} from metric filters)`,
      `$${PRICES.customMetricMonth.usd.toFixed(2)} per metric-month, first ${PRICES.customMetricMonth.free} free ${ref(PRICES.customMetricMonth)}`,
      freeTier(metrics, PRICES.customMetricMonth),
    ],
    [
      `${plural(dashboards, "dashboard")}`,
      `$${PRICES.dashboardMonth.usd.toFixed(2)} per dashboard-month, first ${PRICES.dashboardMonth.free} free ${ref(PRICES.dashboardMonth)}`,
      freeTier(dashboards, PRICES.dashboardMonth),
    ],
    [
      `The copier's bucket (${plural(count(rendering, TYPES.bucket), "bucket")}), under 1 MB per deployed copier`,
      `$${PRICES.s3GbMonth.usd} per GB-month ${ref(PRICES.s3GbMonth)}`,
      "< $0.01",
    ],
    [
      `${plural(count(rendering, TYPES.function), "Lambda function")}, ${plural(count(rendering, TYPES.rule), "EventBridge rule")}, ${plural(count(rendering, TYPES.schedule), "schedule")}, ${plural(count(rendering, TYPES.queue), "queue")}, ${plural(count(rendering, TYPES.topic), "topic")}; Run Command`,
      "free tiers, or no charge at tens of pushes a day",
      "≈ $0",
    ],
  ];
  const fixed = (workerMonth ?? 0) + (volumeMonth ?? 0) + ipv4Month;
  const beyondFree = [
    [alarms, PRICES.alarmMonth],
    [metrics, PRICES.customMetricMonth],
    [dashboards, PRICES.dashboardMonth],
  ] as const;
  const cloudWatch = beyondFree.reduce((sum, [n, p]) => sum + Math.max(0, n - (p.free ?? 0)) * p.usd, 0);
  const table = [
    "<!-- prettier-ignore-start -->",
    "| Item | Price | Per month |",
    "| --- | --- | --- |",
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
    "<!-- prettier-ignore-end -->",
  ];
  return [
    `us-east-1, on demand, a month of ${HOURS_PER_MONTH} hours, counted from what \`npm run -s synth -- --stack css\` renders:`,
    "",
    ...table,
    "",
    `About **${usd(fixed + cloudWatch)} a month** fixed${workerMonth === undefined ? ` plus the \`${type}\` worker` : ""}${volumeMonth === undefined ? " plus its volume" : ""}, plus ` +
      `$${PRICES.ecrStorageGbMonth.usd.toFixed(2)} per GB-month mirrored into legacy, which grows: nothing is deleted. ` +
      "The free allowances are per account: where other workloads use them, the CloudWatch lines cost their price.",
    "",
    `Sources (the day each price was read): ${refs.map((s, i) => `[${i + 1}] <${s.url}> (${s.read}${s.note ? `; ${s.note}` : ""})`).join(", ")}.`,
  ].join("\n");
}

/** Where docs/operations.md holds the section: between these two lines. */
export const COST_MARKERS = {
  start: "<!-- cost: generated by `npm run -s synth -- --stack css --cost`; do not edit by hand -->",
  end: "<!-- /cost -->",
} as const;

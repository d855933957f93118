/**
 * The no-reconcile heartbeat as the css stack renders it, evaluated on metric timelines by the alarm
 * stand-in (test/support/cloudwatch-alarm-standin.ts, written from AWS's documented alarm semantics): a first
 * deploy pages no one, a healthy week pages no one, and a worker that dies after a week pages within
 * the schedule's interval plus two hours of the first run it missed; daily and every other day.
 */
import { expect } from "chai";
import { Rendering, renderStack, resource } from "../../local/render";
import {
  MetricSample,
  StandInAlarm,
  alarmFromInputs,
  dataPointsAt,
  stateChanges,
} from "../support/cloudwatch-alarm-standin";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A reconcile's summary line, as the copier publishes it (ReconcileRuns, one per run). */
function finishedRun(at: number): MetricSample {
  return { namespace: "ecr-sync", metricName: "ReconcileRuns", at, value: 1 };
}

/** Runs due every `interval` from `firstDue`, `count` of them, each finishing `takes` after it was due. */
function runs(firstDue: number, interval: number, count: number, takes = 5 * MINUTE): MetricSample[] {
  return Array.from({ length: count }, (_, k) => finishedRun(firstDue + k * interval + takes));
}

/** The interval of a rate(…) expression, in ms. */
function rateMs(expression: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (m === null) throw new Error(`not a rate expression: ${expression}`);
  return Number(m[1]) * { minute: MINUTE, hour: HOUR, day: DAY }[m[2] as "minute" | "hour" | "day"];
}

interface Stack {
  readonly alarm: StandInAlarm;
  /** When `pulumi up` created the schedule group (and, in the same run, the alarm). */
  readonly deployedAt: number;
  /** The schedule's first run (its StartDate). */
  readonly firstDue: number;
  readonly interval: number;
}

function stackOf(r: Rendering): Stack {
  const schedule = resource(r, "aws:scheduler/schedule:Schedule", "ecr-sync-reconcile-schedule").inputs;
  const group = resource(r, "aws:scheduler/scheduleGroup:ScheduleGroup", "ecr-sync-reconcile-group").state;
  return {
    alarm: alarmFromInputs(
      resource(r, "aws:cloudwatch/metricAlarm:MetricAlarm", "ecr-sync-no-reconcile-alarm").inputs,
    ),
    deployedAt: Date.parse(group.creationDate as string),
    firstDue: Date.parse(schedule.startDate as string),
    interval: rateMs(schedule.scheduleExpression as string),
  };
}

/** When the alarm went to ALARM (it notifies the topic then), from its creation at the deploy until `until`. */
function pages(s: Stack, samples: MetricSample[], until: number): number[] {
  return stateChanges(s.alarm, samples, { createdAt: s.deployedAt, until })
    .filter((c) => c.to === "ALARM")
    .map((c) => c.at);
}

describe("the no-reconcile heartbeat on metric timelines (the rendered alarm, a documented-semantics stand-in)", function () {
  this.timeout(300000);
  const stacks: Record<string, Stack> = {};

  before(async () => {
    const [daily, everyOtherDay] = await Promise.all([
      renderStack("css"),
      renderStack("css", { config: { "ecr-sync:reconcileSchedule": "rate(2 days)" } }),
    ]);
    stacks["rate(1 day)"] = stackOf(daily);
    stacks["rate(2 days)"] = stackOf(everyOtherDay);
  });

  for (const expression of ["rate(1 day)", "rate(2 days)"]) {
    describe(expression, () => {
      it("pages no one on a fresh deploy: no data at all before it, the first run 30 minutes after", () => {
        const s = stacks[expression];
        expect(s.firstDue - s.deployedAt).to.be.within(30 * MINUTE, 31 * MINUTE);
        const week = Math.ceil((7 * DAY) / s.interval) + 1;
        expect(pages(s, runs(s.firstDue, s.interval, week), s.deployedAt + 7 * DAY)).to.deep.equal([]);
      });

      it("pages no one when the first run is a long backfill (its summary line 4 hours after it started)", () => {
        const s = stacks[expression];
        const samples = [finishedRun(s.firstDue + 4 * HOUR), ...runs(s.firstDue + s.interval, s.interval, 4)];
        expect(pages(s, samples, s.firstDue + 4 * s.interval)).to.deep.equal([]);
      });

      it("pages no one through a healthy week of a stack deployed long before", () => {
        const s = stacks[expression];
        const history = runs(s.firstDue, s.interval, Math.ceil((21 * DAY) / s.interval) + 1);
        const weekStart = s.deployedAt + 14 * DAY;
        const changes = stateChanges(s.alarm, history, { createdAt: weekStart, until: weekStart + 7 * DAY });
        expect(changes.map((c) => c.to)).to.deep.equal(["OK"]);
      });

      it("pages within the interval plus two hours of the first run a dead worker missed (after a week of runs)", () => {
        const s = stacks[expression];
        const count = Math.ceil((7 * DAY) / s.interval);
        const history = runs(s.firstDue, s.interval, count);
        const lastFinished = history[history.length - 1].at;
        const firstMissed = s.firstDue + count * s.interval;
        const paged = pages(s, history, firstMissed + 3 * s.interval);
        expect(paged.length, "pages").to.equal(1);
        expect(paged[0]).to.be.greaterThan(firstMissed);
        expect(paged[0]).to.be.at.most(firstMissed + s.interval + 2 * HOUR);
        // Exactly: once the hour of the last summary line has left the heartbeatHours window.
        expect(paged[0] - lastFinished).to.be.within(
          s.alarm.evaluationPeriods * HOUR,
          s.alarm.evaluationPeriods * HOUR + MINUTE,
        );
      });

      it("pages one heartbeat window after the first run was due on a fresh stack whose worker never reported", () => {
        const s = stacks[expression];
        const paged = pages(s, [], s.firstDue + s.interval + 3 * HOUR);
        expect(paged.length).to.equal(1);
        expect(paged[0] - s.firstDue).to.be.within(
          s.alarm.evaluationPeriods * HOUR,
          s.alarm.evaluationPeriods * HOUR + MINUTE,
        );
      });
    });
  }

  it("has a value for every hour of its range even while ReconcileRuns has no data at all", () => {
    const s = stacks["rate(1 day)"];
    const points = dataPointsAt(s.alarm, [], s.deployedAt + 2 * DAY);
    expect(points.every((p) => p !== undefined)).to.equal(true);
    expect(points.slice(-3)).to.deep.equal([0, 0, 0]);
  });

  it("before this change (a plain ReconcileRuns alarm, missing data breaching) paged at the deploy", () => {
    const s = stacks["rate(1 day)"];
    const before = alarmFromInputs({
      namespace: "ecr-sync",
      metricName: "ReconcileRuns",
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    });
    const paged = pages({ ...s, alarm: before }, runs(s.firstDue, s.interval, 8), s.deployedAt + 7 * DAY);
    expect(paged).to.deep.equal([s.deployedAt]);
  });
});

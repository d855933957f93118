// One line per test file as it finishes: its place in the run, the time since the start, its tests
// and how long it took, with the titles of any failures under it. At the end every failure in full
// (mocha's epilogue), the slowest files, and one closing line in the plain form CI reads:
// "tests: N passed, N failed, N skipped". Skipped tests also fail the run through --forbid-pending
// in .mocharc.json; this line makes the counts visible. `--reporter spec` lists every test instead.
//
// In parallel mode a worker sends a file's results in one piece when the file is done, so a file's
// time is measured from when a worker took it: the queue hands files out in the order given, the
// first `jobs` at once, each later one when a file finishes. That is the time a reader waits for it,
// loading included.
"use strict";
const os = require("node:os");
const path = require("node:path");
const Mocha = require("mocha");

const { Base } = Mocha.reporters;
const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } =
  Mocha.Runner.constants;

/** 83 s → "1:23"; 5 s → "0:05". */
function clock(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** 1234 → "1.2 s"; 83 000 → "83 s". */
function seconds(ms) {
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

const shown = (file) => path.relative(process.cwd(), file);

/** "47 in test/unit, then 15 in test/integration": the folders in the order their files run. */
function folders(files) {
  const counts = new Map();
  for (const file of files) {
    const folder = path.dirname(shown(file));
    counts.set(folder, (counts.get(folder) ?? 0) + 1);
  }
  return [...counts].map(([folder, n]) => `${n} in ${folder}`).join(", then ");
}

class SummaryReporter extends Base {
  constructor(runner, options) {
    super(runner, options);
    const files = (options.files ?? []).map((file) => path.resolve(file));
    const parallel = typeof runner.isParallelMode === "function" && runner.isParallelMode();
    const jobs = parallel ? Math.max(1, Number(options.jobs ?? os.cpus().length - 1)) : 1;
    /** Per file, in the order results arrive. */
    const results = new Map();
    /** When each finished file freed its worker, in order: file `jobs + i` started at `freedAt[i]`. */
    const freedAt = [];
    const finished = [];
    let runStart = Date.now();
    let reported = 0;
    let flushScheduled = false;
    let serialLast;

    const resultOf = (file) => {
      let result = results.get(file);
      if (result === undefined) {
        result = { file, passed: 0, failed: 0, skipped: 0, failures: [], lastEventAt: 0, done: false };
        results.set(file, result);
      }
      return result;
    };

    const report = (result, startedAt, endedAt) => {
      result.done = true;
      result.ms = endedAt - startedAt;
      finished.push(result);
      reported += 1;
      const counts = [
        result.failed === 0 ? `${result.passed} tests` : `${result.passed} passed, ${result.failed} failed`,
        ...(result.skipped > 0 ? [`${result.skipped} skipped`] : []),
      ].join(", ");
      const mark =
        result.failed === 0 ? Base.color("checkmark", Base.symbols.ok) : Base.color("fail", Base.symbols.err);
      const place = `${String(reported).padStart(String(files.length).length)}/${files.length}`;
      Base.consoleLog(
        `  ${place}  ${clock(endedAt - runStart).padStart(5)}  ${mark} ${shown(result.file)}  ${counts}  ${seconds(result.ms)}`,
      );
      for (const title of result.failures)
        Base.consoleLog(`                ${Base.color("fail", `${Base.symbols.err} ${title}`)}`);
    };

    // Parallel: a file's events arrive together once it is done; report them after the batch.
    const flush = () => {
      flushScheduled = false;
      const now = Date.now();
      for (const result of results.values()) {
        if (result.done) continue;
        const index = files.indexOf(result.file);
        const startedAt =
          index >= jobs && freedAt[index - jobs] !== undefined ? freedAt[index - jobs] : runStart;
        freedAt.push(now);
        report(result, startedAt, now);
      }
    };

    const record = (runnable, update) => {
      const file = runnable.file === undefined ? "(no file)" : path.resolve(runnable.file);
      const now = Date.now();
      if (!parallel && serialLast !== undefined && serialLast.file !== file) {
        // Serial: a file is done when the next one starts; it began where the one before it ended.
        const previous = finished.at(-1);
        report(serialLast, previous === undefined ? runStart : previous.lastEventAt, serialLast.lastEventAt);
      }
      const result = resultOf(file);
      update(result);
      result.lastEventAt = now;
      if (parallel && !flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
      if (!parallel) serialLast = result;
    };

    runner.once(EVENT_RUN_BEGIN, () => {
      runStart = Date.now();
      Base.consoleLog(`${files.length} test files: ${folders(files)}; ${jobs} at a time`);
    });
    runner.on(EVENT_TEST_PASS, (test) => record(test, (r) => (r.passed += 1)));
    runner.on(EVENT_TEST_PENDING, (test) => record(test, (r) => (r.skipped += 1)));
    runner.on(EVENT_TEST_FAIL, (test) =>
      record(test, (r) => {
        r.failed += 1;
        r.failures.push(test.fullTitle());
      }),
    );

    runner.once(EVENT_RUN_END, () => {
      if (parallel) flush();
      else if (serialLast !== undefined && !serialLast.done) {
        const previous = finished.at(-1);
        report(serialLast, previous === undefined ? runStart : previous.lastEventAt, serialLast.lastEventAt);
      }
      // A file that ran no test at all (it failed to load, or registered none) is a failure: a
      // green line must mean every file's tests ran. Counted in the summary and in the exit status.
      const silent = files.filter((file) => !results.has(file));
      for (const file of silent)
        Base.consoleLog(
          `  ${Base.color("fail", Base.symbols.err)} ${shown(file)}: no results: it ran no test (see any errors below)`,
        );
      // mocha's exit status is the runner's failure count, read after this event.
      runner.failures += silent.length;
      this.epilogue();
      const slowest = [...finished].sort((a, b) => b.ms - a.ms).slice(0, 3);
      if (slowest.length > 0)
        Base.consoleLog(
          `slowest files: ${slowest.map((r) => `${shown(r.file)} ${seconds(r.ms)}`).join(", ")}`,
        );
      const { passes, failures, pending } = runner.stats ?? this.stats;
      process.stdout.write(
        `tests: ${passes} passed, ${failures + silent.length} failed, ${pending} skipped\n`,
      );
    });
  }
}

module.exports = SummaryReporter;

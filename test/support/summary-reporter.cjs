// Mocha's spec reporter, plus one closing line in the plain form CI reads:
// "tests: N passed, N failed, N skipped". Skipped tests also fail the run
// through --forbid-pending in .mocharc.json; this line makes the counts visible.
"use strict";
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? this.stats;
      process.stdout.write(`tests: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;

// Progress for `gpt2-spec check`: one line per spec file on stderr as it finishes, so a long run shows it is alive.
const { basename } = require('node:path');

class ProgressReporter {
  onRunStart(results) {
    this.total = results.numTotalTestSuites;
    this.done = 0;
    process.stderr.write(`gpt2-spec: running ${this.total} spec file${this.total === 1 ? '' : 's'}\n`);
  }

  onTestStart(test) {
    this.started = this.started ?? new Map();
    this.started.set(test.path, Date.now());
  }

  onTestResult(test, result) {
    this.done += 1;
    const seconds = ((Date.now() - (this.started?.get(test.path) ?? Date.now())) / 1000).toFixed(1);
    const r = result;
    const failed = r.numFailingTests > 0 || r.testExecError;
    process.stderr.write(
      `  [${this.done}/${this.total}] ${failed ? 'FAIL' : 'ok  '} ${basename(test.path)}: ${r.numPassingTests} passed, ${r.numFailingTests} failed, ${r.numPendingTests} skipped (${seconds} s)\n`,
    );
  }
}

module.exports = ProgressReporter;

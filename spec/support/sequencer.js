// The order jest starts the suites in. jest runs the slowest first when its cache knows their times; on a first
// run (a fresh clone, CI) it goes by file size, which puts the end-to-end suites, short files that run the spec in
// child processes, last: the run then ends with one worker busy on them and the other idle. Those suites go first.
// Plain JavaScript, like the reporters: jest loads its sequencer without transforming it.
const { basename } = require('node:path');
const { jestPart } = require('./jest-parts');

const Sequencer = jestPart('@jest/test-sequencer').default;

// Slowest first, as npm test measures them; only a first run's order depends on this list, never a result.
const SLOWEST = ['86-other-languages', '90-mutants', '88-runner-protocol', '96-cli', '87-verdict'];
const rank = (test) => {
  const i = SLOWEST.indexOf(basename(test.path).replace(/\.spec\.ts$/, ''));
  return i < 0 ? SLOWEST.length : i;
};

class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((test) => test.duration != null)) return sorted;
    // A stable sort: by file size, jest's own order, after the known slow suites.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowestFirstSequencer;

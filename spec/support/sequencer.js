// The order jest starts the suites in: the longest first, slowest first, then the others in jest's own order (by the
// times in its cache, else by file size). The end-to-end suites are short files that run the spec in child processes
// for a minute or more, and the tokenizer's chapter is the longest of `npm test`: by file size (a fresh clone, CI) some
// came last, and by a cache that the last runs of single files filled, in any order; starting late, one of them ran
// alone at the end while the other worker idled. Plain JavaScript, like the reporters: jest loads its sequencer without transforming it.
const { basename } = require('node:path');
const { jestPart } = require('./jest-parts');

const Sequencer = jestPart('@jest/test-sequencer').default;

// Slowest first, as npm test measures them; only the order depends on this list, never a result.
const SLOWEST = ['85-browser', '86-other-languages', '90-mutants', '88-runner-protocol', '96-cli', '84-ci', '87-verdict', '01-tokenizer'];
const rank = (test) => {
  const i = SLOWEST.indexOf(basename(test.path).replace(/\.spec\.ts$/, ''));
  return i < 0 ? SLOWEST.length : i;
};

class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    // A stable sort: jest's own order after the end-to-end suites.
    return [...super.sort(tests)].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowestFirstSequencer;

// Runs the spec files in the tutorial's order (their numeric prefixes), the support suites after them.
const Sequencer = require('@jest/test-sequencer').default;

class TutorialOrder extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}

module.exports = TutorialOrder;

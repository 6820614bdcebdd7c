// jest's own parts that the spec builds on (its node environment, its test sequencer), found where jest itself finds
// them, from jest through jest-cli to jest-config, wherever npm placed them: they are not the package's dependencies.
// Plain JavaScript: jest loads the sequencer without transforming it.
const { dirname } = require('node:path');

const from = (name, dir) => require.resolve(name, { paths: [dir] });

function jestPart(name) {
  const jestCli = from('jest-cli', dirname(require.resolve('jest')));
  const jestConfig = from('jest-config', dirname(jestCli));
  return require(from(name, dirname(jestConfig)));
}

module.exports = { jestPart };

/** An adapter that answers every method with NotExposedError: a run on it checks nothing, and must not pass. */
import { NotExposedError } from '../../../runners/errors';

const notExposed = () => Promise.reject(new NotExposedError('exposes nothing'));
const runner = () => ({
  name: 'exposes-nothing',
  backend: 'none',
  load: () => Promise.resolve(),
  embed: notExposed,
  layerNorm: notExposed,
  attention: notExposed,
  mlp: notExposed,
  block: notExposed,
  lmHead: notExposed,
  forward: notExposed,
  dispose: () => Promise.resolve(),
});
export default { name: 'exposes-nothing', runner };

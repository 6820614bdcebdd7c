// A browser adapter that misbehaves, one way per method, for spec/85-browser.spec.ts: it writes console
// errors, throws, hangs the page's thread, never settles and answers garbage. Each must end in a clear
// failure of that call, never in a pass, and nothing it does may reach the harness but protocol messages.
import { ReferenceRunner } from '../../../runners/reference/runner';

class Hostile extends ReferenceRunner {
  constructor() {
    super();
    console.error('hostile page: an error on the console at start');
    // A page that tries to talk to the host outside the protocol: an answer with nothing in flight.
    this.stray = () => fetch('next', { method: 'POST', body: 'not a frame' });
  }

  async lmHead() {
    throw new RangeError('hostile page: lmHead refuses');
  }

  async mlp() {
    for (;;); // the page's only thread, busy for ever
  }

  block() {
    console.log('hostile page: block() is in flight');
    return new Promise(() => undefined); // never settles
  }

  async layerNorm() {
    return { dtype: 'float64', shape: [1, 1, 1], data: 'not bytes' };
  }

  async attention() {
    await this.stray();
    return super.attention(...arguments);
  }
}

export default { name: 'hostile-page', runner: () => new Hostile() };

// A browser adapter that misbehaves, one way per method, for spec/85-browser.spec.ts: it writes console
// errors, throws, hangs the page's thread, never settles, answers garbage and asks the host for files above
// the folders it serves. Each must end in a clear failure of that call (or a 404), never in a pass, and
// nothing it does may reach the harness but protocol messages.
import { ReferenceRunner } from '../../../runners/reference/runner';

const PROBES = [
  'fixtures/transformers-js/gpt2-mini/config.json',
  'fixtures/manifest.json',
  'fixtures/cases/gpt2-mini/random-8.safetensors',
  'fixtures/transformers-js/..%2fmanifest.json',
  'fixtures/..%2fpackage.json',
  'pkg/playwright-core/package.json',
  'pkg/playwright-core/..%2f..%2fpackage.json',
  'pkg/..%2fpackage.json',
  'pkg/.%2fpackage.json',
  'pkg/%E0%A4%A',
  // The folder the host serves at folder/ (spec/85 gives it inside.json, secret.json beside the folder, and two
  // links inside it that lead out: link.json to the secret, up/ to the folder above).
  'folder/inside.json',
  'folder/..%2fsecret.json',
  'folder/',
  'folder/link.json',
  'folder/up/secret.json',
];

class Hostile extends ReferenceRunner {
  constructor() {
    super();
    console.error('hostile page: an error on the console at start');
    // A page that tries to talk to the host outside the protocol: an answer with nothing in flight.
    this.stray = () => fetch('next', { method: 'POST', body: 'not a frame' });
  }

  // A page that reads files it was not given: only files inside the fixtures' model folders, inside an installed
  // package and inside the served folder are served, and never the goldens. '%2f' is a slash the URL keeps inside one segment, so '..' reaches the host as it is.
  async load(weights) {
    for (const path of PROBES) {
      const res = await fetch(path);
      console.log(`hostile page: GET ${path} ${res.status}`);
    }
    return super.load(weights);
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

/**
 * A project of someone else's, outside this checkout: an adapter module that imports a package from its
 * own node_modules and gpt2-spec itself, as a real adapter wrapping its own implementation does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp';

const ADAPTER = `
import { NotExposedError, float64 } from 'gpt2-spec';
import { addRows } from 'own-math';

// An implementation that exposes only the embedding: wte[ids] + wpe[pastLength + t].
class OwnEmbedding {
  name = 'own-embedding';
  backend = 'own-math (float64)';
  async load(weights) {
    this.wte = weights.get('wte.weight');
    this.wpe = weights.get('wpe.weight');
    this.config = weights.config;
  }
  async embed(ids, pastLength = 0) {
    const [B, T] = ids.shape;
    const D = this.config.nEmbd;
    const out = float64([B, T, D]);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const id = ids.data[b * T + t];
        if (id < 0 || id >= this.config.vocabSize) throw Object.assign(new Error('id ' + id), { name: 'TokenIdError' });
        if (pastLength + t >= this.config.nPositions) throw Object.assign(new Error('too long'), { name: 'SequenceTooLongError' });
        addRows(out.data, (b * T + t) * D, this.wte.data, id * D, this.wpe.data, (pastLength + t) * D, D);
      }
    }
    return out;
  }
  async forward() {
    throw new NotExposedError('only the embedding');
  }
  async dispose() {}
}

export default { name: 'own-embedding', runner: () => new OwnEmbedding() };
`;

const OWN_MATH = `
exports.addRows = (out, o, a, ai, b, bi, n) => {
  for (let i = 0; i < n; i++) out[o + i] = a[ai + i] + b[bi + i];
};
`;

/** Writes the project and returns the adapter's path. */
export function outsideProject(): string {
  const dir = tempDir('gpt2-spec-consumer-');
  const lib = join(dir, 'node_modules', 'own-math');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'own-math', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(lib, 'index.js'), OWN_MATH);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module' }));
  const adapter = join(dir, 'adapter.mjs');
  writeFileSync(adapter, ADAPTER);
  return adapter;
}

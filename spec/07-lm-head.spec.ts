/**
 * The LM head and the whole forward pass. After the last block and ln_f, every position's vector is
 * compared with every token's embedding: logits = ln_f(h) · wteᵀ [B,T,V]. The head has no weights of
 * its own: it is tied to wte. The forward pass chains everything: ids → embedding → n_layer blocks →
 * ln_f → logits, and returns each layer's keys and values as the KV cache.
 */
import { describe, expect } from '@jest/globals';
import { float64 } from '../runners/tensor';
import { loadModel } from './support/fixtures';
import { cheapestCase, layersOf } from './support/goldens';
import { describeEachRunner, itWhenExposed } from './support/runners';

describeEachRunner('LM head and forward pass: ln_f(h) · wteᵀ gives a logit for every token', { methods: [], component: 'lm_head' }, (runner) => {
  for (const c of runner.forwardCases()) {
    describe(`on ${c.id}`, () => {
      itWhenExposed(runner, 'lmHead', { component: 'lm_head', case: c.id }, 'scores the ln_f output against every token embedding (the head tied to wte)', async () => {
        const r = await runner.on(c.info.model);
        expect(await r.lmHead(c.get('ln_f.output'))).toMatchGolden(c.get('logits'), { tensor: 'logits', component: 'lm_head', runner: runner.name, case: c.id });
      });

      itWhenExposed(runner, 'forward', { component: 'forward.logits', case: c.id }, 'runs the whole model from ids to logits', async () => {
        const { logits } = await runner.forwardOf(c);
        expect(logits).toMatchGolden(c.get('logits'), { tensor: 'logits', component: 'forward.logits', runner: runner.name, case: c.id });
      });

      itWhenExposed(runner, 'forward', { component: 'forward.present', case: c.id }, 'returns every layer\'s keys and values as the cache for the next step', async () => {
        const { present } = await runner.forwardOf(c);
        expect(present.keys).toHaveLength(c.config.nLayer);
        expect(present.values).toHaveLength(c.config.nLayer);
        for (const i of layersOf(c)) {
          expect(present.keys[i]).toMatchGolden(c.get(`present.${i}.key`), { tensor: `present.${i}.key`, component: 'forward.present', runner: runner.name, case: c.id });
          expect(present.values[i]).toMatchGolden(c.get(`present.${i}.value`), { tensor: `present.${i}.value`, component: 'forward.present', runner: runner.name, case: c.id });
        }
      });
    });
  }

  describe('is tied to the token embedding', () => {
    const model = cheapestCase(runner.forwardCases(), () => true).info.model;
    itWhenExposed(runner, 'lmHead', { component: 'lm_head', case: `${model}/unit` }, 'gives, for the unit vector along dimension d, the column d of wte as logits', async () => {
      const r = await runner.on(model);
      const w = loadModel(model);
      const { vocabSize: V, nEmbd: D } = w.config;
      const wte = w.get('wte.weight');
      for (const d of [0, D - 1]) {
        const unit = float64([1, 1, D]);
        unit.data[d] = 1;
        const column = float64([1, 1, V], Array.from({ length: V }, (_, v) => wte.data[v * D + d]!));
        expect(await r.lmHead(unit)).toMatchGolden(column, { tensor: `wte[:, ${d}]`, component: 'lm_head', runner: runner.name, case: `${model}/unit-${d}` });
      }
    });
  });

  describe('is deterministic', () => {
    const c = cheapestCase(runner.forwardCases(), () => true);
    itWhenExposed(runner, 'forward', { component: 'forward.logits', case: c.id }, 'gives bit-identical logits when run twice on the same ids', async () => {
      const r = await runner.on(c.info.model);
      // A copy of the first result, in case the runner reuses its output buffer; then the tensors' own bytes.
      const first = (await r.forward(c.get('input_ids'))).logits.data.slice();
      const second = (await r.forward(c.get('input_ids'))).logits.data;
      const bytes = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      expect(bytes(second).equals(bytes(first))).toBe(true);
    });
  });
});

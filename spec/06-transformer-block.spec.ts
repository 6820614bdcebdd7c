/**
 * The transformer block — attention and the feed-forward network, each behind a LayerNorm and
 * each added back onto the residual stream (pre-LayerNorm, as in GPT-2):
 *   r = x + attn(ln_1(x));   out = r + mlp(ln_2(r)).
 * GPT-2 stacks n_layer such blocks.
 */
import { describe, expect, it } from '@jest/globals';
import type { Tensor } from '../runners/contract';
import { layersOf } from './support/goldens';
import { describeEachRunner, itWhenExposed } from './support/runners';

const add = (a: Tensor, b: Tensor): Tensor => ({ dtype: 'float64', shape: a.shape, data: Float64Array.from(a.data, (v, i) => v + b.data[i]!) });

describeEachRunner('Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(·))', { methods: ['block'], component: 'block' }, (runner) => {
  for (const c of runner.forwardCases()) {
    for (const i of layersOf(c)) {
      describe(`block ${i} of ${c.id}`, () => {
        it('turns its input residual stream into the golden output', async () => {
          const r = await runner.on(c.info.model);
          expect(await r.block(c.get(`h.${i}.input`), i)).toMatchGolden(c.get(`h.${i}.output`), { tensor: `h.${i}.output`, component: 'block', runner: runner.name, case: c.id });
        });

        itWhenExposed(runner, ['attention', 'layerNorm', 'mlp'], { component: 'block', case: c.id }, 'is made of the runner\'s own parts: the residual connections add attention and the feed-forward network to the stream', async () => {
          const r = await runner.on(c.info.model);
          const x = c.get(`h.${i}.input`);
          const residual = add(x, (await r.attention(await r.layerNorm(x, `h.${i}.ln_1`), i)).output);
          const composed = add(residual, await r.mlp(await r.layerNorm(residual, `h.${i}.ln_2`), i));
          expect(await r.block(x, i)).toMatchGolden(composed, { tensor: `h.${i}.output vs its parts`, component: 'block', runner: runner.name, case: c.id });
        });
      });
    }
  }
});

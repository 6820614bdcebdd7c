/**
 * The feed-forward network — after attention has mixed information across positions, each position
 * is transformed on its own: c_fc widens it to 4·D, GPT-2's GELU (the tanh approximation,
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))) bends it, and c_proj narrows it back to D.
 */
import { describe, expect, it } from '@jest/globals';
import { layersOf, positions } from './support/goldens';
import { describeEachRunner } from './support/runners';

describeEachRunner('Feed-forward network: widen to 4·D, GELU, project back, position by position', { methods: ['mlp'], component: 'mlp.output' }, (runner) => {
  for (const c of runner.forwardCases()) {
    for (const i of layersOf(c)) {
      describe(`in block ${i} of ${c.id}`, () => {
        it('maps the ln_2 output through c_fc, the tanh GELU and c_proj', async () => {
          const r = await runner.on(c.info.model);
          expect(await r.mlp(c.get(`h.${i}.ln_2.output`), i)).toMatchGolden(c.get(`h.${i}.mlp.output`), { tensor: `h.${i}.mlp.output`, component: 'mlp.output', runner: runner.name, case: c.id });
        });

        it('treats every position on its own: one position alone gives the same result', async () => {
          const r = await runner.on(c.info.model);
          const T = c.info.tokens;
          const last = await r.mlp(positions(c.get(`h.${i}.ln_2.output`), T - 1, T), i);
          expect(last).toMatchGolden(positions(c.get(`h.${i}.mlp.output`), T - 1, T), { tensor: `h.${i}.mlp.output[:, T-1]`, component: 'mlp.output', runner: runner.name, case: c.id });
        });
      });
    }
  }
});

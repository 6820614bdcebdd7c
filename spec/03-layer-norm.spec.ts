/**
 * LayerNorm — GPT-2 normalises every position's vector before attention (ln_1), before the
 * feed-forward network (ln_2), and once more at the end (ln_f):
 *   LN(x) = (x − mean(x)) / √(var(x) + ε) · γ + β,
 * with the biased variance (divided by D, not D − 1) and ε = layer_norm_epsilon.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { LayerNormSite } from '../runners/contract';
import { float64 } from '../runners/tensor';
import { cases, loadModel, openCase, tolerance } from './support/fixtures';
import { layersOf } from './support/goldens';
import { shiftScaleAllowance } from './support/layer-norm-bound';
import { describeEachRunner } from './support/runners';

describeEachRunner('LayerNorm: (x − mean) / √(var + ε) · γ + β over each position', { methods: ['layerNorm'], component: 'layer_norm' }, (runner) => {
  for (const c of runner.forwardCases()) {
    describe(`on ${c.id}`, () => {
      for (const i of layersOf(c)) {
        it(`normalises the input of block ${i} before its attention (h.${i}.ln_1)`, async () => {
          const r = await runner.on(c.info.model);
          expect(await r.layerNorm(c.get(`h.${i}.input`), `h.${i}.ln_1`)).toMatchGolden(c.get(`h.${i}.ln_1.output`), { tensor: `h.${i}.ln_1.output`, component: 'layer_norm', runner: runner.name, case: c.id });
        });
        it(`normalises the residual stream of block ${i} before its feed-forward network (h.${i}.ln_2)`, async () => {
          const r = await runner.on(c.info.model);
          expect(await r.layerNorm(c.get(`h.${i}.residual`), `h.${i}.ln_2`)).toMatchGolden(c.get(`h.${i}.ln_2.output`), { tensor: `h.${i}.ln_2.output`, component: 'layer_norm', runner: runner.name, case: c.id });
        });
      }
      it('normalises the last block\'s output once more before the LM head (ln_f)', async () => {
        const r = await runner.on(c.info.model);
        const last = c.config.nLayer - 1;
        expect(await r.layerNorm(c.get(`h.${last}.output`), 'ln_f')).toMatchGolden(c.get('ln_f.output'), { tensor: 'ln_f.output', component: 'layer_norm', runner: runner.name, case: c.id });
      });
    });
  }

  for (const c of cases('layer-norm').map(openCase).filter((c) => runner.runs(c.info.model))) {
    describe(`on crafted rows (${c.id}): constant rows, variance near ε, large offsets`, () => {
      const sites = c.keys().filter((k) => k.endsWith('.output')).map((k) => k.slice('layer_norm.'.length, -'.output'.length) as LayerNormSite);
      for (const site of sites) {
        it(`uses ε and the biased variance exactly as GPT-2 does (${site})`, async () => {
          const r = await runner.on(c.info.model);
          expect(await r.layerNorm(c.get('layer_norm.input'), site)).toMatchGolden(c.get(`layer_norm.${site}.output`), { tensor: `layer_norm.${site}.output`, component: 'layer_norm', runner: runner.name, case: c.id });
        });
      }
    });
  }

  describe('is invariant to shifting and scaling its input, up to ε', () => {
    const model = runner.forwardCases()[0]!.info.model;
    it('LN(a·x + b) = LN(x) for any offset b and scale a > 0, apart from ε\'s share', async () => {
      const r = await runner.on(model);
      const { nEmbd: D, layerNormEpsilon: eps } = loadModel(model).config;
      const gamma = loadModel(model).get('ln_f.weight');
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: D, maxLength: D }),
          fc.double({ min: -20, max: 20, noNaN: true }),
          fc.double({ min: 0.25, max: 4, noNaN: true }),
          async (row, shift, scale) => {
            const x = float64([1, 1, D], row);
            const moved = float64([1, 1, D], row.map((v) => scale * v + shift));
            const base = await r.layerNorm(x, 'ln_f');
            const after = await r.layerNorm(moved, 'ln_f');
            const allowance = shiftScaleAllowance(x, gamma, eps, scale);
            const tol = tolerance('layer_norm', after.dtype);
            // The shift adds rounding of its own in float32: |b| more in the input, so give it the input's share.
            const slack = tol.rtol * (1 + Math.abs(shift));
            for (let j = 0; j < D; j++) {
              const allowed = allowance[j]! + 2 * (tol.atol + slack * Math.abs(base.data[j]!));
              if (!(Math.abs(after.data[j]! - base.data[j]!) <= allowed)) return false;
            }
            return true;
          },
        ),
        { numRuns: 25 },
      );
    });

    it('maps a constant row to β, because its variance is 0', async () => {
      const r = await runner.on(model);
      const w = loadModel(model);
      const D = w.config.nEmbd;
      const y = await r.layerNorm(float64([1, 1, D], new Array(D).fill(0.75)), 'ln_f');
      const beta = w.get('ln_f.bias');
      expect(y).toMatchGolden({ ...beta, shape: [1, 1, D] }, { tensor: 'ln_f.bias', component: 'layer_norm', runner: runner.name, case: `${model}/constant-row` });
    });
  });
});

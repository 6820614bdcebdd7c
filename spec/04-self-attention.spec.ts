/**
 * Causal multi-head self-attention — how a position gathers information from the positions before it.
 * The ln_1 output x [B,T,D] is projected by c_attn into queries, keys and values, split into H heads of
 * Dh = D/H. Each query is scored against every key, q·kᵀ/√Dh; future positions are masked to −∞; a
 * softmax turns each row into weights; the weights mix the values; the heads are merged and c_proj
 * projects the result back to D.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Tensor } from '../runners/contract';
import { float64, ids } from '../runners/tensor';
import { compareTensors, describeComparison } from './support/compare';
import { tolerance } from './support/fixtures';
import { cheapestCase, layersOf, positions } from './support/goldens';
import { describeEachRunner, itWhenExposed } from './support/runners';

const TRACE_STEPS = [
  ['query', 'attention.qkv', 'projects each position into a query, one per head (c_attn, split into heads)'],
  ['key', 'attention.qkv', 'projects each position into a key, one per head'],
  ['value', 'attention.qkv', 'projects each position into a value, one per head'],
  ['scores', 'attention.scores', 'scores every query against every key, scaled by 1/√d_head'],
  ['weights', 'attention.weights', 'masks the future and turns each row of scores into weights with a softmax'],
  ['context', 'attention.context', 'mixes the values by the weights and merges the heads back side by side'],
] as const;

describeEachRunner('Self-attention: each position looks back at the positions before it', { methods: ['attention'], component: 'attention.output' }, (runner) => {
  for (const c of runner.forwardCases()) {
    for (const i of layersOf(c)) {
      describe(`in block ${i} of ${c.id}`, () => {
        const traced = async () => (await runner.on(c.info.model)).attention(c.get(`h.${i}.ln_1.output`), i, { trace: true });
        for (const [field, component, title] of TRACE_STEPS) {
          itWhenExposed(runner, `trace.${field}`, { component, case: c.id }, title, async () => {
            const { trace } = await traced();
            // The first case's attention weights are kept for the HTML report's heatmaps.
            const keep = field === 'weights' && c.id === runner.forwardCases()[0]!.id;
            expect(trace?.[field]).toMatchGolden(c.get(`h.${i}.attn.${field}`), { tensor: `h.${i}.attn.${field}`, component, runner: runner.name, case: c.id, keep });
          });
        }
        it('projects the merged heads back to the model width (c_proj)', async () => {
          const { output } = await traced();
          expect(output).toMatchGolden(c.get(`h.${i}.attn.output`), { tensor: `h.${i}.attn.output`, component: 'attention.output', runner: runner.name, case: c.id });
        });
        itWhenExposed(runner, 'trace.weights', { component: 'attention.weights', case: c.id }, 'gives every query a probability distribution over the keys, with exactly 0 on future positions', async () => {
          expectCausalSimplex((await traced()).trace!.weights!);
        });
      });
    }
  }

  describe('weighs the keys by a probability distribution, whatever the input', () => {
    const c = cheapestCase(runner.forwardCases(), () => true);
    itWhenExposed(runner, 'trace.weights', { component: 'attention.weights', case: 'random inputs' }, 'on any input of any length, weighs the keys by a distribution with exactly 0 on future positions', async () => {
      const r = await runner.on(c.info.model);
      const D = c.config.nEmbd;
      await fc.assert(
        fc.asyncProperty(
          sequences(1, Math.min(12, c.config.nPositions), D, 4),
          fc.integer({ min: 0, max: c.config.nLayer - 1 }),
          async ([T, values], layer) => {
            expectCausalSimplex((await r.attention(float64([1, T, D], values), layer, { trace: true })).trace!.weights!);
          },
        ),
        { numRuns: 15 },
      );
    });

    // Real checkpoints score in the hundreds: exp overflows past 88.7 in float32 and past 709.8 in float64,
    // so a softmax must subtract each row's max first (softmax(s) = softmax(s − max s)).
    itWhenExposed(runner, 'trace.weights', { component: 'attention.weights', case: 'scaled random inputs' }, 'stays a finite distribution with exactly 0 on future positions when the input is scaled up to push the scores past exp’s overflow', async () => {
      const r = await runner.on(c.info.model);
      const D = c.config.nEmbd;
      await fc.assert(
        fc.asyncProperty(
          sequences(2, Math.min(8, c.config.nPositions), D, 1),
          fc.constantFrom(30, 300, 3000),
          fc.integer({ min: 0, max: c.config.nLayer - 1 }),
          async ([T, values], factor, layer) => {
            expectCausalSimplex((await r.attention(float64([1, T, D], values.map((v) => v * factor)), layer, { trace: true })).trace!.weights!);
          },
        ),
        { numRuns: 8 },
      );
    });
  });
});

describeEachRunner('Self-attention is causal, and keeps the sequences of a batch apart', { methods: ['forward'], component: 'forward.logits' }, (runner) => {
  describe('in the whole model', () => {
    const c = cheapestCase(runner.forwardCases(), (x) => x.info.tokens >= 6 && x.info.batch === 1);
    it('never lets a later token change an earlier output', async () => {
      const r = await runner.on(c.info.model);
      const T = c.info.tokens;
      const V = c.config.vocabSize;
      const base = Array.from(c.get('input_ids').data.subarray(0, T));
      const before = (await r.forward(ids([base]))).logits;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: T - 1 }), fc.integer({ min: 0, max: V - 1 }), async (at, token) => {
          const changed = base.map((t, j) => (j >= at ? (t + token + j) % V : t));
          const after = (await r.forward(ids([changed]))).logits;
          const cmp = compareTensors(positions(after, 0, at), positions(before, 0, at), tolerance('forward.logits', after.dtype));
          if (!cmp.pass) throw new Error(`changing tokens from position ${at} on moved earlier logits: ${describeComparison('logits', cmp, tolerance('forward.logits', after.dtype))}`);
        }),
        { numRuns: 8 },
      );
    });

    it('computes each sequence of a batch as if it ran alone', async () => {
      const batched = cheapestCase(runner.forwardCases(), (x) => x.info.batch > 1);
      const r = await runner.on(batched.info.model);
      const all = batched.get('input_ids');
      const together = (await r.forward(all)).logits;
      const [B, T] = all.shape as [number, number];
      const V = together.shape[2]!;
      for (let b = 0; b < B; b++) {
        const alone = (await r.forward(ids([Array.from(all.data.subarray(b * T, (b + 1) * T))]))).logits;
        const row: Tensor = { dtype: together.dtype, shape: [1, T, V], data: together.data.slice(b * T * V, (b + 1) * T * V) };
        expect(alone).toMatchGolden(row, { tensor: `logits[${b}] alone vs batched`, component: 'forward.logits', runner: runner.name, case: batched.id });
      }
    });
  });
});

/** A length T in minT..maxT and T·D values in ±range: the input [1,T,D] of one attention call. */
function sequences(minT: number, maxT: number, D: number, range: number) {
  return fc.integer({ min: minT, max: maxT }).chain((T) =>
    fc.tuple(fc.constant(T), fc.array(fc.double({ min: -range, max: range, noNaN: true }), { minLength: T * D, maxLength: T * D })),
  );
}

/** Rows of [B,H,T,T] weights sum to 1, are ≥ 0, and are exactly 0 above the diagonal. */
function expectCausalSimplex(w: Tensor): void {
  const T = w.shape[3]!;
  // A sum of T ≤ n_positions rounded terms: within T·u of 1 (u = 2⁻²⁴ in float32, 2⁻⁵³ in float64), with room to spare.
  const sumTolerance = w.dtype === 'float64' ? 1e-12 : 1e-5;
  for (let r = 0; r < w.data.length / T; r++) {
    const t = r % T;
    let sum = 0;
    for (let s = 0; s < T; s++) {
      const v = w.data[r * T + s]!;
      if (s > t && v !== 0) throw new Error(`weight [row ${r}, key ${s}] is ${v}: a query at position ${t} must give a future key exactly 0`);
      if (!(v >= 0)) throw new Error(`weight [row ${r}, key ${s}] is ${v}, not a probability`);
      sum += v;
    }
    if (!(Math.abs(sum - 1) <= sumTolerance)) throw new Error(`the weights of row ${r} sum to ${sum}, not 1`);
  }
}

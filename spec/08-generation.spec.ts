/**
 * Generation with the KV cache — GPT-2 predicts one token at a time. Greedy decoding takes the argmax
 * of the last position's logits, appends it, and runs again. The KV cache keeps every layer's keys and
 * values, so each new step feeds only the new token: forward(next, past) must equal a full forward
 * over prompt + next at its last position.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KvCache } from '../runners/contract';
import { generateGreedy, greedyNext } from '../runners/generate';
import { ids } from '../runners/tensor';
import { expectCacheToMatch, forwardInCalls, goldenCache, rememberingLastCache } from './support/cache';
import { cheapestCase, positions, rowsOf } from './support/goldens';
import { expectRefusal } from './support/refusals';
import { describeEachRunner } from './support/runners';

describeEachRunner('Generation: the next token is the argmax; the KV cache saves recomputing the past', { methods: ['forward'], component: 'generation' }, (runner) => {
  for (const c of runner.forwardCases().filter((x) => !x.has('next.input_ids'))) {
    it(`cannot take another step from ${c.id}, whose prompt fills all n_positions: the cache refuses with a SequenceTooLongError`, async () => {
      const r = await runner.on(c.info.model);
      const { logits, present } = await r.forward(c.get('input_ids'));
      const step = ids(greedyNext(logits).map((id) => [id]));
      await expectRefusal(() => r.forward(step, present), 'SequenceTooLongError', { runner: runner.name, case: c.id });
    });
  }

  for (const c of runner.forwardCases().filter((x) => x.has('next.input_ids'))) {
    describe(`from ${c.id}`, () => {
      it('predicts the greedy next token: the argmax of the last logits, ties to the lowest id', async () => {
        const { logits } = await runner.forwardOf(c);
        expect(greedyNext(logits).map((id) => [id])).toEqualGoldenIds(rowsOf(c.get('next.input_ids')), { tensor: 'next.input_ids', component: 'generation', runner: runner.name, case: c.id });
      });

      it('feeds only the next token with the cache and gets the golden next logits', async () => {
        const r = await runner.on(c.info.model);
        const { present } = await runner.forwardOf(c);
        const { logits } = await r.forward(c.get('next.input_ids'), present);
        expect(logits).toMatchGolden(c.get('next.logits'), { tensor: 'next.logits', component: 'forward.logits', runner: runner.name, case: c.id });
      });

      it('returns the cache of the prompt followed by the next token after the cached step: the past first, nothing dropped', async () => {
        const r = await runner.on(c.info.model);
        const { present } = await runner.forwardOf(c);
        const after = (await r.forward(c.get('next.input_ids'), present)).present;
        expectCacheToMatch(after, goldenCache(c, 'next.present'), { name: 'next.present', runner: runner.name, case: c.id });
      });

      it(`continues the prompt greedily with the cache, token for token like the reference, and ends with the reference's cache`, async () => {
        const r = rememberingLastCache(await runner.on(c.info.model));
        const golden = rowsOf(c.get('generate.output_ids'));
        const generated = await generateGreedy(r.runner, rowsOf(c.get('input_ids')), golden[0]!.length - c.info.tokens);
        expect(generated).toEqualGoldenIds(golden, { tensor: 'generate.output_ids', component: 'generation', runner: runner.name, case: c.id });
        expectCacheToMatch(r.last()!, goldenCache(c, 'generate.present'), { name: 'generate.present', runner: runner.name, case: c.id });
      });
    });
  }

  describe('the cache is an optimisation, not a different model', () => {
    const c = cheapestCase(runner.forwardCases(), (x) => x.info.tokens >= 4 && x.has('next.input_ids'));
    it('forward(prompt) then forward(next, present) equals forward(prompt + next) at the last position', async () => {
      const r = await runner.on(c.info.model);
      const V = c.config.vocabSize;
      const prompt = rowsOf(c.get('input_ids'))[0]!;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: prompt.length }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: V - 1 }), async (split, n, seed) => {
          const head = prompt.slice(0, split);
          const tail = Array.from({ length: n }, (_, k) => (seed + 97 * k) % V);
          const { present } = await r.forward(ids([head]));
          const cached = (await r.forward(ids([tail]), present)).logits;
          const whole = (await r.forward(ids([[...head, ...tail]]))).logits;
          expect(cached).toMatchGolden(positions(whole, split, split + n), { tensor: 'logits with cache vs without', component: 'forward.logits', runner: runner.name, case: `${c.id} split ${split}+${n}` });
        }),
        { numRuns: 6 },
      );
    });
  });

  describe('a sequence may be fed in any number of calls', () => {
    const c = cheapestCase(runner.forwardCases(), (x) => x.info.tokens >= 8 && x.info.batch === 1);
    it('split into 1 to 4 consecutive calls of any lengths, multi-token calls after a cache included, it gives the logits and the final cache of one call', async () => {
      const r = await runner.on(c.info.model);
      const sequence = Array.from(c.get('input_ids').data);
      const whole = await r.forward(ids([sequence]));
      const cuts = fc.uniqueArray(fc.integer({ min: 1, max: sequence.length - 1 }), { maxLength: 3 }).map((a) => a.sort((x, y) => x - y));
      await fc.assert(
        fc.asyncProperty(cuts, async (at) => {
          const split = await forwardInCalls(r, sequence, at);
          const where = { runner: runner.name, case: `${c.id} cut at [${at.join(',')}]` };
          expect(split.logits).toMatchGolden(whole.logits, { tensor: 'logits in calls vs one call', component: 'forward.logits', ...where });
          expectCacheToMatch(split.present, whole.present, { name: 'present in calls vs one call', ...where });
        }),
        // A prompt, a cached single token, then a cached multi-token call, always: a reordered cache shows only there.
        { numRuns: 6, examples: [[[sequence.length - 3, sequence.length - 2]]] },
      );
    });
  });

  describe('refuses a cache that does not fit', () => {
    const c = cheapestCase(runner.forwardCases(), () => true);
    const cacheOf = async (prompt: number[]) => (await (await runner.on(c.info.model)).forward(ids([prompt]))).present;
    const where = { runner: runner.name, case: c.id };
    it('rejects a cache with the wrong number of layers with a CacheShapeError', async () => {
      const r = await runner.on(c.info.model);
      const past = await cacheOf([1, 2]);
      const short: KvCache = { keys: past.keys.slice(1), values: past.values.slice(1) };
      await expectRefusal(() => r.forward(ids([[3]]), short), 'CacheShapeError', where);
    });

    it('rejects a cache made for another batch size with a CacheShapeError', async () => {
      const r = await runner.on(c.info.model);
      const past = await cacheOf([1, 2]);
      await expectRefusal(() => r.forward(ids([[3], [4]]), past), 'CacheShapeError', where);
    });

    it('rejects a step that would run past n_positions with a SequenceTooLongError', async () => {
      const r = await runner.on(c.info.model);
      const tooLong = ids([new Array(c.config.nPositions + 1).fill(1)]);
      await expectRefusal(() => r.forward(tooLong), 'SequenceTooLongError', where);
    });
  });
});

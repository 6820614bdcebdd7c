/**
 * Embedding — the first numeric building block. Each token id picks a row of the token embedding
 * wte [V,D], each position picks a row of the position embedding wpe [n_positions,D], and the two
 * are added: h₀[t] = wte[id_t] + wpe[t]. Without wpe the model could not tell "dog bites man" from
 * "man bites dog".
 */
import { describe, expect, it } from '@jest/globals';
import { ids, int32 } from '../runners/tensor';
import { positions } from './support/goldens';
import { expectRefusal } from './support/refusals';
import { describeEachRunner } from './support/runners';

describeEachRunner('Embedding: a token becomes wte[id] + wpe[position]', { methods: ['embed'], component: 'embed' }, (runner) => {
  for (const c of runner.forwardCases()) {
    describe(`on ${c.id} ("${c.info.text ?? c.info.texts?.join('" / "') ?? 'seeded ids'}")`, () => {
      it('adds the token embedding and the position embedding of every token', async () => {
        const r = await runner.on(c.info.model);
        expect(await r.embed(c.get('input_ids'))).toMatchGolden(c.get('embed.output'), { tensor: 'embed.output', component: 'embed', runner: runner.name, case: c.id });
      });

      it('reads row pastLength + t of wpe when earlier tokens are already cached', async () => {
        const r = await runner.on(c.info.model);
        const T = c.info.tokens;
        const last = positions(c.get('input_ids'), T - 1, T);
        expect(await r.embed(last, T - 1)).toMatchGolden(positions(c.get('embed.output'), T - 1, T), {
          tensor: 'embed.output[:, T-1]',
          component: 'embed',
          runner: runner.name,
          case: c.id,
        });
      });
    });
  }

  describe('refuses what has no embedding', () => {
    const model = runner.forwardCases()[0]!;
    const where = { runner: runner.name, case: model.id };
    const V = model.config.vocabSize;

    it('rejects a token id outside the vocabulary with a TokenIdError', async () => {
      const r = await runner.on(model.info.model);
      await expectRefusal(() => r.embed(ids([[0, V]])), 'TokenIdError', where);
      await expectRefusal(() => r.embed(int32([1, 1], [-1])), 'TokenIdError', where);
    });

    it('rejects a position beyond n_positions with a SequenceTooLongError', async () => {
      const r = await runner.on(model.info.model);
      const last = model.config.nPositions - 1;
      // Two tokens after last positions: the second would sit at n_positions.
      await expectRefusal(() => r.embed(ids([[1, 2]]), last), 'SequenceTooLongError', where);
    });
  });
});

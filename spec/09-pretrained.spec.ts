/**
 * The pretrained GPT-2. With the real weights (a downloaded Hugging Face `gpt2` folder, pointed at by
 * GPT2_SPEC_PRETRAINED), three published facts must hold: wte is [50257, 768]; HF's integration test
 * continues "The dog" ([464, 3290]) greedily to a known sequence of 20 ids; and, as in the tutorial, the
 * two "bank"s of "bank is near the river bank" get different vectors because their positions differ.
 * The same checks run on a stand-in checkpoint whose expected values come from the fixture generator,
 * so that the code path is tested where the real weights cannot be had.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Runner } from '../runners/contract';
import { generateGreedy } from '../runners/generate';
import { loadReferenceTokenizer } from '../runners/reference/tokenizer';
import { ids } from '../runners/tensor';
import { loadCheckpoint } from '../runners/weights/checkpoint';
import { cases, fixturesDir, loadManifest, openCase } from './support/fixtures';
import { rowsOf } from './support/goldens';
import { describeEachRunner } from './support/runners';

/** HF's GPT-2 integration test (test_lm_generate_gpt2): published, so they may stand here. */
const PUBLISHED = {
  prompt: [464, 3290],
  continuation: [464, 3290, 373, 1043, 287, 257, 2214, 1474, 262, 16246, 286, 2688, 290, 2688, 27262, 13, 198, 198, 464, 3290],
  wteShape: [50257, 768],
};

interface Expectations {
  dir: string;
  prompt: number[];
  continuation: number[];
  wteShape: number[];
  bankIds: () => number[];
}

const pretrainedDir = process.env.GPT2_SPEC_PRETRAINED;

function pretrained(dir: string): Expectations {
  const own = existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'));
  const tokenizer = () => loadReferenceTokenizer(own ? { vocabPath: join(dir, 'vocab.json'), mergesPath: join(dir, 'merges.txt') } : undefined);
  return { dir, ...PUBLISHED, bankIds: () => tokenizer().encode('bank is near the river bank') };
}

/** gpt2-tiny, with the generator's greedy continuation of the same prompt and the tokenizer's ids of the bank sentence. */
function standIn(): Expectations {
  const dog = openCase(cases('forward').find((c) => c.name === 'the-dog')!);
  const bank = openCase(cases('forward').find((c) => c.name === 'bank-river')!);
  const { config, path } = loadManifest().models[dog.info.model]!;
  return {
    dir: join(fixturesDir(), path),
    prompt: rowsOf(dog.get('input_ids'))[0]!,
    continuation: rowsOf(dog.get('generate.output_ids'))[0]!,
    wteShape: [config.vocabSize, config.nEmbd],
    bankIds: () => rowsOf(bank.get('input_ids'))[0]!,
  };
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function pretrainedChecks(label: string, expect_: () => Expectations) {
  describe(label, () => {
    it('has a token embedding wte of the published shape', () => {
      const e = expect_();
      expect(loadCheckpoint(e.dir).get('wte.weight').shape).toEqual(e.wteShape);
    });

    describeEachRunner(`The pretrained GPT-2 (${label})`, { methods: ['forward', 'embed'], component: 'generation' }, (runner) => {
      const load = (): Promise<Gpt2Runner> => runner.onCheckpoint(expect_().dir);
      it('continues "The dog" greedily to the published 20 ids', async () => {
        const e = expect_();
        const generated = await generateGreedy(await load(), [e.prompt], e.continuation.length - e.prompt.length);
        expect(generated).toEqualGoldenIds([e.continuation], { tensor: 'greedy continuation of [464, 3290]', component: 'generation', runner: runner.name, case: label });
      });

      it('gives the two "bank"s of "bank is near the river bank" vectors that differ (cosine similarity below 1), for they stand at different positions', async () => {
        // The sentence starts and ends with "bank" ("bank" and " bank" are two BPE tokens, at positions 0 and T-1).
        const tokens = expect_().bankIds();
        const [first, last] = [0, tokens.length - 1];
        const tokenizer = loadReferenceTokenizer();
        expect([tokenizer.decode([tokens[first]!]).trim(), tokenizer.decode([tokens[last]!]).trim()]).toEqual(['bank', 'bank']);
        const h = await (await load()).embed(ids([tokens]));
        const D = h.shape[2]!;
        const similarity = cosine(h.data.subarray(first * D, (first + 1) * D), h.data.subarray(last * D, (last + 1) * D));
        expect(similarity).toBeLessThan(1);
        expect(similarity).toBeGreaterThan(-1);
      });
    });
  });
}

if (pretrainedDir) {
  pretrainedChecks(`the pretrained gpt2 in ${pretrainedDir}`, () => pretrained(pretrainedDir));
} else {
  it.skip('is not checked on the pretrained gpt2: GPT2_SPEC_PRETRAINED is not set (no downloaded gpt2 weights here)', () => undefined);
}
pretrainedChecks('the stand-in gpt2-tiny, with the generator\'s expected ids', standIn);

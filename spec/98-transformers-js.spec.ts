/**
 * transformers.js (@huggingface/transformers 4.x), the first implementation the spec checks that gpt2-spec
 * did not write. It is a built-in runner and tokenizer (`transformers.js`), so the building-block spec
 * checks it like any other: its forward pass, cache and greedy ids in 07/08, its tokenizer on every
 * golden case in 01, with its known divergences listed in spec/support/tokenizer/known-divergences.ts.
 * This file pins what is particular to it: how it loads offline, its own generate(), what it refuses,
 * and the library's own quirks that the adapter works around (each asserted, so that a change upstream
 * shows). docs/transformers-js.md has the results in prose.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, NotExposedError, SequenceTooLongError, TokenizerError } from '../runners/errors';
import { ids } from '../runners/tensor';
import {
  bridged,
  createTransformersJsRunner,
  createTransformersJsTokenizer,
  defaultModelFolder,
  defaultTokenizerFolder,
  folderConfig,
  libraryVersions,
  loadLibraryTokenizer,
  toMainRealm,
  type TransformersJsRunner,
  TransformersJsTokenizer,
  VOCAB_SIZE,
} from '../runners/transformers-js';
import { writeModelFolder } from '../runners/transformers-js/folder';
import { compareTensors, describeComparison } from './support/compare';
import { cases, loadModel, openCase, tolerance } from './support/fixtures';
import { forwardCases, positions, rowsOf } from './support/goldens';
import { tempDir } from './support/temp';

const NAME = 'transformers.js';
const MODEL = 'gpt2-mini';

// Loaded once for the file; when loading fails, every test fails with the reason.
let runner: TransformersJsRunner | undefined;
let tokenizer: TransformersJsTokenizer | undefined;
let failure = '';

beforeAll(async () => {
  try {
    const r = createTransformersJsRunner();
    await r.load(loadModel(MODEL));
    runner = r;
    tokenizer = await createTransformersJsTokenizer();
  } catch (e) {
    failure = `${(e as Error).name}: ${(e as Error).message}`;
  }
});

afterAll(async () => {
  await runner?.dispose();
});

const loadedRunner = (): TransformersJsRunner => {
  if (!runner) throw new Error(`transformers.js did not load ${MODEL}: ${failure}`);
  return runner;
};
const loadedTokenizer = (): TransformersJsTokenizer => {
  if (!tokenizer) throw new Error(`transformers.js's tokenizer did not load: ${failure}`);
  return tokenizer;
};

describe('transformers.js loads offline from fixtures/transformers-js', () => {
  it(`transformers.js loads ${MODEL} through AutoModelForCausalLM, ${bridged ? "in Node's main realm (jest runs this file in a vm context)" : 'in this realm'}`, () => {
    expect(failure).toBe('');
    const { transformersJs, onnxruntime } = libraryVersions();
    expect(transformersJs).toMatch(/^4\./);
    expect(loadedRunner().backend).toContain(`transformers.js ${transformersJs}`);
    expect(loadedRunner().backend).toContain(`onnxruntime-node ${onnxruntime}`);
    expect(loadedRunner().libraryModel.constructor.name).toBe('GPT2LMHeadModel');
  });

  it("transformers.js loads GPT-2's tokenizer through AutoTokenizer", () => {
    expect(loadedTokenizer().name).toBe(NAME);
    expect(loadedTokenizer().library.constructor.name).toBe('GPT2Tokenizer');
  });
});

describe("transformers.js's own generate() agrees with the greedy goldens", () => {
  for (const c of cases('forward', MODEL).map(openCase).filter((x) => x.has('generate.output_ids'))) {
    describe(`on ${c.id}`, () => {
      it("transformers.js's own generate() (do_sample false) gives the same greedy ids", async () => {
        const r = loadedRunner();
        const lib = r.library;
        const prompt = rowsOf(c.get('input_ids'));
        const want = rowsOf(c.get('generate.output_ids'));
        const [B, T] = [prompt.length, prompt[0]!.length];
        // transformers.js checks `instanceof BigInt64Array` in its own realm: hand it an array of that realm.
        const int64 = (values: number[]) => new lib.Tensor('int64', toMainRealm(BigInt64Array.from(values.map(BigInt))), [B, T]);
        const input_ids = int64(prompt.flat());
        const attention_mask = int64(new Array(B * T).fill(1));
        const out = (await r.libraryModel.generate({ input_ids, attention_mask, max_new_tokens: want[0]!.length - T, do_sample: false } as never)) as { tolist(): bigint[][] };
        const got = Array.from(out.tolist(), (row) => Array.from(row, Number));
        expect(got).toEqualGoldenIds(want, { tensor: 'generate.output_ids (its generate())', component: 'generation', runner: NAME, case: c.id });
      });
    });
  }
});

describe("transformers.js runs a folder of the project's own decoder export, as it runs the torch.onnx.export one", () => {
  // The benchmark's GPT-2 small folder is written this way at run time (scripts/bench-browser.ts); here gpt2-mini's.
  it("gives the golden logits from config.json and the exporter's onnx/model.onnx, whose graph has no attention_mask input, in one forward and in a cached step", async () => {
    const c = forwardCases().find((k) => k.id === 'gpt2-mini/random-8')!;
    const folder = join(tempDir('gpt2-spec-tjs-folder-'), 'gpt2-mini-exported');
    writeModelFolder(loadModel(MODEL), folder);
    const r = createTransformersJsRunner({ folder });
    try {
      await r.load(loadModel(MODEL));
      expect(r.backend).toMatch(/gpt2-mini-exported\/onnx\/model\.onnx$/);
      const session = (r.libraryModel as unknown as { sessions: Record<string, { inputNames: string[] }> }).sessions.model!;
      expect(session.inputNames).not.toContain('attention_mask');
      const logits = tolerance('forward.logits', 'float32');
      const input = c.get('input_ids');
      const T = c.info.tokens;
      const whole = await r.forward(input);
      expect(describeComparison('logits', compareTensors(whole.logits, c.get('logits'), logits), logits)).toMatch(/^logits: within tolerance/);
      const prompt = await r.forward(positions(input, 0, T - 1));
      const step = await r.forward(positions(input, T - 1, T), prompt.present);
      expect(describeComparison('logits[:, T-1]', compareTensors(step.logits, positions(c.get('logits'), T - 1, T), logits), logits)).toMatch(/within tolerance/);
    } finally {
      await r.dispose();
    }
  });
});

describe('what transformers.js refuses, and what it does not expose', () => {
  it('transformers.js refuses gpt2-tiny in load() with a NotExposedError that names each difference', async () => {
      const other = createTransformersJsRunner();
      const [mini, tiny] = [loadModel(MODEL).config, loadModel('gpt2-tiny').config];
      try {
        const refused = other.load(loadModel('gpt2-tiny'));
        await expect(refused).rejects.toBeInstanceOf(NotExposedError);
        await expect(refused).rejects.toThrow(`: layers ${mini.nLayer} (this model has ${tiny.nLayer}), `);
        await expect(refused).rejects.toThrow(`, vocab ${mini.vocabSize} (this model has ${tiny.vocabSize})`);
      } finally {
        await other.dispose();
      }
    });

  it("transformers.js's runner reads the model folder's config.json as a checkpoint's, and refuses a bad one with a CheckpointError", () => {
    expect(folderConfig(defaultModelFolder())).toEqual(loadModel(MODEL).config);
    const good = JSON.parse(readFileSync(join(defaultModelFolder(), 'config.json'), 'utf8')) as Record<string, unknown>;
    const folderWith = (text: string) => {
      const folder = tempDir('gpt2-spec-tjs-config-');
      writeFileSync(join(folder, 'config.json'), text);
      return folder;
    };
    const refusal = (text: string) => {
      try {
        folderConfig(folderWith(text));
      } catch (e) {
        return e as Error;
      }
      throw new Error(`folderConfig accepted ${text.slice(0, 80)}`);
    };
    for (const [text, message] of [
      ['{"model_type": "gpt2", "n_head": ', /config\.json: not valid JSON/],
      ['42', /config\.json: not a JSON object/],
      [JSON.stringify({ ...good, model_type: 'bert' }), /config\.json: model_type is "bert", not "gpt2"/],
      [JSON.stringify({ ...good, n_head: 1.5 }), /'n_head' must be a whole number ≥ 1, got 1\.5/],
      [JSON.stringify({ ...good, n_layer: '3' }), /'n_layer' must be a whole number ≥ 1, got "3"/],
    ] as const) {
      const e = refusal(text);
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(message);
    }
  });

  it('transformers.js exposes forward only: embed, layerNorm, attention, mlp, block and lmHead throw NotExposedError', async () => {
      const r = loadedRunner();
      const { nEmbd } = loadModel(MODEL).config;
      const x = { dtype: 'float32' as const, shape: [1, 1, nEmbd], data: new Float32Array(nEmbd) };
      for (const call of [() => r.embed(ids([[1]])), () => r.layerNorm(x, 'ln_f'), () => r.attention(x, 0), () => r.mlp(x, 0), () => r.block(x, 0), () => r.lmHead(x)]) {
        await expect(call()).rejects.toBeInstanceOf(NotExposedError);
      }
    });

  it('transformers.js itself fails inside ONNX Runtime past n_positions; the runner refuses first, with a SequenceTooLongError', async () => {
      const tooLong = loadModel(MODEL).config.nPositions + 1;
      await expect(loadedRunner().forward(ids([new Array(tooLong).fill(1)]))).rejects.toBeInstanceOf(SequenceTooLongError);
      // A second instance, loaded with logging off: transformers.js logs every input of a failed run, and ONNX
      // Runtime the failing node, at the log level the session was created with.
      const lib = loadedRunner().library;
      const level = lib.env.logLevel;
      const quiet = createTransformersJsRunner();
      lib.env.logLevel = lib.LogLevel.NONE;
      try {
        await quiet.load(loadModel(MODEL));
        const ones = () => new lib.Tensor('int64', toMainRealm(new BigInt64Array(tooLong).fill(1n)), [1, tooLong]);
        await expect(quiet.libraryModel.forward({ input_ids: ones(), attention_mask: ones() })).rejects.toThrow(/indices element out of data bounds/);
      } finally {
        lib.env.logLevel = level;
        await quiet.dispose();
      }
    });
});

describe("the library's own tokenizer quirks, which the adapter works around", () => {
    it("transformers.js keeps spaces before punctuation only because the folder says clean_up_tokenization_spaces false: its own default is true", async () => {
      const text = "Hello , world . I do n't";
      expect(loadedTokenizer().decode(loadedTokenizer().encode(text))).toBe(text);
      // The same files without the key, as many a tokenizer_config.json on the Hub has it.
      const dir = tempDir('gpt2-spec-tjs-');
      const folder = join(dir, 'gpt2-tokenizer-default');
      mkdirSync(folder);
      copyFileSync(join(defaultTokenizerFolder(), 'tokenizer.json'), join(folder, 'tokenizer.json'));
      const config = JSON.parse(readFileSync(join(defaultTokenizerFolder(), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
      delete config.clean_up_tokenization_spaces;
      writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(config));
      const cleaning = new TransformersJsTokenizer(await loadLibraryTokenizer(folder));
      expect(cleaning.decode(cleaning.encode(text))).toBe("Hello, world. I don't");
    });

  for (const id of [-1, VOCAB_SIZE, 1.5, Number.NaN]) {
    it(`transformers.js's adapter refuses to decode the id ${id} with a TokenizerError, before the library sees it`, () => {
      expect(() => loadedTokenizer().decode([id])).toThrow(TokenizerError);
      expect(() => loadedTokenizer().decode([0, id, 1])).toThrow(TokenizerError);
    });
  }

    it("transformers.js's own decode drops an unknown id without a word, and throws a plain Error on [] and on a first id that is not an integer", () => {
      const library = loadedTokenizer().library;
      expect(library.decode([0, VOCAB_SIZE, 1])).toBe('!"');
      expect(library.decode([-1])).toBe('');
      expect(library.decode([0, 1.5])).toBe('!');
      expect(() => library.decode([])).toThrow('token_ids must be a non-empty array of integers');
      expect(() => library.decode([1.5])).toThrow('token_ids must be a non-empty array of integers');
      expect(loadedTokenizer().decode([])).toBe('');
    });

    it("transformers.js's adapter refuses an allowedSpecial other than 'none' and 'all'", () => {
      expect(() => loadedTokenizer().encode('a', { allowedSpecial: 'some' as never })).toThrow(TokenizerError);
    });
  });

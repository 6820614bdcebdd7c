/**
 * Hostile input, where it enters. A seeded fuzz suite feeds malformed checkpoints, configs, id lists
 * and runner answers to the code that reads them (scripts/fuzz.ts runs 10 000 cases; this is a fast
 * subset), and the tokenizers take text of any shape in linear time, with bounded stack.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as libraryEncode } from 'gpt-tokenizer/cjs/encoding/r50k_base';
import { TokenizerError } from '../runners/errors';
import { GptTokenizerAdapter } from '../runners/gpt-tokenizer';
import { loadReferenceTokenizer } from '../runners/reference/tokenizer';
import { splitIntoPreTokens, splitWithPattern } from '../runners/reference/tokenizer-pretokenize';
import { chunksOf, MAX_CHUNK } from '../runners/tokenizer-chunks';
import { seededRandom } from '../runners/weights/seeded';
import { checkWritable, UsageError } from '../scripts/cli/args';
import { main } from '../scripts/cli/main';
import { decodeInput } from '../scripts/cli/tokenize';
import { cli } from './support/cli';
import { fuzzCases } from './support/fuzz/cases';
import { formatSummary, runFuzz } from './support/fuzz/run';
import { tempDir } from './support/temp';

const reference = loadReferenceTokenizer();

/** Seeded text from an alphabet that has every class of GPT-2's pattern, its edge cases included. */
function seededText(length: number, seed: number, alphabet: readonly string[]): string {
  const random = seededRandom(seed);
  return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
}
const EDGES = ["'", 's', 't', 're', 'll', 'S', ' ', ' ', '\n', '\t', '\u00a0', '\u2000', '\u3000', '\u0085', 'a', 'é', '中', '7', '٣', '!', '😀', '\ud800', '\udc00', '\ufeff', 'Ⅻ'];
const WORDS = ['the', ' cat', ' sat', ' on', ' mat', '.', ',', ' 1859', "'s", ' naïve', '\n', ' 東京', '!', ' don', "'t"];

describe('A fuzz suite: malformed input is refused with one line, never a crash, a hang or a silent accept', () => {
  it('a seeded subset of the fuzz cases: checkpoint files, configs, id lists and runner answers', () => {
    const summary = runFuzz(fuzzCases(40, 89), tempDir('gpt2-spec-fuzz-'));
    const { crash, hang, silent, 'refused-valid': refusedValid, refused, accepted } = summary.counts;
    expect({ crash, hang, silent, refusedValid }).toEqual({ crash: 0, hang: 0, silent: 0, refusedValid: 0 });
    expect(refused).toBeGreaterThan(20); // the cases are hostile: most must be refused ...
    expect(accepted).toBeGreaterThan(2); // ... and the valid ones among them accepted
    expect(formatSummary(summary)).toMatch(/^40 cases: /);
  });
});

describe('Tokenizers take any text in linear time, with bounded stack', () => {
  it("the pre-token scanner takes the pattern's decisions on every kind of character", () => {
    for (let seed = 0; seed < 1000; seed++) {
      const text = seededText(seed % 16, seed, EDGES);
      expect(splitIntoPreTokens(text)).toEqual(splitWithPattern(text));
    }
  });

  it('4 MB of CJK or of U+FFFD splits into pre-tokens, where the regex overflowed the stack', () => {
    for (const char of ['中', '\ufffd']) expect(splitIntoPreTokens(char.repeat(4 << 20))).toEqual([char.repeat(4 << 20)]);
  });

  describe('a long pre-token is encoded window by window, with the ids BPE gives on the whole of it', () => {
    for (const [what, text] of [['one letter', 'a'.repeat(20_000)], ['spaces', ' '.repeat(20_001)], ['CJK', '中'.repeat(10_001)], ['a repeated syllable', 'abcab'.repeat(4_000)]]) {
      it(`${what}`, () => {
        expect(reference.encodePreToken(text!)).toEqual(reference.encodeWhole(text!));
      });
    }
  });

  // How fast is the benchmark's to say (bench-tokenizer --long), not a test's: a timed test fails on a busy machine.
  it('4 MB of one character tokenizes, into 1 M ids of four letters each', () => {
    const ids = reference.encode('a'.repeat(4 << 20));
    expect(ids).toHaveLength(1 << 20);
    expect(new Set(ids)).toEqual(new Set(reference.encode('aaaa')));
  });

  describe('gpt-tokenizer and transformers.js get text in chunks cut between words', () => {
    const english = seededText(40_000, 7, WORDS); // about 170 000 characters
    it('cut only where the reference cuts pre-tokens, so the ids of the chunks are the ids of the text', () => {
      const chunks = chunksOf(english, 'test');
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.join('')).toBe(english);
      expect(chunks.flatMap((c) => reference.encode(c))).toEqual(reference.encode(english));
    });
    it('gpt-tokenizer in chunks gives the ids the library gives on the whole text', () => {
      expect(new GptTokenizerAdapter().encode(english)).toEqual(libraryEncode(english, { disallowedSpecial: new Set() }));
    });
    it(`a run of more than ${MAX_CHUNK} characters without a word break is refused, not left to hang`, () => {
      expect(() => new GptTokenizerAdapter().encode('a'.repeat(MAX_CHUNK + 1))).toThrow(TokenizerError);
      expect(() => new GptTokenizerAdapter().encode('a'.repeat(MAX_CHUNK + 1))).toThrow(/hold no word break/);
    });
  });

  it('tokenize refuses invalid UTF-8 on standard input, unless --replace-invalid is given', () => {
    const bytes = Uint8Array.of(0x61, 0xff, 0x62);
    expect(() => decodeInput(bytes, false)).toThrow(UsageError);
    expect(decodeInput(bytes, true)).toBe('a\ufffdb');
    expect(decodeInput(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61), false)).toBe('\ufeffa'); // a BOM is text
  });
});

describe('Every command-line input gets one line and exit 2', () => {
  /** Runs the command in this process, and returns its exit code and what it wrote to stderr. */
  async function run(argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    try {
      return { code: await main(argv), stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('a model named __proto__', async () => {
    const r = await run(['generate', '--model', '__proto__', '--ids', '[1]']);
    expect(r).toEqual({ code: 2, stderr: expect.stringMatching(/^gpt2-spec generate: no fixture model '__proto__'[^\n]*\n$/) });
  });

  it('a fixture manifest that is not an object', () => {
    const dir = tempDir('gpt2-spec-manifest-');
    writeFileSync(join(dir, 'manifest.json'), 'null');
    // A command of its own: the manifest is read once per process.
    const r = cli(['generate', '--model', 'x', '--ids', '[1]'], { env: { GPT2_SPEC_FIXTURES: dir } });
    expect({ status: r.code, stderr: r.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(/^gpt2-spec generate: .*manifest is not a JSON object\n$/) });
  });

  it('a checkpoint whose config.json is broken across lines', async () => {
    const dir = tempDir('gpt2-spec-badconfig-');
    writeFileSync(join(dir, 'config.json'), '{\n  "n_layer": oops,\n  "n_head": 2\n}');
    writeFileSync(join(dir, 'model.safetensors'), '');
    const r = await run(['compare', '--weights', dir, '--ids', '[1]']);
    expect(r).toEqual({ code: 2, stderr: expect.stringMatching(/^gpt2-spec compare: [^\n]*config.json: not valid JSON[^\n]*\n$/) });
  });

  it('an output path that cannot be written, checked before any work', () => {
    expect(() => checkWritable('/nonexistent/folder/report.json', 'json')).toThrow(UsageError);
    expect(() => checkWritable(tempDir('gpt2-spec-out-'), 'html')).toThrow(/cannot be written \(a folder, or read-only\)/);
    expect(() => checkWritable(join(tempDir('gpt2-spec-out-'), 'report.json'), 'json')).not.toThrow();
  });
});

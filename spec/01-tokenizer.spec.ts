/**
 * Chapter 1 — the tokenizer. GPT-2 reads ids, not text: its byte-level BPE tokenizer cuts the text
 * into pre-tokens with a regex, spells each pre-token's UTF-8 bytes in printable stand-ins, merges
 * adjacent symbols by the rank of OpenAI's merge rules, and looks the resulting sub-words up in a
 * vocabulary of 50257 ids, the last of which, 50256, is <|endoftext|>. spec/tokenizer.md tells it
 * step by step.
 *
 * The golden cases come from fixtures/tokenizer/ (written from Hugging Face transformers and
 * tiktoken by scripts/fixtures/tokenizer_cases.py) and are discovered there, category by category.
 * Every selected tokenizer (GPT2_SPEC_TOKENIZERS, default: every built-in) is held to all of them.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Gpt2Tokenizer } from '../runners/contract';
import { TokenizerError } from '../runners/errors';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BpeFiles,
  createReferenceTokenizer,
  defaultGpt2FilePaths,
  loadReferenceTokenizer,
  parseMergesTxt,
  parseVocabJson,
} from '../runners/reference/tokenizer';
import { BYTE_TO_CHAR } from '../runners/reference/tokenizer-bytes';
import { characterClassOf, splitIntoPreTokens } from '../runners/reference/tokenizer-pretokenize';
import { builtinTokenizers, loadTokenizer, selectedTokenizerNames } from '../runners/tokenizers';
import { record } from './support/record';
import { leavingOut, propertyParameters, textWithoutSpecial, unicodeText } from './support/tokenizer/arbitraries';
import { byCategory, categoryTitle, loadDecodeCases, loadEncodeCases } from './support/tokenizer/cases';
import { expectGolden, runDecodeCase, runEncodeCase } from './support/tokenizer/check';
import { gptTokenizerBugs } from './support/tokenizer/gpt-tokenizer-bugs';
import { charactersLeftOutOfProperties, expectedDivergence, knownDivergences, knownPropertyDivergences } from './support/tokenizer/known-divergences';
import { allCodePoints, codePointName, javascriptClassOf, preview, referenceClassOf } from './support/tokenizer/unicode';
// Published facts about GPT-2's vocabulary: 50257 ids, <|endoftext|> the last.
import { END_OF_TEXT, END_OF_TEXT_ID, VOCAB_SIZE } from './support/tokenizer/vocabulary';
import { tempDir } from './support/temp';

const selection = selectedTokenizerNames();
const encodeCases = loadEncodeCases();
const decodeCases = loadDecodeCases();
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

describe('The tokenizer turns text into sub-word ids', () => {
  for (const name of selection.names) {
    describe(`[${name}]`, () => {
      let loaded: Gpt2Tokenizer | undefined;
      let loadFailure = '';
      beforeAll(async () => {
        const outcome = await loadTokenizer(name);
        if ('tokenizer' in outcome) loaded = outcome.tokenizer;
        else loadFailure = outcome.reason;
      });
      const tokenizer = (): Gpt2Tokenizer => {
        if (!loaded) throw new Error(`the ${name} tokenizer did not load: ${loadFailure}`);
        return loaded;
      };
      const leftOut = charactersLeftOutOfProperties[name];
      // A tokenizer known to read <|endoftext|> as special even with 'none' gets random text without it (its own test says so).
      const endOfTextAsText = knownPropertyDivergences[name]?.['end-of-text-as-text'];
      const randomText = () => leavingOut(unicodeText(), leftOut?.excludes).filter((text) => !endOfTextAsText || !text.includes(END_OF_TEXT));

      it(`loads (${selection.explicit ? 'asked for by GPT2_SPEC_TOKENIZERS' : 'a built-in'})`, () => {
        if (!loaded) record({ runner: name, component: 'tokenizer', case: 'load', status: 'error', reason: loadFailure });
        expect(loadFailure).toBe('');
        // A built-in answers to its own name; an adapter module names itself.
        if (Object.hasOwn(builtinTokenizers, name)) expect(tokenizer().name).toBe(name);
        else expect(tokenizer().name).toEqual(expect.any(String));
      });

      describe("the seed's examples", () => {
        it('encodes "cat sat on the" as [9246, 3332, 319, 262], one id a word', () => {
          expect(tokenizer().encode('cat sat on the')).toEqual([9246, 3332, 319, 262]);
        });

        it('splits "summarization" into three sub-words that spell it', () => {
          const ids = tokenizer().encode('summarization');
          const pieces = ids.map((id) => tokenizer().decode([id]));
          expect(pieces).toHaveLength(3);
          expect(pieces.every((piece) => piece.length > 0)).toBe(true);
          expect(pieces.join('')).toBe('summarization');
        });

        it(`has ${VOCAB_SIZE} ids, and the last, ${END_OF_TEXT_ID}, is ${END_OF_TEXT}`, () => {
          expect(tokenizer().decode([END_OF_TEXT_ID])).toBe(END_OF_TEXT);
          expect(tokenizer().encode(END_OF_TEXT, { allowedSpecial: 'all' })).toEqual([END_OF_TEXT_ID]);
          expect(() => tokenizer().decode([VOCAB_SIZE])).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
        });
      });

      describe('step 1: the text is cut into pre-tokens, and BPE never merges across them', () => {
        it("gives the same ids for the whole text as for its GPT-2 pre-tokens one by one", () => {
          fc.assert(
            fc.property(randomText(), (text) => {
              const whole = tokenizer().encode(text);
              const piecewise = splitIntoPreTokens(text).flatMap((preToken) => tokenizer().encode(preToken));
              expect(whole).toEqual(piecewise);
            }),
            propertyParameters(),
          );
        });
      });

      describe('steps 2 and 3: BPE merges the bytes of each pre-token', () => {
        it('never gives a text of n UTF-8 bytes more than n tokens', () => {
          fc.assert(
            fc.property(randomText(), (text) => {
              expect(tokenizer().encode(text).length).toBeLessThanOrEqual(utf8Length(text));
            }),
            propertyParameters(),
          );
        });
      });

      describe(`step 4: every sub-word is an id of the vocabulary, 0 to ${VOCAB_SIZE - 1}`, () => {
        it('gives only ids within the vocabulary, with or without special tokens', () => {
          fc.assert(
            fc.property(randomText(), fc.constantFrom('none' as const, 'all' as const), (text, allowedSpecial) => {
              for (const id of tokenizer().encode(text, { allowedSpecial })) {
                expect(Number.isInteger(id) && id >= 0 && id < VOCAB_SIZE).toBe(true);
              }
            }),
            propertyParameters(),
          );
        });
      });

      describe('the golden cases, by category', () => {
        for (const [category, cases] of byCategory(encodeCases)) {
          describe(categoryTitle(category), () => {
            for (const c of cases) {
              const known = expectedDivergence(name, c.id) ? ' [known divergence: must still differ]' : '';
              it(`${c.id}: ${preview(c.text, 40)}${known}`, () => {
                expectGolden(name, c.id, runEncodeCase(tokenizer(), c));
              });
            }
          });
        }
      });

      describe('decoding turns ids back into the text', () => {
        it('decodes the encoding of any well-formed text to that text', () => {
          fc.assert(
            fc.property(randomText(), (text) => {
              expect(tokenizer().decode(tokenizer().encode(text))).toBe(text);
            }),
            propertyParameters(),
          );
        });

        for (const [category, cases] of byCategory(decodeCases)) {
          describe(categoryTitle(category), () => {
            for (const c of cases) {
              it(`${c.id}: [${c.ids.join(', ')}] -> ${preview(c.text, 40)}`, () => {
                expectGolden(name, c.id, runDecodeCase(tokenizer(), c));
              });
            }
          });
        }
      });

      describe(`special tokens: ${END_OF_TEXT} is text unless allowedSpecial is 'all'`, () => {
        it(`with 'all', cuts the text at each ${END_OF_TEXT} and encodes the parts on their own`, () => {
          fc.assert(
            fc.property(textWithoutSpecial(), textWithoutSpecial(), (before, after) => {
              const ids = tokenizer().encode(before + END_OF_TEXT + after, { allowedSpecial: 'all' });
              expect(ids).toEqual([...tokenizer().encode(before), END_OF_TEXT_ID, ...tokenizer().encode(after)]);
            }),
            propertyParameters(),
          );
        });

        if (!endOfTextAsText) {
          it(`with 'none' (the default), never gives ${END_OF_TEXT_ID}`, () => {
            fc.assert(
              fc.property(fc.array(fc.oneof(fc.constant(END_OF_TEXT), randomText()), { maxLength: 5 }), (parts) => {
                const text = parts.join('');
                expect(tokenizer().encode(text)).not.toContain(END_OF_TEXT_ID);
                expect(tokenizer().encode(text, { allowedSpecial: 'none' })).toEqual(tokenizer().encode(text));
              }),
              propertyParameters(),
            );
          });
        } else {
          it(`with 'none' (the default), still gives ${END_OF_TEXT_ID} for ${END_OF_TEXT} [known divergence: must still differ]`, () => {
            const still = tokenizer().encode(END_OF_TEXT, { allowedSpecial: 'none' }).includes(END_OF_TEXT_ID);
            record({ runner: name, component: 'tokenizer', case: 'property: special tokens as text', status: still ? 'known-divergence' : 'fail', reason: endOfTextAsText });
            if (!still) throw new Error(`${name} now reads ${END_OF_TEXT} as text with 'none': remove its 'end-of-text-as-text' entry from known-divergences.ts`);
          });
        }
      });

      describe('bad input fails loudly, with a TokenizerError', () => {
        it('refuses to encode what is not a string', () => {
          // By name, as below: an adapter's own copy of the class counts too.
          expect(() => tokenizer().encode(123 as never)).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
          expect(() => tokenizer().encode(123 as never, { allowedSpecial: 'all' })).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
        });

        for (const id of [-1, VOCAB_SIZE, 1.5, Number.NaN]) {
          it(`refuses to decode the id ${id}`, () => {
            // By name, so that an adapter's own copy of the class (a bundled adapter has one) counts too.
            expect(() => tokenizer().decode([id])).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
            expect(() => tokenizer().decode([0, id, 1])).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
          });
        }
      });

      const listed = Object.entries(knownDivergences[name] ?? {});
      const expected = listed.filter(([id]) => expectedDivergence(name, id));
      // The property tests' own divergences count too: the report's "known divergence" total is both.
      const properties = Object.entries(knownPropertyDivergences[name] ?? {});
      const total = expected.length + properties.length;
      describe(`known divergences: ${expected.length} golden case(s) and ${properties.length} property expected to differ here (${total} in the report)`, () => {
        it('lists only golden cases that exist, and none for the reference', () => {
          const caseIds = new Set([...encodeCases, ...decodeCases].map((c) => c.id));
          if (total > 0) {
            const lines = [...expected.map(([id, d]) => `  ${id}: ${d.reason}`), ...properties.map(([id, reason]) => `  property ${id}: ${reason}`)];
            console.log(`${name}: ${total} known divergence(s)\n${lines.join('\n')}`);
          }
          for (const [id] of listed) expect({ id, exists: caseIds.has(id) }).toEqual({ id, exists: true });
          if (name === 'reference') expect(listed).toEqual([]);
        });

        if (leftOut) {
          it(`leaves out of its random text ${leftOut.description}`, () => {
            const count = [...allCodePoints()].filter(leftOut.excludes).length;
            console.log(`${name}: the properties' random text leaves out ${count} code point(s): ${leftOut.description}`);
            // A handful of characters, not a whole script: more would mean the classes went wrong.
            expect(count).toBeLessThan(10_000);
          });
        }
      });
    });
  }
});

describe("GPT-2's \\s, \\p{L} and \\p{N} are the references', not JavaScript's", () => {
  it('classes every code point as the references do, in the reference pre-tokenizer', () => {
    const wrong: string[] = [];
    for (const cp of allCodePoints()) {
      const ours = characterClassOf(String.fromCodePoint(cp));
      const theirs = referenceClassOf(cp);
      if (ours !== theirs && wrong.push(`${codePointName(cp)}: ${ours}, not ${theirs}`) >= 20) break;
    }
    if (wrong.length > 0) {
      throw new Error(
        `the reference pre-tokenizer's classes differ from fixtures/tokenizer/unicode-classes.json (if the fixtures were regenerated, regenerate runners/reference/tokenizer-unicode.ts too: .venv/bin/python scripts/fixtures/tokenizer_cases.py --out fixtures --unicode-module runners/reference/tokenizer-unicode.ts):\n  ${wrong.join('\n  ')}`,
      );
    }
  });

  it("shows where JavaScript's own \\s, \\p{L} and \\p{N} differ on this Node", () => {
    const differences = new Map<string, number[]>();
    for (const cp of allCodePoints()) {
      const js = javascriptClassOf(cp);
      const gpt2 = referenceClassOf(cp);
      if (js === gpt2) continue;
      const key = `JavaScript: ${js}, GPT-2: ${gpt2}`;
      differences.set(key, [...(differences.get(key) ?? []), cp]);
    }
    const lines = [...differences].map(([key, cps]) => `  ${key}: ${cps.length} (${cps.slice(0, 6).map(codePointName).join(' ')}${cps.length > 6 ? ' …' : ''})`);
    console.log(`Where a tokenizer that used JavaScript's \\s, \\p{L}, \\p{N} would split differently:\n${lines.join('\n')}`);
    // JavaScript's \s is not White_Space on any Node, whatever its Unicode version.
    expect(javascriptClassOf(0x85)).not.toBe(referenceClassOf(0x85));
    expect(javascriptClassOf(0xfeff)).not.toBe(referenceClassOf(0xfeff));
  });
});

describe('The reference tokenizer reads any GPT-2-style vocab.json and merges.txt', () => {
  // A toy vocabulary: the 256 byte tokens, then one token per merge rule, as GPT-2's files are laid out.
  const toyMerges: [string, string][] = [['l', 'l'], ['h', 'e'], ['he', 'll'], ['Ġ', 'w'], ['hell', 'o']];
  const toyFiles = (): BpeFiles => {
    const vocab: Record<string, number> = {};
    BYTE_TO_CHAR.forEach((char, byte) => (vocab[char] = byte));
    toyMerges.forEach(([left, right], rank) => (vocab[left + right] = 256 + rank));
    vocab[END_OF_TEXT] = 256 + toyMerges.length;
    return { vocab, merges: toyMerges };
  };

  it('merges by rank: the best-ranked pair first, whatever its position', () => {
    const toy = createReferenceTokenizer(toyFiles());
    const { vocab } = toyFiles();
    // "ll" (rank 0) merges before "he" (rank 1); then "he"+"ll", then "hell"+"o".
    expect(toy.encode('hello world')).toEqual([vocab.hello, vocab['Ġw'], vocab.o, vocab.r, vocab.l, vocab.d]);
    expect(toy.decode(toy.encode('hello world'))).toBe('hello world');
    expect(toy.encode(`a${END_OF_TEXT}`, { allowedSpecial: 'all' })).toEqual([vocab.a, vocab[END_OF_TEXT]]);
  });

  it('loads the files from paths given to it, or from $GPT2_SPEC_VOCAB and $GPT2_SPEC_MERGES', () => {
    const paths = defaultGpt2FilePaths();
    expect(defaultGpt2FilePaths({ GPT2_SPEC_VOCAB: '/x/vocab.json', GPT2_SPEC_MERGES: '/x/merges.txt' })).toEqual({ vocabPath: '/x/vocab.json', mergesPath: '/x/merges.txt' });
    const dir = tempDir('gpt2-spec-tokenizer-');
    const files = toyFiles();
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(files.vocab));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${files.merges.map((m) => m.join(' ')).join('\n')}\n`);
    const toy = loadReferenceTokenizer({ vocabPath: join(dir, 'vocab.json'), mergesPath: join(dir, 'merges.txt') });
    expect(toy.encode('hello')).toEqual([files.vocab.hello]);
    expect(loadReferenceTokenizer(paths).encode('cat sat on the')).toEqual([9246, 3332, 319, 262]);
  });

  describe('refuses malformed files with a TokenizerError', () => {
    const broken: [string, () => unknown][] = [
      ['vocab.json that is not JSON', () => parseVocabJson('{"a": 1,')],
      ['vocab.json that is a list', () => parseVocabJson('["a"]')],
      ['a negative id', () => parseVocabJson('{"a": -1}')],
      ['an id that is not an integer', () => parseVocabJson('{"a": 1.5}')],
      ['two tokens with one id', () => parseVocabJson('{"a": 1, "b": 1}')],
      ['a merge line of three symbols', () => parseMergesTxt('#version: 0.2\na b c\n')],
      ['a merge line of one symbol', () => parseMergesTxt('a\n')],
      ['a merge whose result is not in the vocabulary', () => createReferenceTokenizer({ ...toyFiles(), merges: [...toyMerges, ['o', 'r']] })],
      ['a vocabulary without a token for every byte', () => {
        const files = toyFiles();
        const vocab = { ...files.vocab };
        delete vocab[BYTE_TO_CHAR[0x0a] as string];
        return createReferenceTokenizer({ ...files, vocab });
      }],
      ['a special token the vocabulary lacks', () => createReferenceTokenizer(toyFiles(), { specialTokens: ['<|pad|>'] })],
      ['a file that does not exist', () => loadReferenceTokenizer({ vocabPath: '/nonexistent/vocab.json', mergesPath: '/nonexistent/merges.txt' })],
      ['only one of the two variables', () => defaultGpt2FilePaths({ GPT2_SPEC_VOCAB: '/x/vocab.json' })],
    ];
    for (const [what, load] of broken) {
      it(`refuses ${what}`, () => {
        expect(load).toThrow(TokenizerError);
      });
    }
  });
});

if (selection.names.includes('gpt-tokenizer')) {
  describe("gpt-tokenizer's own bugs, which its adapter works around", () => {
    for (const bug of gptTokenizerBugs) {
      it(`still has the bug: ${bug.title} (so ${bug.workaround})`, () => {
        if (!bug.stillThere()) {
          throw new Error(`gpt-tokenizer no longer has this bug: ${bug.title}. Drop the workaround in runners/gpt-tokenizer/ (${bug.workaround}) and this check.`);
        }
      });
    }
  });
}

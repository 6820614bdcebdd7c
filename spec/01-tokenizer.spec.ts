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
import { characterClassOf, splitIntoPreTokens } from '../runners/reference/tokenizer-pretokenize';
import { loadTokenizer, selectedTokenizerNames } from '../runners/tokenizers';
import { record } from './support/record';
import { leavingOut, propertyParameters, textWithoutSpecial, unicodeText } from './support/tokenizer/arbitraries';
import { byCategory, categoryTitle, loadDecodeCases, loadEncodeCases } from './support/tokenizer/cases';
import { expectGolden, runDecodeCase, runEncodeCase } from './support/tokenizer/check';
import { gptTokenizerBugs } from './support/tokenizer/gpt-tokenizer-bugs';
import { charactersLeftOutOfProperties, expectedDivergence, knownDivergences } from './support/tokenizer/known-divergences';
import { allCodePoints, codePointName, javascriptClassOf, preview, referenceClassOf } from './support/tokenizer/unicode';

const END_OF_TEXT = '<|endoftext|>';
// Published facts about GPT-2's vocabulary: 50257 ids, <|endoftext|> the last.
const VOCAB_SIZE = 50257;
const END_OF_TEXT_ID = 50256;

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
      const randomText = () => leavingOut(unicodeText(), leftOut?.excludes);

      it(`loads (${selection.explicit ? 'asked for by GPT2_SPEC_TOKENIZERS' : 'a built-in'})`, () => {
        if (!loaded) record({ runner: name, component: 'tokenizer', case: 'load', status: 'error', reason: loadFailure });
        expect(loadFailure).toBe('');
        expect(tokenizer().name).toBe(name);
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
          expect(() => tokenizer().decode([VOCAB_SIZE])).toThrow(TokenizerError);
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
      });

      describe('bad input fails loudly, with a TokenizerError', () => {
        for (const id of [-1, VOCAB_SIZE, 1.5, Number.NaN]) {
          it(`refuses to decode the id ${id}`, () => {
            expect(() => tokenizer().decode([id])).toThrow(TokenizerError);
            expect(() => tokenizer().decode([0, id, 1])).toThrow(TokenizerError);
          });
        }
      });

      const listed = Object.entries(knownDivergences[name] ?? {});
      const expected = listed.filter(([id]) => expectedDivergence(name, id));
      describe(`known divergences: ${expected.length} golden case(s) expected to differ here`, () => {
        it('lists only golden cases that exist, and none for the reference', () => {
          const caseIds = new Set([...encodeCases, ...decodeCases].map((c) => c.id));
          if (expected.length > 0) {
            console.log(`${name}: ${expected.length} known divergence(s)\n${expected.map(([id, d]) => `  ${id}: ${d.reason}`).join('\n')}`);
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
    expect(wrong).toEqual([]);
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

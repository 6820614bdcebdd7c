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
import { cli } from './support/cli';
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
import { spawnSync } from 'node:child_process';
import { readBpeFiles, lookUpIds } from '../runners/reference/tokenizer';
import { textToByteChars, writeByteSymbols } from '../runners/reference/tokenizer-bytes';
import { LONGEST_REST, PreTokenCache, REST, ShortPreTokenCache, STRETCH } from '../runners/reference/tokenizer-cache';
import { charactersMergedFirst, mergeByRank, mergeLongByRank, SHORT } from '../runners/reference/tokenizer-merge';
import { packageRoot } from '../runners/paths';
import { halfwayCut, TWO_PARTS_BYTES } from '../scripts/cli/tokenize-halves';
import { utf8ToText, writeIdsJson } from '../scripts/cli/tokenize-io';
import { BpeOracle } from './support/tokenizer/bpe-oracle';
import { seededBytes, seededLetters } from './support/tokenizer/long-text';

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

describe("The reference tokenizer is fast by its data structures, which never change an id", () => {
  const files = readBpeFiles(defaultGpt2FilePaths());
  const oracle = new BpeOracle(files); // encoder.py's bpe() on strings: no ids, no cache, no queue, no windows
  const reference = createReferenceTokenizer(files);
  const { symbolOfByte, rules } = lookUpIds(new Map(Object.entries(files.vocab)), files.merges);
  const randomBytesText = (n: number, seed: number) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(seededBytes(n, seed));

  it("gives the ids of encoder.py's bpe() on random text", () => {
    fc.assert(
      fc.property(unicodeText(), (text) => {
        expect(reference.encode(text)).toEqual(oracle.encode(text));
      }),
      propertyParameters(),
    );
  });

  it("gives the ids of encoder.py's bpe() on 300 kB of random bytes, while its cache is in use and while it stands aside", () => {
    const fresh = createReferenceTokenizer(files);
    const text = randomBytesText(300_000, 12);
    expect(fresh.encode(text)).toEqual(oracle.encode(text));
    // Now, with the cache warm from that text, prose it may or may not be using.
    const prose = 'It was the best of times, it was the worst of times; the cat sat on the mat. '.repeat(50);
    expect(fresh.encode(prose + text.slice(0, 5000) + prose)).toEqual(oracle.encode(prose + text.slice(0, 5000) + prose));
  });

  it('the cache stands aside after a stretch of misses, and not after a stretch of hits', () => {
    const cache = new PreTokenCache();
    cache.set('known', new Int32Array([1]));
    for (let i = 0; i < STRETCH; i++) cache.get('known');
    expect(cache.inUse()).toBe(true);
    for (let i = 0; i < STRETCH; i++) cache.get(`unknown ${i}`);
    let standingAside = 0;
    while (!cache.inUse()) standingAside++;
    expect(standingAside).toBe(REST);
    expect(cache.get('known')).toEqual(new Int32Array([1])); // standing aside forgets nothing
  });

  it('the cache stands aside twice as long after each further stretch of misses, up to a limit, and as long as at first after a stretch of hits', () => {
    const cache = new PreTokenCache();
    const rests = (stretches: number, key: (i: number) => string) => {
      const found: number[] = [];
      for (let s = 0; s < stretches; s++) {
        for (let i = 0; i < STRETCH; i++) cache.get(key(i));
        let standingAside = 0;
        while (!cache.inUse()) standingAside++;
        found.push(standingAside);
      }
      return found;
    };
    cache.set('known', new Int32Array([1]));
    expect(rests(5, (i) => `unknown ${i}`)).toEqual([REST, 2 * REST, 4 * REST, LONGEST_REST, LONGEST_REST]);
    expect(rests(1, () => 'known')).toEqual([0]);
    expect(rests(2, (i) => `unknown ${i}`)).toEqual([REST, 2 * REST]);
  });

  it('the short pre-token cache gives back the ids put in a slot, for that pre-token only', () => {
    const cache = new ShortPreTokenCache();
    const text = 'a \ufffd\ufffd b';
    const missed = cache.find(text, 2, 4);
    expect(missed).toBeLessThan(0);
    cache.set(-1 - missed, text, 2, 4, [7, 8], 2); // any ids: the cache only keeps them
    const found = cache.find('\ufffd\ufffd', 0, 2);
    expect(found).toBe(-1 - missed);
    expect(Array.from(cache.slots.subarray(cache.idsAt(found), cache.idsAt(found) + cache.count(found)))).toEqual([7, 8]);
    expect(cache.find('\ufffd\ufffe', 0, 2)).toBeLessThan(0);
    expect(cache.find(text, 1, 4)).toBeLessThan(0);
  });

  it('a character whose bytes merge into one token before a neighbour can touch them (U+FFFD) enters the merge as that token, with the same ids', () => {
    const mergedFirst = charactersMergedFirst(symbolOfByte, rules, true);
    expect(Array.from(mergedFirst.subarray(0, 0x80))).toEqual(Array.from(symbolOfByte.subarray(0, 0x80))); // ASCII: one byte, one token
    const early = Array.from({ length: 0x10000 }, (_, unit) => unit).filter((unit) => unit >= 0x80 && mergedFirst[unit]! >= 0);
    expect(early).toContain(0xfffd); // U+FFFD's three bytes: the case that random bytes are full of
    const symbolsOf = (bytes: Uint8Array) => Array.from(bytes, (byte) => symbolOfByte[byte]!);
    const merged = (symbols: number[], merge: typeof mergeByRank) => {
      const into = Int32Array.from(symbols);
      return Array.from(into.subarray(0, merge(into, into.length, rules)));
    };
    const differs: string[] = []; // between every pair of one-byte neighbours
    for (const unit of early) {
      const bytes = symbolsOf(Buffer.from(String.fromCharCode(unit)));
      for (let byte = 0; byte < 256; byte++) {
        const b = symbolOfByte[byte]!;
        if (merged([b, mergedFirst[unit]!, b], mergeByRank).join() !== merged([b, ...bytes, b], mergeByRank).join()) differs.push(`U+${unit.toString(16)} by byte ${byte}`);
      }
    }
    expect(differs).toEqual([]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.constantFrom(...early), fc.uint8Array({ maxLength: 24 }), (before, unit, after) => {
        const asBytes = [...symbolsOf(before), ...symbolsOf(Buffer.from(String.fromCharCode(unit))), ...symbolsOf(after)];
        const asToken = [...symbolsOf(before), mergedFirst[unit]!, ...symbolsOf(after)];
        expect(merged(asToken, mergeByRank)).toEqual(merged(asBytes, mergeByRank));
        expect(merged(asToken, mergeLongByRank)).toEqual(merged(asBytes, mergeLongByRank));
      }),
      propertyParameters(),
    );
  });

  it('step 2 writes the ids of the stand-ins textToByteChars spells, lone surrogates as U+FFFD', () => {
    const idOfChar = (char: string) => files.vocab[char]!;
    fc.assert(
      fc.property(fc.oneof(unicodeText(), fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((u) => String.fromCharCode(u)), maxLength: 8 })), (text) => {
        const into = new Int32Array(3 * text.length);
        const n = writeByteSymbols(text, 0, text.length, symbolOfByte, into);
        expect(Array.from(into.subarray(0, n))).toEqual(Array.from(textToByteChars(text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')), idOfChar));
      }),
      propertyParameters(),
    );
  });

  it(`step 3 merges the same by scanning (up to ${SHORT} bytes), by the queue, and as encoder.py does`, () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 2 * SHORT }), fc.array(fc.constantFrom(...Buffer.from(' thé cat-sat\n\n  on 1859 mats!!')), { maxLength: 2 * SHORT }).map((b) => Uint8Array.from(b)));
    fc.assert(
      fc.property(bytes, (b) => {
        const scanned = Int32Array.from(b, (byte) => symbolOfByte[byte]!);
        const queued = scanned.slice();
        const byScan = Array.from(scanned.subarray(0, mergeByRank(scanned, scanned.length, rules)));
        const byQueue = Array.from(queued.subarray(0, mergeLongByRank(queued, queued.length, rules)));
        expect(byScan).toEqual(byQueue);
        expect(byScan).toEqual(oracle.bpe(Array.from(b, (byte) => BYTE_TO_CHAR[byte]!).join('')).map((symbol) => files.vocab[symbol]!));
      }),
      propertyParameters(),
    );
  });

  describe('a long pre-token, encoded window by window, gives the ids of BPE on the whole of it at once', () => {
    const long: [string, string][] = [
      ['300 000 of one letter', 'a'.repeat(300_000)],
      ['300 001 spaces', ' '.repeat(300_001)],
      ['100 001 CJK characters', '中'.repeat(100_001)],
      ['100 000 U+FFFD', '\ufffd'.repeat(100_000)],
      ['200 000 seeded random letters', seededLetters(200_000, 3)],
      ['a repeated syllable, 300 000 letters', 'abcab'.repeat(60_000)],
    ];
    for (const [what, text] of long) {
      it(what, () => {
        expect(reference.encodePreToken(text)).toEqual(reference.encodeWhole(text));
      });
    }
  });

  it('gives a long text the ids of its pieces cut between pre-tokens, whatever is cached', () => {
    const text = `${'a'.repeat(50_000)} ${randomBytesText(100_000, 5)}${' '.repeat(40_000)}x${'\ufffd'.repeat(30_000)}`;
    const whole = createReferenceTokenizer(files).encode(text);
    const other = createReferenceTokenizer(files); // its cache fills in another order
    expect(whole).toEqual(splitIntoPreTokens(text).flatMap((preToken) => other.encodePreToken(preToken)));
    expect(whole).toEqual(reference.encode(text)); // and this one's cache is warm from the tests before
  });

  it('runs with a bounded stack: 4 MB of each kind of text on a quarter of the default stack', () => {
    const script = `
      const { loadReferenceTokenizer } = require('./runners/reference/tokenizer');
      const t = loadReferenceTokenizer();
      const random = require('./runners/weights/seeded').seededRandom(9);
      const bytes = Uint8Array.from({ length: 4 << 20 }, () => Math.floor(random() * 256));
      const texts = ['a', ' ', '\\n', '中', '\\ufffd', 'ab '].map((c) => c.repeat((4 << 20) / c.length));
      texts.push(new TextDecoder().decode(bytes));
      process.stdout.write(texts.map((text) => t.encode(text).length).join(' '));`;
    const run = spawnSync(process.execPath, ['--stack-size=250', '-r', 'esbuild-register', '-e', script], { cwd: packageRoot(), encoding: 'utf8', maxBuffer: 1 << 20 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout.split(' ')).toHaveLength(7);
  });
});

describe('The tokenize command reads and writes text of any size', () => {
  it('reads standard input as TextDecoder does: any bytes, invalid ones as U+FFFD only when asked', () => {
    const edges = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff, 0xbb];
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.array(fc.constantFrom(...edges), { maxLength: 12 }).map((b) => Uint8Array.from(b)));
    fc.assert(
      fc.property(bytes, (b) => {
        expect(utf8ToText(b, true)).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(b));
        let strict: string | undefined;
        try {
          strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
        } catch {
          strict = undefined;
        }
        expect(utf8ToText(b, false)).toBe(strict);
      }),
      propertyParameters(),
    );
    const big = seededBytes(1 << 20, 4);
    expect(utf8ToText(big, true)).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(big));
  });

  it('writes the ids as JSON.stringify would, a chunk at a time', async () => {
    const write = async (...idChunks: ArrayLike<number>[]) => {
      const chunks: Buffer[] = [];
      await writeIdsJson(idChunks, (chunk) => chunks.push(Buffer.from(chunk)) > 0);
      return { text: Buffer.concat(chunks).toString('utf8'), chunks: chunks.length };
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.nat(80_000), fc.integer({ min: -3, max: 3 }), fc.double(), fc.constant(2 ** 53), fc.constant(2 ** 32)), { maxLength: 40 }), fc.nat(40), async (ids, cut) => {
        expect((await write(ids)).text).toBe(`${JSON.stringify(ids)}\n`);
        expect((await write([], ids.slice(0, cut), [], ids.slice(cut))).text).toBe(`${JSON.stringify(ids)}\n`); // however the ids come in chunks
      }),
      propertyParameters(),
    );
    const many = Array.from({ length: 500_000 }, (_, i) => (i * 7919) % 50257); // about 2.7 MB of JSON
    const written = await write(many);
    expect(written.chunks).toBeGreaterThan(1);
    expect(written.text).toBe(`${JSON.stringify(many)}\n`);
    expect((await write(Int32Array.from(many.slice(0, 300_000)), Int32Array.from(many.slice(300_000)))).text).toBe(`${JSON.stringify(many)}\n`); // as the reference hands them
    const long = 'x'.repeat(3 << 20) as unknown as number; // an element longer than a buffer
    expect((await write([1, long, 2])).text).toBe(`${JSON.stringify([1, long, 2])}\n`);
    expect((await write([long])).text).toBe(`${JSON.stringify([long])}\n`);
  });

  it('cuts a long input in two where a digit meets a letter: the decoding and the pre-tokens start afresh there, so the two parts give the ids of the whole', () => {
    const tokenizer = loadReferenceTokenizer();
    const junction = fc.constantFrom('1a', 'a1', '9Z', 'Z0');
    fc.assert(
      fc.property(unicodeText(), junction, unicodeText(), fc.constantFrom('none', 'all') as fc.Arbitrary<'none' | 'all'>, (before, pair, after, allowedSpecial) => {
        const bytes = Buffer.from(`${before}${END_OF_TEXT}${pair}${after}`, 'utf8');
        const cut = halfwayCut(bytes.subarray(0, bytes.length - Buffer.byteLength(after))); // a junction at or after the middle: the pair at the latest
        if (cut < 0) return;
        const [head, tail] = [utf8ToText(bytes.subarray(0, cut), true)!, utf8ToText(bytes.subarray(cut), true)!];
        expect(head + tail).toBe(utf8ToText(bytes, true));
        expect([...tokenizer.encode(head, { allowedSpecial }), ...tokenizer.encode(tail, { allowedSpecial })]).toEqual(tokenizer.encode(head + tail, { allowedSpecial }));
      }),
      propertyParameters(),
    );
    const bytes = seededBytes(1 << 20, 12); // random bytes: unfinished UTF-8 sequences everywhere
    const cut = halfwayCut(bytes);
    expect(cut).toBeGreaterThan(bytes.length >> 1);
    expect(utf8ToText(bytes.subarray(0, cut), true)! + utf8ToText(bytes.subarray(cut), true)!).toBe(utf8ToText(bytes, true));
    expect(halfwayCut(Buffer.from('ab'.repeat(1000)))).toBe(-1); // no cut: one thread
  });

  it('tokenizes 9 MB of random bytes on standard input in two parts at once, with the ids encode gives the whole', () => {
    const bytes = seededBytes(9 << 20, 13);
    expect(bytes.length).toBeGreaterThanOrEqual(TWO_PARTS_BYTES);
    expect(halfwayCut(bytes)).toBeGreaterThan(0); // so the command takes its two-part path
    const run = cli(['tokenize', '--replace-invalid'], { input: bytes });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const ids = loadReferenceTokenizer().encode(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
    expect(run.stdout).toBe(`${JSON.stringify(ids)}\n`);
  });

  it('tokenizes 2 MB of random bytes given on standard input with --replace-invalid, as encode does', () => {
    const bytes = seededBytes(2_000_000, 8);
    const run = cli(['tokenize', '--replace-invalid'], { input: bytes });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    expect(run.stdout).toBe(`${JSON.stringify(loadReferenceTokenizer().encode(text))}\n`);
  });
});

/** Random text for the tokenizer's properties: plain Unicode, and text built from the tricky parts. */
import fc from 'fast-check';
import { END_OF_TEXT } from './vocabulary';

/** Pieces that sit on the pattern's edges: every kind of whitespace, contractions, special-token look-alikes. */
const TRICKY_PIECES = [
  ' ', '  ', '\t', '\n', '\r\n', '\r', '\x0b', '\x0c', '\x1c', '\x1f',
  '\u0085', '\u00a0', '\u1680', '\u2000', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
  '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e',
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'", '\u2019',
  'a', 'Z', 'word', ' word', 'é', 'e\u0301', '\u0301', '日本', '한', '1', '42', '٣', '½', '.', '!?', '...', '-', '_',
  '😀', '👍🏽', '👨\u200d👩\u200d👧', '🇺🇸', END_OF_TEXT, '<|', '|>', 'endoftext',
];

export const trickyText = (): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...TRICKY_PIECES), { maxLength: 24 }).map((pieces) => pieces.join(''));

/** Any well-formed string: whole graphemes, or any code points (never a lone surrogate). */
export const unicodeText = (): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ unit: 'grapheme', maxLength: 32 }), fc.string({ unit: 'binary', maxLength: 32 }), trickyText());

/** Text with no <|endoftext|> in it, to put one between. */
export const textWithoutSpecial = (): fc.Arbitrary<string> => unicodeText().filter((s) => !s.includes(END_OF_TEXT));

/** Leaves out of the random text any string with a code point the filter excludes. */
export function leavingOut(arbitrary: fc.Arbitrary<string>, excludes: ((cp: number) => boolean) | undefined): fc.Arbitrary<string> {
  if (!excludes) return arbitrary;
  return arbitrary.filter((s) => {
    for (const char of s) if (excludes(char.codePointAt(0) as number)) return false;
    return true;
  });
}

/** Fixed seed, so that a run is repeatable; GPT2_SPEC_FC_SEED / GPT2_SPEC_FC_RUNS explore further. */
export const propertyParameters = (): fc.Parameters<unknown> => ({
  seed: Number(process.env.GPT2_SPEC_FC_SEED ?? 20190214),
  numRuns: Number(process.env.GPT2_SPEC_FC_RUNS ?? 150),
});

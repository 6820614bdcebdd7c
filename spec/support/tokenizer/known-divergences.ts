/**
 * Golden cases a tokenizer is known to get wrong, after whatever its adapter works around.
 *
 * The goldens stay as the references wrote them. A case listed here is still run: its test asserts
 * that the tokenizer still diverges, so that a fix upstream shows up as a failure to update this
 * list, and it is recorded as 'known-divergence'. The reference tokenizer must have none.
 */
import { codePointName, javascriptClassOf, referenceClassOf } from './unicode';
import { END_OF_TEXT, END_OF_TEXT_ID } from './vocabulary';

export interface KnownDivergence {
  reason: string;
  /** When set, the divergence is expected only where this holds; elsewhere the case must pass. */
  onlyWhere?: { description: string; holds: () => boolean };
}

const jsWhitespace = (library: string): KnownDivergence => ({
  reason: `${library}'s pre-tokenizer uses JavaScript's \\s, which lacks U+0085 (NEXT LINE) and has U+FEFF (BOM); GPT-2's \\s is Unicode's White_Space`,
});

/** Where this Node's \p{L} / \p{N} know a code point as a letter or number that the references' Unicode tables do not. */
function newerUnicodeLetter(library: string, cp: number): KnownDivergence {
  return {
    reason: `${library}'s pre-tokenizer uses JavaScript's \\p{L} / \\p{N}, and this Node's Unicode tables make ${codePointName(cp)} a ${javascriptClassOf(cp)}; to the references it is not one, so before "'s" it takes the apostrophe`,
    onlyWhere: {
      description: `Node's Unicode tables class ${codePointName(cp)} differently from the references'`,
      holds: () => javascriptClassOf(cp) !== referenceClassOf(cp),
    },
  };
}

/** The divergences every JavaScript pre-tokenizer built on the language's own \\s, \\p{L} and \\p{N} has. */
const javascriptRegexDivergences = (library: string): Record<string, KnownDivergence> => ({
  'unicode-whitespace/U+0085-after-space': jsWhitespace(library),
  'format-characters/U+FEFF-after-space': jsWhitespace(library),
  ...Object.fromEntries(
    [0x088f, 0x0c5c, 0xa7ce, 0x10940, 0x10ec5, 0x11db0, 0x16ea0, 0x1e6c0].map((cp) => [`unicode-categories/${codePointName(cp)}-before-apostrophe-s`, newerUnicodeLetter(library, cp)]),
  ),
});

const END_OF_TEXT_ALWAYS_SPECIAL =
  `transformers.js always cuts ${END_OF_TEXT} out of the text as the special token ${END_OF_TEXT_ID} (@huggingface/tokenizers splits every added token before the pre-tokenizer) and has no option to read it as plain text, which allowedSpecial 'none' asks for (tiktoken's disallowed_special=(), transformers' split_special_tokens=True)`;

/** The special-token cases with allowedSpecial 'none' whose text holds <|endoftext|>. */
const END_OF_TEXT_AS_TEXT_CASES = [
  'alone-plain', 'at-start-plain', 'at-end-plain', 'in-the-middle-plain', 'spaces-around-plain', 'space-before-plain', 'newlines-around-plain',
  'repeated-adjacent-plain', 'repeated-five-plain', 'repeated-with-text-plain', 'separated-by-newline-plain', 'document-separator-plain',
  'inside-brackets-plain', 'two-overlapping-starts-plain',
].map((name) => `special-tokens/${name}`);

export const knownDivergences: Record<string, Record<string, KnownDivergence>> = {
  reference: {},
  'gpt-tokenizer': javascriptRegexDivergences('gpt-tokenizer'),
  'transformers.js': {
    ...javascriptRegexDivergences('transformers.js'),
    ...Object.fromEntries(END_OF_TEXT_AS_TEXT_CASES.map((id) => [id, { reason: END_OF_TEXT_ALWAYS_SPECIAL }])),
  },
};

/** Properties of the tokenizer chapter a tokenizer is known to break; the test then asserts it still does. */
export const knownPropertyDivergences: Record<string, Record<string, string>> = {
  'transformers.js': { 'end-of-text-as-text': END_OF_TEXT_ALWAYS_SPECIAL },
};

/** The divergence expected of this tokenizer on this case here, if any. */
export function expectedDivergence(tokenizer: string, caseId: string): KnownDivergence | undefined {
  const entry = knownDivergences[tokenizer]?.[caseId];
  if (entry?.onlyWhere && !entry.onlyWhere.holds()) return undefined;
  return entry;
}

/**
 * Characters the property tests leave out of their random text for a tokenizer, because its known
 * divergences are about them (the golden cases above check those characters instead).
 */
const javascriptClasses = {
  description: "the code points that JavaScript's \\s, \\p{L} and \\p{N} (on this Node) class differently from the references: U+0085, U+FEFF, and letters newer than the references' Unicode",
  excludes: (cp: number) => javascriptClassOf(cp) !== referenceClassOf(cp),
};

export const charactersLeftOutOfProperties: Record<string, { description: string; excludes: (cp: number) => boolean }> = {
  'gpt-tokenizer': javascriptClasses,
  'transformers.js': javascriptClasses,
};

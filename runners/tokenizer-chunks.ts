/**
 * A guard for tokenizer libraries on long input: the text is encoded in chunks cut where GPT-2's
 * pre-tokenizer always cuts, so the ids are the same as for the whole text, and a library whose BPE
 * is quadratic (gpt-tokenizer) or whose memory grows with the input (transformers.js) sees only
 * pieces of a bounded size. A text with no such cut for MAX_CHUNK characters (a megabyte of one
 * letter) is refused with a TokenizerError rather than left to hang.
 */
import { TokenizerError } from './errors';

/** The most UTF-16 units a library is given at once, and the longest run without a safe cut that is accepted. */
export const MAX_CHUNK = 1 << 16;

/**
 * True when a chunk may end before text[i]: a U+0020 space between a printable ASCII character and an
 * ASCII letter. Every variant of GPT-2's pattern ends a pre-token there (a letter, number or symbol run
 * stops at the space; the space starts " word"), so no token spans the cut, and special tokens hold no space.
 */
function isSafeCut(text: string, i: number): boolean {
  if (text.charCodeAt(i) !== 0x20) return false;
  const before = text.charCodeAt(i - 1);
  const after = text.charCodeAt(i + 1) | 0x20; // lower case
  return before >= 0x21 && before <= 0x7e && after >= 0x61 && after <= 0x7a;
}

/** The texts to encode one after another; their ids, joined, are the whole text's. */
export function chunksOf(text: string, tokenizer: string): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (text.length - start > MAX_CHUNK) {
    let cut = start + MAX_CHUNK;
    while (cut > start && !isSafeCut(text, cut)) cut--;
    if (cut === start) {
      throw new TokenizerError(
        `${tokenizer}: ${MAX_CHUNK} characters from offset ${start} hold no word break ("x y"), which is this adapter's limit ` +
          '(the library would take too long or too much memory on it); the reference tokenizer takes text of any shape',
      );
    }
    chunks.push(text.slice(start, cut));
    start = cut;
  }
  chunks.push(text.slice(start));
  return chunks;
}

/** encode(text) chunk by chunk. */
export function encodeInChunks(text: string, tokenizer: string, encode: (chunk: string) => readonly number[]): number[] {
  const ids: number[] = [];
  for (const chunk of chunksOf(text, tokenizer)) for (const id of encode(chunk)) ids.push(id);
  return ids;
}

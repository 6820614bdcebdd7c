/**
 * An adapter that runs the npm package gpt-tokenizer (4.x) behind the spec's Gpt2Tokenizer contract,
 * with its r50k_base encoding: GPT-2's vocabulary, merges and pre-tokenizer pattern, as tiktoken
 * names it.
 *
 * The adapter works around two bugs of gpt-tokenizer 4.0.0 (spec/tokenizer.md has the details, and
 * the spec checks that the library still has them, so that a fixed release is noticed):
 *   1. encode with allowedSpecial 'all' finds <|endoftext|> only at the very start of the text, and
 *      a second one right after the first is garbled: the adapter cuts the special tokens out itself.
 *   2. decode streams every call through one shared TextDecoder: the bytes of a character cut
 *      short are missing from the call's result (at its end, or before a whole-character token)
 *      and come out as U+FFFD at the start of some later call. The adapter decodes such ids (those
 *      whose tokens are not whole UTF-8 characters) from the library's own token table.
 * It also gives the library long text in chunks cut between words (../tokenizer-chunks.ts), with the
 * same ids: on a long pre-token its merge loop is quadratic (4 MB of one letter did not finish in 120 s).
 * What it cannot work around without replacing the library's encoder (its pre-tokenizer uses
 * JavaScript's \s and \p{L}) is listed in spec/support/tokenizer/known-divergences.ts.
 */
import { decode as libraryDecode, encode as libraryEncode, vocabularySize } from 'gpt-tokenizer/cjs/encoding/r50k_base';
import libraryTokenTable from 'gpt-tokenizer/cjs/bpeRanks/r50k_base';
import type { Gpt2Tokenizer } from '../contract';
import { TokenizerError } from '../errors';
import { END_OF_TEXT, END_OF_TEXT_ID, GPT2_VOCAB_SIZE } from '../reference/tokenizer';
import { encodeInChunks } from '../tokenizer-chunks';

/** id -> the token's text, or its bytes when they are not whole UTF-8 characters. */
type TokenTable = readonly (string | readonly number[])[];

export class GptTokenizerAdapter implements Gpt2Tokenizer {
  readonly name = 'gpt-tokenizer';
  readonly vocabSize: number = vocabularySize;
  private readonly tokenTable: TokenTable = libraryTokenTable as TokenTable;

  constructor() {
    if (this.vocabSize !== GPT2_VOCAB_SIZE || this.tokenTable.length !== END_OF_TEXT_ID) {
      throw new TokenizerError(`gpt-tokenizer's r50k_base has ${this.vocabSize} ids and ${this.tokenTable.length} ordinary tokens, not GPT-2's ${GPT2_VOCAB_SIZE} and ${END_OF_TEXT_ID}`);
    }
  }

  encode(text: string, opts: { allowedSpecial?: 'none' | 'all' } = {}): number[] {
    const allowedSpecial = opts.allowedSpecial ?? 'none';
    if (allowedSpecial !== 'none' && allowedSpecial !== 'all') {
      throw new TokenizerError(`allowedSpecial must be 'none' or 'all', not ${JSON.stringify(allowedSpecial)}`);
    }
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string, not ${typeof text}`);
    if (allowedSpecial === 'none') return encodePlain(text);
    // Workaround 1: split on <|endoftext|> here and encode the parts as plain text.
    const ids: number[] = [];
    text.split(END_OF_TEXT).forEach((part, i) => {
      if (i > 0) ids.push(END_OF_TEXT_ID);
      for (const id of encodePlain(part)) ids.push(id);
    });
    return ids;
  }

  decode(ids: readonly number[]): string {
    let wholeCharacters = true;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`cannot decode id ${String(id)}: ids run from 0 to ${this.vocabSize - 1}`);
      }
      if (id !== END_OF_TEXT_ID && typeof this.tokenTable[id] !== 'string') wholeCharacters = false;
    }
    // Tokens that are whole characters are joined as text: the library's decode is right for them.
    if (wholeCharacters) return libraryDecode(ids);
    return this.decodeBytes(ids);
  }

  /** Workaround 2: the ids' bytes, from the library's table, through a fresh decoder. */
  private decodeBytes(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = id === END_OF_TEXT_ID ? END_OF_TEXT : (this.tokenTable[id] as string | readonly number[]);
      if (typeof token === 'string') for (const byte of utf8.encode(token)) bytes.push(byte);
      else for (const byte of token) bytes.push(byte);
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes));
  }
}

const utf8 = new TextEncoder();

/**
 * <|endoftext|> as plain text: an empty disallowedSpecial stops the library from throwing on it. In chunks
 * (../tokenizer-chunks.ts), because the library's merge loop is quadratic in a pre-token's length.
 */
function encodePlain(text: string): number[] {
  return encodeInChunks(text, 'gpt-tokenizer', (chunk) => libraryEncode(chunk, { disallowedSpecial: new Set() }));
}

export async function createGptTokenizerAdapter(): Promise<Gpt2Tokenizer> {
  return new GptTokenizerAdapter();
}

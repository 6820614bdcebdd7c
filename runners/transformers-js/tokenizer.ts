/**
 * transformers.js's tokenizer (AutoTokenizer, on @huggingface/tokenizers) behind the spec's Gpt2Tokenizer
 * contract, loaded from fixtures/transformers-js/gpt2-tokenizer: GPT-2's own vocabulary and merges, as
 * transformers' GPT2TokenizerFast saves them (scripts/fixtures/transformers_js.py writes the folder).
 *
 * What the adapter does around the library, and nothing more:
 *   - it checks allowedSpecial and the ids to decode (integers 0..50256) itself, and throws TokenizerError
 *     before the library is called: the library drops an id outside the vocabulary without a word;
 *   - decode([]) is '' here: the library throws "token_ids must be a non-empty array of integers";
 *   - encode passes add_special_tokens: false (GPT-2 adds none; the folder's post-processor adds none either);
 *   - encode gives the library long text in chunks cut between words, with the same ids (../tokenizer-chunks.ts).
 * What it does not work around: transformers.js always cuts <|endoftext|> out of the text as the special
 * token 50256, and has no option to read it as plain text (transformers' split_special_tokens, tiktoken's
 * disallowed_special=()). With allowedSpecial 'none' such a text diverges from GPT-2's; the spec lists those
 * cases as known divergences (spec/98-transformers-js.spec.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { Gpt2Tokenizer } from '../contract';
import { TokenizerError } from '../errors';
import { fixturesRoot } from '../paths';
import { encodeInChunks } from '../tokenizer-chunks';
import { loadLibrary } from './library';
import { fromFolder } from './runner';

export const END_OF_TEXT = '<|endoftext|>';
export const END_OF_TEXT_ID = 50256;
export const VOCAB_SIZE = 50257;

/** The folder the tokenizer loads by default: fixtures/transformers-js/gpt2-tokenizer. */
export const defaultTokenizerFolder = (): string => join(fixturesRoot(), 'transformers-js', 'gpt2-tokenizer');

/** The library's tokenizer, loaded from a folder, offline. */
export async function loadLibraryTokenizer(folder: string = defaultTokenizerFolder()): Promise<PreTrainedTokenizer> {
  // transformers.js says only "Cannot read properties of undefined (reading 'tokenizer_class')" when a file is missing.
  const missing = ['tokenizer.json', 'tokenizer_config.json'].filter((f) => !existsSync(join(folder, f)));
  if (missing.length > 0) {
    throw new TokenizerError(`${folder}: no ${missing.join(' or ')} (run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures)`);
  }
  const lib = loadLibrary();
  return fromFolder(lib, resolve(folder), (id) => lib.AutoTokenizer.from_pretrained(id, { local_files_only: true }));
}

export class TransformersJsTokenizer implements Gpt2Tokenizer {
  readonly name = 'transformers.js';

  constructor(readonly library: PreTrainedTokenizer) {
    const eot = library.encode(END_OF_TEXT, { add_special_tokens: false });
    if (eot.length !== 1 || eot[0] !== END_OF_TEXT_ID) {
      throw new TokenizerError(`the transformers.js tokenizer encodes ${END_OF_TEXT} as [${eot.join(', ')}], not [${END_OF_TEXT_ID}]: not GPT-2's vocabulary`);
    }
  }

  encode(text: string, opts: { allowedSpecial?: 'none' | 'all' } = {}): number[] {
    const allowedSpecial = opts.allowedSpecial ?? 'none';
    if (allowedSpecial !== 'none' && allowedSpecial !== 'all') {
      throw new TokenizerError(`allowedSpecial must be 'none' or 'all', not ${JSON.stringify(allowedSpecial)}`);
    }
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string, not ${typeof text}`);
    // The same call either way: the library has no switch that reads <|endoftext|> as text. In chunks
    // (../tokenizer-chunks.ts): on one long text the library's memory grows to gigabytes.
    return encodeInChunks(text, 'transformers.js', (chunk) => this.library.encode(chunk, { add_special_tokens: false }));
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) {
        throw new TokenizerError(`cannot decode id ${String(id)}: ids run from 0 to ${VOCAB_SIZE - 1}`);
      }
    }
    if (ids.length === 0) return '';
    return this.library.decode([...ids], { skip_special_tokens: false });
  }
}

export async function createTransformersJsTokenizer(folder?: string): Promise<TransformersJsTokenizer> {
  return new TransformersJsTokenizer(await loadLibraryTokenizer(folder));
}

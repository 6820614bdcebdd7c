/** What the commands read from their flags: a checkpoint, a tokenizer, and the prompt's ids. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Tokenizer, Gpt2Weights } from '../../runners/contract';
import { Gpt2SpecError } from '../../runners/errors';
import { loadReferenceTokenizer } from '../../runners/reference/tokenizer';
import { loadCheckpoint } from '../../runners/weights/checkpoint';
import { str, UsageError, type Flags } from './args';

/** A checkpoint folder, or one clear line saying why it does not load. */
export function loadWeightsArg(dir: string): Gpt2Weights {
  try {
    return loadCheckpoint(dir);
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw new UsageError(`the checkpoint does not load: ${e.message}`);
    throw e;
  }
}

/** The checkpoint's own vocab.json and merges.txt when it has them (a GPT-2 with its own vocabulary), else GPT-2's. */
export function tokenizerFor(dir: string | undefined): Gpt2Tokenizer {
  try {
    if (dir && existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) {
      return loadReferenceTokenizer({ vocabPath: join(dir, 'vocab.json'), mergesPath: join(dir, 'merges.txt') });
    }
    return loadReferenceTokenizer();
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw new UsageError(`the tokenizer does not load: ${e.message}`);
    throw e;
  }
}

export function parseIds(json: string, what: string): number[] {
  let ids: unknown;
  try {
    ids = JSON.parse(json);
  } catch {
    throw new UsageError(`${what} must be a JSON array of token ids, e.g. [464, 3290]`);
  }
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new UsageError(`${what} must be a non-empty JSON array of whole numbers ≥ 0`);
  }
  return ids as number[];
}

/** The ids to run: --ids, or --prompt (or the default text) through the checkpoint's tokenizer; checked against the vocabulary. */
export function promptIds(flags: Flags, dir: string | undefined, vocabSize: number, defaultText: string): number[] {
  const given = str(flags, 'ids');
  if (given !== undefined && str(flags, 'prompt') !== undefined) throw new UsageError('give --prompt or --ids, not both');
  const ids = given !== undefined ? parseIds(given, '--ids') : tokenizerFor(dir).encode(str(flags, 'prompt') ?? defaultText);
  if (ids.length === 0) throw new UsageError('the prompt is empty: it has no tokens');
  const outside = ids.find((id) => id >= vocabSize);
  if (outside !== undefined) {
    const hint = given !== undefined ? 'give ids below that' : 'this checkpoint has its own vocabulary, so give --ids, or put its vocab.json and merges.txt beside it';
    throw new UsageError(`token id ${outside} is outside the model's vocabulary of ${vocabSize}; ${hint}`);
  }
  return ids;
}

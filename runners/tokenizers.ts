/**
 * The built-in tokenizers, by name, and the choice of which ones a run checks.
 *
 * GPT2_SPEC_TOKENIZERS=reference,gpt-tokenizer,./my-adapter.ts picks them by name or adapter path (unknown
 * names are an error); without it, a run takes every built-in. Either way the spec (spec/01-tokenizer.spec.ts)
 * fails a selected tokenizer that does not load, with the reason: unlike a runner, no tokenizer is skipped
 * for being unavailable here.
 */
import type { Gpt2Tokenizer } from './contract';
import { TokenizerError } from './errors';
import { adapterSource, looksLikePath, type Source } from './registry';

// Each module is required only when its tokenizer is asked for (gpt-tokenizer's table is large).
// require, not import(): under esbuild-register a dynamic import() is Node's own ESM loader, which
// does not read TypeScript.
export const builtinTokenizers: Record<string, () => Promise<Gpt2Tokenizer>> = {
  reference: async () => (require('./reference/tokenizer') as typeof import('./reference/tokenizer')).loadReferenceTokenizer(),
  'gpt-tokenizer': async () => (require('./gpt-tokenizer') as typeof import('./gpt-tokenizer')).createGptTokenizerAdapter(),
  // The first outside implementation checked: transformers.js's AutoTokenizer on GPT-2's tokenizer.json.
  'transformers.js': async () => (require('./transformers-js') as typeof import('./transformers-js')).createTransformersJsTokenizer(),
};

export interface TokenizerSelection {
  /** The names asked for, in order: GPT2_SPEC_TOKENIZERS, or every built-in. */
  names: string[];
  /**
   * Whether the names came from GPT2_SPEC_TOKENIZERS. Only the load test's title says so: a tokenizer that
   * fails to load fails the spec whether it was asked for by name or is a default built-in.
   */
  explicit: boolean;
}

/** Which tokenizers a run is asked to check; synchronous, so that test titles can name them. */
export function selectedTokenizerNames(env: NodeJS.ProcessEnv = process.env): TokenizerSelection {
  const listed = env.GPT2_SPEC_TOKENIZERS?.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (!listed || listed.length === 0) return { names: Object.keys(builtinTokenizers), explicit: false };
  const unknown = listed.filter((name) => !Object.hasOwn(builtinTokenizers, name) && !looksLikePath(name));
  if (unknown.length > 0) {
    throw new TokenizerError(`GPT2_SPEC_TOKENIZERS names unknown tokenizers ${unknown.join(', ')}; the built-in ones are ${Object.keys(builtinTokenizers).join(', ')}`);
  }
  return { names: [...new Set(listed)], explicit: true };
}

export interface UnavailableTokenizer {
  name: string;
  reason: string;
}

export interface LoadedTokenizers {
  tokenizers: Gpt2Tokenizer[];
  /** Those that failed to load, with the error's message: reported, never dropped silently. */
  unavailable: UnavailableTokenizer[];
}

/**
 * Loads the selected tokenizers, for a caller that goes on without those that fail to load (the tokenizer
 * benchmark): each of them is returned in `unavailable` with its reason. The spec does not use this; it loads
 * each tokenizer with loadTokenizer and fails the one that does not load.
 */
export async function selectTokenizers(env: NodeJS.ProcessEnv = process.env): Promise<LoadedTokenizers> {
  const { names } = selectedTokenizerNames(env);
  const tokenizers: Gpt2Tokenizer[] = [];
  const unavailable: UnavailableTokenizer[] = [];
  for (const name of names) {
    const outcome = await loadTokenizer(name);
    if ('tokenizer' in outcome) tokenizers.push(outcome.tokenizer);
    else unavailable.push({ name, reason: outcome.reason });
  }
  return { tokenizers, unavailable };
}

/** One tokenizer by built-in name or adapter path, or why it could not be loaded. */
export async function loadTokenizer(name: string): Promise<{ tokenizer: Gpt2Tokenizer } | { reason: string }> {
  try {
    return { tokenizer: await tokenizerSource(name).create() };
  } catch (error) {
    return { reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** A tokenizer by built-in name, or from the `tokenizer` factory of an adapter module (loaded as runner adapters are). */
export function tokenizerSource(nameOrPath: string): Source<Gpt2Tokenizer> {
  return adapterSource(nameOrPath, 'tokenizer', builtinTokenizers);
}

/** `gpt2-spec tokenize` and `detokenize`: text to ids as a JSON array, and back; stdin when no argument is given. */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { Gpt2Tokenizer } from '../../runners/contract';
import { Gpt2SpecError } from '../../runners/errors';
import { ReferenceTokenizer } from '../../runners/reference/tokenizer';
import { tokenizerSource } from '../../runners/tokenizers';
import { formatHelp, parseArgs, str, UsageError, type FlagSpec } from './args';
import { parseIds } from './inputs';
import { encodeInTwoParts, twoPartsCut } from './tokenize-halves';
import { utf8ToText, writeIdsJson } from './tokenize-io';

const FLAGS: FlagSpec[] = [
  { name: 'tokenizer', type: 'string', value: 'NAME|PATH', help: 'a built-in tokenizer (reference, gpt-tokenizer) or an adapter module (default: reference)' },
  { name: 'allowed-special', type: 'string', value: 'none|all', help: "tokenize only: 'all' maps <|endoftext|> to 50256; 'none' (the default) keeps it as text" },
  { name: 'replace-invalid', type: 'boolean', help: 'tokenize only: read bytes of standard input that are not UTF-8 as U+FFFD, instead of refusing them' },
];

export const tokenizeHelp = () => formatHelp('gpt2-spec tokenize [--tokenizer NAME|PATH] [--allowed-special none|all] [--replace-invalid] [TEXT]', 'Prints the token ids of TEXT (or of standard input, which must be UTF-8) as a JSON array.', FLAGS);
export const detokenizeHelp = () => formatHelp('gpt2-spec detokenize [--tokenizer NAME|PATH] [IDS]', 'Prints the text of a JSON array of token ids (or of standard input).', FLAGS.slice(0, 1));

async function tokenizerOf(name: string | undefined): Promise<Gpt2Tokenizer> {
  try {
    return await tokenizerSource(name ?? 'reference').create();
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw new UsageError(e.message);
    throw e;
  }
}

const readStdin = () => readFileSync(0, 'utf8');

/** Standard input's bytes, refused when they are not UTF-8 unless the user asks for U+FFFD in place of the invalid ones. */
function checkedInput(bytes: Uint8Array, replaceInvalid: boolean): Uint8Array {
  if (!replaceInvalid && !isUtf8(bytes)) throw new UsageError('standard input is not valid UTF-8; give --replace-invalid to read its invalid bytes as U+FFFD');
  return bytes;
}

/** Standard input as text: invalid UTF-8 is refused unless the user asks for U+FFFD in its place. A BOM stays, as text. */
export function decodeInput(bytes: Uint8Array, replaceInvalid: boolean): string {
  return utf8ToText(checkedInput(bytes, replaceInvalid), true)!;
}

/** The ids of `text`: the reference hands them over a chunk at a time, so that 100 MB of text never needs all its ids at once. */
function idChunks(tokenizer: Gpt2Tokenizer, text: string, allowedSpecial: 'none' | 'all'): Iterable<ArrayLike<number>> {
  return tokenizer instanceof ReferenceTokenizer ? tokenizer.encodeInChunks(text, { allowedSpecial }) : [tokenizer.encode(text, { allowedSpecial })];
}

/** Writes a chunk to standard output, resolving once the stream can take the next. */
function writeToStdout(chunk: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    process.stdout.write(chunk, (error) => (error ? reject(error) : resolve(true)));
  });
}

export async function tokenize(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS, 'gpt2-spec tokenize');
  if (positional.length > 1) throw new UsageError('give one TEXT argument (quote it), or none to read standard input');
  const special = str(flags, 'allowed-special') ?? 'none';
  if (special !== 'none' && special !== 'all') throw new UsageError("--allowed-special is 'none' or 'all'");
  const tokenizer = await tokenizerOf(str(flags, 'tokenizer'));
  const stdin = positional[0] === undefined ? checkedInput(readFileSync(0), flags['replace-invalid'] === true) : undefined;
  // A long input for the built-in reference (its own files) is tokenized in two parts at once, with the same ids (tokenize-halves.ts).
  const builtinReference = tokenizer instanceof ReferenceTokenizer && (str(flags, 'tokenizer') ?? 'reference') === 'reference';
  const cut = stdin && builtinReference ? twoPartsCut(stdin) : -1;
  try {
    const chunks = cut > 0 ? encodeInTwoParts(tokenizer as ReferenceTokenizer, stdin!, cut, special) : idChunks(tokenizer, positional[0] ?? decodeInput(stdin!, true), special);
    await writeIdsJson(chunks, writeToStdout);
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw new UsageError(e.message);
    throw e;
  }
  return 0;
}

export async function detokenize(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS.slice(0, 1), 'gpt2-spec detokenize');
  if (positional.length > 1) throw new UsageError('give one IDS argument, a JSON array such as [464, 3290]');
  const tokenizer = await tokenizerOf(str(flags, 'tokenizer'));
  const ids = parseIds(positional[0] ?? readStdin(), 'the ids');
  try {
    process.stdout.write(tokenizer.decode(ids));
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw new UsageError(e.message);
    throw e;
  }
  return 0;
}

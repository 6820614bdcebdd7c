/**
 * The tokenizer's golden cases, as scripts/fixtures/tokenizer_cases.py wrote them from Hugging Face
 * transformers and tiktoken. Cases are discovered from the files; none is listed by hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureError } from '../../../runners/errors';
import { fixturesDir } from '../fixtures';
import { END_OF_TEXT, END_OF_TEXT_ID } from './vocabulary';

export type AllowedSpecial = 'none' | 'all';

export interface EncodeCase {
  id: string;
  category: string;
  text: string;
  ids: number[];
  allowedSpecial: AllowedSpecial;
  /** What decoding ids gives, where that is not `text` (a lone surrogate comes back as U+FFFD). */
  decoded?: string;
  /** Which references gave `ids`; the generator only writes a case that transformers and tiktoken agree on. */
  agreement: Record<string, boolean>;
}

export interface DecodeCase {
  id: string;
  category: string;
  ids: number[];
  text: string;
}

/** Inclusive code point ranges of GPT-2's \p{L}, \p{N} and \s, as the references' regex engines have them. */
export interface UnicodeClasses {
  letter: [number, number][];
  number: [number, number][];
  whitespace: [number, number][];
}

function readJson(name: string): unknown {
  const path = join(fixturesDir(), 'tokenizer', name);
  if (!existsSync(path)) throw new FixtureError(`${path}: missing (run npm run fixtures:generate)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FixtureError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

const isIdList = (x: unknown): x is number[] => Array.isArray(x) && x.every((id) => Number.isInteger(id));

function checkCases<T extends { id: string }>(name: string, items: unknown, valid: (item: Record<string, unknown>) => boolean): T[] {
  if (!Array.isArray(items) || items.length === 0) throw new FixtureError(`tokenizer/${name}: expected a non-empty list of cases`);
  const seen = new Set<string>();
  for (const item of items as Record<string, unknown>[]) {
    if (typeof item !== 'object' || item === null || typeof item.id !== 'string' || !valid(item)) {
      throw new FixtureError(`tokenizer/${name}: malformed case ${JSON.stringify(item).slice(0, 200)}`);
    }
    if (seen.has(item.id)) throw new FixtureError(`tokenizer/${name}: case id ${item.id} appears twice`);
    seen.add(item.id);
  }
  return items as T[];
}

let encodeCases: EncodeCase[] | undefined;
let decodeCases: DecodeCase[] | undefined;
let unicodeClasses: UnicodeClasses | undefined;

export function loadEncodeCases(): EncodeCase[] {
  encodeCases ??= checkCases<EncodeCase>('cases.json', readJson('cases.json'), (c) =>
    typeof c.category === 'string' && typeof c.text === 'string' && isIdList(c.ids) && (c.allowedSpecial === 'none' || c.allowedSpecial === 'all'),
  );
  return encodeCases;
}

export function loadDecodeCases(): DecodeCase[] {
  decodeCases ??= checkCases<DecodeCase>('decode-cases.json', readJson('decode-cases.json'), (c) => typeof c.text === 'string' && isIdList(c.ids));
  return decodeCases;
}

export function loadUnicodeClasses(): UnicodeClasses {
  if (unicodeClasses) return unicodeClasses;
  const parsed = readJson('unicode-classes.json') as Partial<UnicodeClasses>;
  for (const key of ['letter', 'number', 'whitespace'] as const) {
    if (!Array.isArray(parsed[key])) throw new FixtureError(`tokenizer/unicode-classes.json: no "${key}" ranges`);
  }
  unicodeClasses = parsed as UnicodeClasses;
  return unicodeClasses;
}

/** Cases grouped by category, in the order the file lists them. */
export function byCategory<T extends { category: string }>(cases: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const c of cases) {
    const group = groups.get(c.category) ?? [];
    group.push(c);
    groups.set(c.category, group);
  }
  return groups;
}

function findIn<T extends { id: string }>(file: string, cases: readonly T[], id: string): T {
  const found = cases.find((c) => c.id === id);
  if (!found) throw new FixtureError(`tokenizer/${file} has no case ${id}`);
  return found;
}

/** One encode case of tokenizer/cases.json, by id. */
export const findCase = (id: string): EncodeCase => findIn('cases.json', loadEncodeCases(), id);

/** One decode case of tokenizer/decode-cases.json, by id. */
export const findDecodeCase = (id: string): DecodeCase => findIn('decode-cases.json', loadDecodeCases(), id);

/** The test-title wording of each category; a category the file adds later is titled by its name. */
export const CATEGORY_TITLES: Record<string, string> = {
  seed: "the seed's examples",
  'made-up-words': 'made-up words fall apart into known sub-words',
  contractions: "contractions split off only in lower case ('s 't 're 've 'm 'll 'd)",
  numbers: 'numbers, in every script',
  code: 'source code, with its indentation and operators',
  'whitespace-runs': 'runs of spaces, tabs and newlines give their last space to the next word',
  'unicode-whitespace': "every Unicode whitespace character is GPT-2's \\s",
  'format-characters': 'format characters look like spaces but are not \\s',
  'unicode-categories': 'letters and numbers are those of the references\' Unicode tables',
  'combining-marks': 'combining marks are not letters',
  cjk: 'Chinese, Japanese and Korean text',
  emoji: 'emoji, with skin tones, ZWJ sequences and flags',
  'lone-surrogates': 'a lone surrogate encodes as U+FFFD would',
  'special-tokens': `${END_OF_TEXT} is plain text with allowedSpecial 'none' and id ${END_OF_TEXT_ID} with 'all'`,
  'long-runs': 'long runs of one character, 10 000 and more',
  empty: 'the empty string has no tokens',
  prose: 'prose in many languages',
  'decode-invalid-utf8': 'ids whose bytes are not valid UTF-8 decode with U+FFFD',
};

export const categoryTitle = (category: string): string => CATEGORY_TITLES[category] ?? category;

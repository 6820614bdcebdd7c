/**
 * Step 1 of GPT-2's tokenizer: split the text into pre-tokens. BPE then runs inside each pre-token,
 * so no token ever spans two of them (a word can merge with the space before it, never after it).
 *
 * The pattern is OpenAI's, from openai/gpt-2 src/encoder.py:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with its three character classes spelled out, because a regex engine's idea of them is not fixed:
 *
 *   \s     encoder.py ran the pattern with Python's `regex` module, Hugging Face tokenizers runs it
 *          with Oniguruma, tiktoken with Rust's regex crate; all three take \s to be Unicode's
 *          White_Space property. JavaScript's \s is another set: it adds U+FEFF (the byte-order mark,
 *          a format character) and lacks U+0085 (NEXT LINE). Python's str.isspace() differs again
 *          (it adds U+001C..U+001F, which none of these engines count).
 *   \p{L}  follow the Unicode version an engine was built with. JavaScript's come from Node's ICU
 *   \p{N}  (Node 20.20: Unicode 17), the references' are older (tokenizers and tiktoken agree on
 *          every code point; 4,657 letters of Unicode 17 are not letters to them), so the tables in
 *          ./tokenizer-unicode.ts, generated from the references, stand in for them.
 */
import { type CodePointRanges, LETTER_RANGES, NUMBER_RANGES } from './tokenizer-unicode';

/** Unicode's White_Space property, as a character-class body: the `\s` of GPT-2's references. */
export const GPT2_WHITESPACE_CLASS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

/** `\p{L}` and `\p{N}` as GPT-2's references see them, as character-class bodies. */
export const GPT2_LETTER_CLASS = rangesToClassBody(LETTER_RANGES);
export const GPT2_NUMBER_CLASS = rangesToClassBody(NUMBER_RANGES);

const s = GPT2_WHITESPACE_CLASS;
const L = GPT2_LETTER_CLASS;
const N = GPT2_NUMBER_CLASS;

/** The pattern, alternative by alternative; at each position the first that matches wins. */
export const GPT2_PRETOKEN_ALTERNATIVES = [
  // English contractions, lower case only: "I'M" splits into "I", "'", "M".
  `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`,
  // A word ( ?\p{L}+), a number ( ?\p{N}+), or a run of other symbols, each with at most one leading space.
  ` ?[${L}]+`,
  ` ?[${N}]+`,
  ` ?[^${s}${L}${N}]+`,
  // Whitespace not followed by a non-space (\s+(?!\S)): it leaves the last space of a run to start the next word.
  `[${s}]+(?![^${s}])`,
  // Whatever whitespace is left (\s+): a run before a non-space, when its last space did not go to a word.
  `[${s}]+`,
] as const;

export const GPT2_PRETOKEN_PATTERN = new RegExp(GPT2_PRETOKEN_ALTERNATIVES.join('|'), 'gu');

/**
 * "Hello  world!" -> ["Hello", " ", " world", "!"]. Concatenating the pre-tokens gives the text back.
 *
 * The pattern above is the definition; this is a scanner that takes the same decisions one code point at
 * a time, in linear time and constant stack (the spec checks the two agree). A regex engine does not: on
 * megabytes of CJK or U+FFFD, V8's backtracking overflows its stack ("Maximum call stack size exceeded"),
 * and its large character classes cost microseconds a character.
 */
export function splitIntoPreTokens(text: string): string[] {
  const preTokens: string[] = [];
  for (let start = 0; start < text.length; ) {
    const end = preTokenEnd(text, start);
    preTokens.push(text.slice(start, end));
    start = end;
  }
  return preTokens;
}

/** The regex's pre-tokens, for the spec to compare the scanner with. */
export function splitWithPattern(text: string): string[] {
  // An exec loop, not text.matchAll(): matchAll copies the regex on every call.
  const pattern = GPT2_PRETOKEN_PATTERN;
  const preTokens: string[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) preTokens.push(match[0]);
  return preTokens;
}

const OTHER = 0;
const LETTER_CLASS = 1;
const NUMBER_CLASS = 2;
const SPACE_CLASS = 3;

let classTable: Uint8Array | undefined;

/** One byte per code point (1.1 MB, built once): which of the pattern's classes it is in. */
function classes(): Uint8Array {
  if (classTable) return classTable;
  const table = new Uint8Array(0x110000);
  for (const [first, last] of LETTER_RANGES) table.fill(LETTER_CLASS, first, last + 1);
  for (const [first, last] of NUMBER_RANGES) table.fill(NUMBER_CLASS, first, last + 1);
  for (const char of WHITESPACE_CHARS) table[char.codePointAt(0)!] = SPACE_CLASS;
  return (classTable = table);
}

const WHITESPACE_CHARS = [...'\t\n\v\f\r \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000'].concat(
  Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
);

/** The end of the pre-token that starts at `start`: the first alternative of the pattern that matches there. */
export function preTokenEnd(text: string, start: number): number {
  const table = classTable ?? classes();
  // 's 't 're 've 'm 'll 'd, by their char codes (a slice would make a string)
  if (text.charCodeAt(start) === 0x27) {
    const one = text.charCodeAt(start + 1);
    const two = text.charCodeAt(start + 2);
    if ((one === 0x72 || one === 0x76) && two === 0x65) return start + 3; // 're 've
    if (one === 0x6c && two === 0x6c) return start + 3; // 'll
    if (one === 0x73 || one === 0x74 || one === 0x6d || one === 0x64) return start + 2; // 's 't 'm 'd
  }
  // ' ?' then a letter, number or other run: the optional space is U+0020 only.
  const spaced = text.charCodeAt(start) === 0x20 && start + 1 < text.length && table[codePointAt(text, start + 1)] !== SPACE_CLASS;
  const body = spaced ? start + 1 : start;
  const kind = table[codePointAt(text, body)]!;
  if (kind !== SPACE_CLASS) return runEnd(text, body, kind, table);
  // Whitespace (every such code point is one UTF-16 unit): \s+(?!\S) takes the run, less its last character
  // when a non-space follows, if one is left; otherwise \s+ takes that one character.
  const end = runEnd(text, start, SPACE_CLASS, table);
  return end < text.length && end - 1 > start ? end - 1 : end;
}

/** The code point at i; a lone surrogate stands for itself, as it does in a /u regex. */
function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) return c;
  const d = text.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff ? ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000 : c;
}

/** Where the run of code points of one class that starts at i ends. */
function runEnd(text: string, i: number, kind: number, table: Uint8Array): number {
  const n = text.length;
  while (i < n) {
    const c = codePointAt(text, i);
    if (table[c] !== kind) return i;
    i += c > 0xffff ? 2 : 1;
  }
  return n;
}

export type CharacterClass = 'letter' | 'number' | 'whitespace' | 'other';

/** Which of the pattern's classes a code point is in; the spec checks it against the references. */
export function characterClassOf(char: string): CharacterClass {
  if (LETTER.test(char)) return 'letter';
  if (NUMBER.test(char)) return 'number';
  if (WHITESPACE.test(char)) return 'whitespace';
  return 'other';
}

const LETTER = new RegExp(`^[${L}]$`, 'u');
const NUMBER = new RegExp(`^[${N}]$`, 'u');
const WHITESPACE = new RegExp(`^[${s}]$`, 'u');

function rangesToClassBody(ranges: CodePointRanges): string {
  const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
  return ranges.map(([first, last]) => (first === last ? hex(first) : `${hex(first)}-${hex(last)}`)).join('');
}

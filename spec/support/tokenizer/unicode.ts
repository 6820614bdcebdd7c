/** Small helpers for talking about characters in test titles and in the classes' checks. */
import { loadUnicodeClasses, type UnicodeClasses } from './cases';

export type ClassName = keyof UnicodeClasses | 'other';

/** Whether cp is in one of the sorted, inclusive ranges. */
export function inRanges(ranges: readonly (readonly [number, number])[], cp: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [first, last] = ranges[mid] as readonly [number, number];
    if (cp < first) high = mid - 1;
    else if (cp > last) low = mid + 1;
    else return true;
  }
  return false;
}

/** The class the references' regex engines put a code point in. */
export function referenceClassOf(cp: number): ClassName {
  const classes = loadUnicodeClasses();
  if (inRanges(classes.letter, cp)) return 'letter';
  if (inRanges(classes.number, cp)) return 'number';
  if (inRanges(classes.whitespace, cp)) return 'whitespace';
  return 'other';
}

const JS_LETTER = /^\p{L}$/u;
const JS_NUMBER = /^\p{N}$/u;
const JS_WHITESPACE = /^\s$/u;

/** The class that JavaScript's own \p{L}, \p{N} and \s (this Node's ICU) put a code point in. */
export function javascriptClassOf(cp: number): ClassName {
  const c = String.fromCodePoint(cp);
  if (JS_LETTER.test(c)) return 'letter';
  if (JS_NUMBER.test(c)) return 'number';
  if (JS_WHITESPACE.test(c)) return 'whitespace';
  return 'other';
}

/** Every code point but the surrogates, which a well-formed string never holds alone. */
export function* allCodePoints(): Generator<number> {
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) yield cp;
}

export const codePointName = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** A string shown in a title or a message: escaped, and cut short if long. */
export function preview(text: string, max = 60): string {
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text).replace(/[\u0080-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > max ? `${shown}… (${text.length} UTF-16 units)` : shown;
}

/**
 * Long pre-tokens (a megabyte of one letter, of spaces, of CJK) in linear time. BPE on one pre-token
 * is O(n log n) and its work grows with n, so a long one is encoded window by window, exactly:
 *
 * - When every rule comes after the rules that make its two parts (true of GPT-2's merges, and checked),
 *   merging the best-ranked pair first is the same as applying the rules one by one in rank order, each
 *   left to right across the text.
 * - Such a left-to-right pass decides at each symbol from that symbol and its right-hand neighbour, so the
 *   end of a window can change the result at most one symbol further left per rule. Only rules whose token
 *   is made of bytes the text contains can act; with k of them and tokens of at most m bytes, tokens that
 *   end more than (k + 1)·m bytes before the window's end are those of the whole text.
 * - Where the whole text has a token boundary, no rule merged across it, so the text after it encodes on
 *   its own. The next window starts there.
 *
 * Windows of a run of one character are the same string, so the tokenizer's cache answers all but the first.
 */

/** The shortest pre-token (in UTF-16 units) encoded in windows. */
export const LONG_PRE_TOKEN = 8192;

export interface MergeRule {
  left: string;
  right: string;
  /** The bytes of the merged token (its byte stand-ins turned back). */
  bytes: Uint8Array;
}

/** What encoding in windows needs to know of the merge rules. */
export class WindowPlan {
  /** False when some rule comes before a rule that makes one of its parts: then windows would not be exact. */
  readonly exact: boolean;
  private readonly rules: readonly MergeRule[];

  constructor(rules: readonly MergeRule[]) {
    this.rules = rules;
    const lastMade = new Map<string, number>();
    rules.forEach(({ left, right }, rank) => lastMade.set(left + right, rank));
    this.exact = rules.every(({ left, right }, rank) => (lastMade.get(left) ?? -1) < rank && (lastMade.get(right) ?? -1) < rank);
  }

  /** (k + 1)·m bytes for this text: how far from a window's end its tokens may differ from the whole text's. */
  reach(text: string): number {
    const present = new Uint8Array(256);
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i++) present[bytes[i]!] = 1;
    let rules = 0;
    let longest = 1;
    for (const rule of this.rules) {
      if (!rule.bytes.every((b) => present[b] === 1)) continue;
      rules++;
      longest = Math.max(longest, rule.bytes.length);
    }
    return (rules + 1) * longest;
  }
}

/**
 * Encodes a long pre-token window by window, giving its ids a window at a time. `encodeWindow` is BPE
 * on one piece of text; `bytesOf` gives a token's length in bytes. The ids, one window after another,
 * are what BPE on the whole text gives.
 */
export function* encodeInWindows(text: string, reach: number, encodeWindow: (piece: string) => Int32Array, bytesOf: (id: number) => number): Generator<Int32Array> {
  let window = Math.max(LONG_PRE_TOKEN, 8 * reach);
  let start = 0;
  while (text.length - start > window) {
    let end = start + window;
    if (isHighSurrogate(text.charCodeAt(end - 1))) end--; // never cut a character in two
    const piece = text.slice(start, end);
    const ids = encodeWindow(piece);
    const cut = lastSafeBoundary(piece, ids, Buffer.byteLength(piece, 'utf8') - reach, bytesOf);
    if (cut === undefined) {
      window *= 2; // no token boundary on a character boundary in the safe part: look further
      continue;
    }
    yield ids.subarray(0, cut.tokens);
    start += cut.units;
  }
  yield encodeWindow(text.slice(start));
}

/** The last place, at most `limit` bytes in, where a token ends on a character boundary: how many tokens, how many UTF-16 units. */
function lastSafeBoundary(piece: string, ids: ArrayLike<number>, limit: number, bytesOf: (id: number) => number) {
  let found: { tokens: number; units: number } | undefined;
  let tokenEnd = 0;
  let charEnd = 0;
  let unit = 0;
  for (let t = 0; t < ids.length; t++) {
    tokenEnd += bytesOf(ids[t]!);
    if (tokenEnd > limit) break;
    while (charEnd < tokenEnd) {
      const cp = piece.codePointAt(unit)!;
      charEnd += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      unit += cp > 0xffff ? 2 : 1;
    }
    if (charEnd === tokenEnd && t + 1 > 0) found = { tokens: t + 1, units: unit };
  }
  return found;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

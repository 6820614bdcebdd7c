/**
 * Step 3 of GPT-2's tokenizer: merge by rank. BPE on one pre-token starts from one symbol per byte and
 * repeatedly merges the adjacent pair whose rule has the lowest rank (the leftmost, among equals), until
 * no adjacent pair has a rule. This is what encoder.py's bpe() computes.
 *
 * A symbol is named here by the id of its token in vocab.json, and a rule by the ids of its two tokens:
 * since vocab.json gives every token its own id, and every rule's two tokens and its result are tokens
 * (the tokenizer checks both), merging ids is merging the strings encoder.py merges, and the merged
 * symbols are the ids to output.
 */

import { TokenizerError } from '../errors';
import { writeByteSymbols } from './tokenizer-bytes';

/**
 * What rank() answers for a pair that no rule merges: a rank after every rule's (2²⁵ - 1, so that the scan
 * in mergeByRank can pack a rank and a position into one small integer).
 */
export const NO_RULE = 2 ** 25 - 1;

export interface MergeRuleIds {
  left: number;
  right: number;
  /** The id of the token left + right. */
  merged: number;
}

/**
 * The merge rules by pair of token ids: (left, right) -> rank, and each rank's merged token.
 *
 * It is a Map from the pair to the rank. It is written as an open-addressing hash table on typed arrays
 * because BPE spends most of its time asking for ranks: a Map needs a key, a string `${left} ${right}`
 * (an allocation and a hash of its characters per question) or a number left·V + right (past the small
 * integers V8 stores unboxed, for GPT-2's V = 50257).
 */
export class MergeRules {
  /** mergedId[rank]: the id of the token that the rule of that rank makes. */
  readonly mergedId: Int32Array;
  readonly size: number;
  /** Four numbers a slot, in one array so that a probe reads one cache line: left id + 1 (0: an empty slot), right id, rank, unused. */
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  /** Whether a token is the left, or the right, part of some rule: a pair whose left never starts a rule needs no lookup. */
  private readonly isLeft: Uint8Array;
  private readonly isRight: Uint8Array;
  /** The ranks of pairs of ids below 256 (GPT-2's byte tokens), by left · 256 + right: a pre-token's first pairs, looked up without hashing. */
  private readonly small = new Int32Array(256 * 256).fill(NO_RULE);
  /** The best rank of a rule with the token as its left part, and as its right part (NO_RULE: none). */
  readonly firstAsLeft: Int32Array;
  readonly firstAsRight: Int32Array;

  /** Rules best first; a repeated pair keeps its first (best) rank. */
  constructor(rules: readonly MergeRuleIds[]) {
    if (rules.length >= NO_RULE) throw new TokenizerError(`${rules.length} merge rules are more than the ${NO_RULE - 1} a rank can name`);
    let bits = 1;
    while (1 << bits < 2 * rules.length) bits++; // at most half full
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.slots = new Int32Array(4 << bits);
    this.mergedId = new Int32Array(rules.length);
    this.size = rules.length;
    let largest = 0;
    for (const { left, right } of rules) largest = Math.max(largest, left, right);
    this.isLeft = new Uint8Array(largest + 1);
    this.isRight = new Uint8Array(largest + 1);
    this.firstAsLeft = new Int32Array(largest + 1).fill(NO_RULE);
    this.firstAsRight = new Int32Array(largest + 1).fill(NO_RULE);
    rules.forEach(({ left, right, merged }, rank) => {
      this.mergedId[rank] = merged;
      this.firstAsLeft[left] = Math.min(this.firstAsLeft[left]!, rank);
      this.firstAsRight[right] = Math.min(this.firstAsRight[right]!, rank);
      this.isLeft[left] = 1;
      this.isRight[right] = 1;
      let slot = this.slotOf(left, right);
      for (; this.slots[4 * slot] !== 0; slot = (slot + 1) & this.mask) {
        if (this.slots[4 * slot] === left + 1 && this.slots[4 * slot + 1] === right) return; // a repeat
      }
      this.slots.set([left + 1, right, rank], 4 * slot);
      if ((left | right) < 256) this.small[(left << 8) | right] = rank;
    });
  }

  /** The rank of the rule that merges the tokens `left` and `right`, or NO_RULE. */
  rank(left: number, right: number): number {
    if ((left | right) < 256) return this.small[(left << 8) | right]!;
    if (this.isLeft[left] !== 1 || this.isRight[right] !== 1) return NO_RULE;
    const slots = this.slots;
    for (let slot = this.slotOf(left, right); ; slot = (slot + 1) & this.mask) {
      const l = slots[4 * slot]!;
      if (l === 0) return NO_RULE;
      if (l === left + 1 && slots[4 * slot + 1] === right) return slots[4 * slot + 2]!;
    }
  }

  /** A multiplicative hash of the pair, its top bits. */
  private slotOf(left: number, right: number): number {
    return Math.imul(Math.imul(left, 0x9e3779b1) + right, 0x85ebca6b) >>> this.shift;
  }
}

/**
 * The characters that enter BPE as one token, by UTF-16 unit: each ASCII character's byte token, and
 * the token of each character whose UTF-8 bytes merge into one token before any rule could join them to
 * a neighbour (U+FFFD's three bytes, with GPT-2's merges); -1 for the others, whose bytes enter one by one.
 * A pre-token of one such character is that one token.
 *
 * It holds only when merging the best pair first is applying the rules one at a time in rank order (as
 * for encoding in windows, ./tokenizer-long.ts; `inRankOrder` says whether it is). A character's bytes
 * then merge among themselves as they would alone, until a rule that joins one of its edge symbols to a
 * neighbour comes up: if every such rule ranks after the merge that makes the character one token, no
 * neighbour ever sees its bytes, and the merge can start from that token. Random bytes read as U+FFFD
 * in almost half their characters, and this saves them two merges each.
 */
export function charactersMergedFirst(symbolOfByte: Int32Array, rules: MergeRules, inRankOrder: boolean): Int32Array {
  const symbolOfUnit = new Int32Array(0x10000).fill(-1);
  symbolOfUnit.set(symbolOfByte.subarray(0, 0x80));
  if (!inRankOrder) return symbolOfUnit;
  const bytes = new Int32Array(3);
  for (let unit = 0x80; unit < 0x10000; unit++) {
    if (unit >= 0xd800 && unit <= 0xdfff) continue; // half a character
    symbolOfUnit[unit] = mergedAlone(bytes, writeByteSymbols(String.fromCharCode(unit), 0, 1, symbolOfByte, bytes), rules);
  }
  return symbolOfUnit;
}

/** BPE on a character's symbols alone: the one token they make before any rule could join an edge symbol to a neighbour, or -1. */
function mergedAlone(symbols: Int32Array, length: number, rules: MergeRules): number {
  let neighbourRank = NO_RULE; // the best rank of a rule that joins a symbol at an edge to whatever lies beyond
  let lastRank = -1; // the rank of the latest merge: in rank order, the best so far
  for (let n = length; n > 1; n--) {
    neighbourRank = Math.min(neighbourRank, rules.firstAsRight[symbols[0]!]!, rules.firstAsLeft[symbols[n - 1]!]!);
    let best = 0;
    for (let i = 1; i + 1 < n; i++) if (rules.rank(symbols[i]!, symbols[i + 1]!) < rules.rank(symbols[best]!, symbols[best + 1]!)) best = i;
    const bestRank = rules.rank(symbols[best]!, symbols[best + 1]!);
    if (bestRank === NO_RULE) return -1;
    lastRank = bestRank;
    symbols[best] = rules.mergedId[bestRank]!;
    symbols.copyWithin(best + 1, best + 2, n);
  }
  return lastRank < neighbourRank ? symbols[0]! : -1;
}

/**
 * BPE on one pre-token's symbols, in place: `symbols[0..length)` are the ids of its bytes' tokens; after
 * the call `symbols[0..returned length)` are the ids of the merged tokens.
 *
 * This is encoder.py's loop, with each adjacent pair's rank remembered between merges: find the pair of
 * lowest rank (the leftmost, among equals), merge it, and look up only the two pairs that changed. Each
 * merge scans all the pairs, which is quadratic in the pre-token's length, so a long one goes to
 * mergeLongByRank, which gives the same result in O(n log n) (tiktoken splits the work the same way).
 */
export function mergeByRank(symbols: Int32Array, length: number, rules: MergeRules): number {
  if (length > SHORT) return mergeLongByRank(symbols, length, rules);
  const ranks = pairRanks; // ranks[i]: the rank of the pair symbols[i], symbols[i + 1]
  for (let i = 0; i + 1 < length; i++) ranks[i] = rules.rank(symbols[i]!, symbols[i + 1]!);
  for (let n = length; n > 1; n--) {
    // rank · 64 + position, smallest first: the best pair, the leftmost among equals, with one comparison a pair.
    let key = 0x7fffffff;
    for (let i = 0; i + 1 < n; i++) key = Math.min(key, (ranks[i]! << 6) | i);
    const best = key & 63;
    const rank = key >> 6;
    if (rank === NO_RULE) return n;
    // symbols[best] and symbols[best + 1] become one; the rest move one place left.
    symbols[best] = rules.mergedId[rank]!;
    for (let i = best + 1; i + 1 < n; i++) {
      symbols[i] = symbols[i + 1]!;
      ranks[i] = ranks[i + 1]!;
    }
    if (best > 0) ranks[best - 1] = rules.rank(symbols[best - 1]!, symbols[best]!);
    if (best + 2 < n) ranks[best] = rules.rank(symbols[best]!, symbols[best + 1]!);
  }
  return 1;
}

/** The longest pre-token (in bytes) that mergeByRank merges by scanning. */
export const SHORT = 64;

const pairRanks = new Int32Array(SHORT);

/**
 * mergeByRank for a long pre-token: the symbols form a linked list and the candidate pairs wait in a
 * priority queue, so that each merge costs O(log n) instead of a scan.
 */
export function mergeLongByRank(symbols: Int32Array, length: number, rules: MergeRules): number {
  if (length < 2) return length;
  // symbols[i] is the token that starts at byte i, or DEAD once merged into the one before; next/prev link the living.
  const { next, prev, queue } = scratchFor(length);
  for (let i = 0; i < length; i++) {
    next[i] = i + 1 < length ? i + 1 : -1;
    prev[i] = i - 1;
  }
  for (let i = 0; i + 1 < length; i++) offer(i, symbols, next, rules, queue);

  while (queue.size > 0) {
    const rank = queue.topRank();
    const left = queue.pop();
    if (symbols[left] === DEAD) continue;
    const right = next[left]!;
    // A queued pair goes stale when either side has merged since; a rank names exactly one rule, so
    // a pair that still has this rank is still the pair that was queued.
    if (right < 0 || rules.rank(symbols[left]!, symbols[right]!) !== rank) continue;
    symbols[left] = rules.mergedId[rank]!;
    symbols[right] = DEAD;
    const after = next[right]!;
    next[left] = after;
    if (after >= 0) prev[after] = left;
    if (prev[left]! >= 0) offer(prev[left]!, symbols, next, rules, queue);
    offer(left, symbols, next, rules, queue);
  }

  let merged = 0;
  for (let i = 0; i >= 0; i = next[i]!) symbols[merged++] = symbols[i]!;
  return merged;
}

const DEAD = -1;

/** Queues the pair that starts at `left`, if a rule merges it. */
function offer(left: number, symbols: Int32Array, next: Int32Array, rules: MergeRules, queue: PairQueue): void {
  const right = next[left]!;
  if (right < 0) return;
  const rank = rules.rank(symbols[left]!, symbols[right]!);
  if (rank !== NO_RULE) queue.push(rank, left);
}

/**
 * A binary min-heap of (rank, position) pairs: lowest rank first, then leftmost position. Each pair is
 * one number, rank · 2³² + position, so that one comparison orders both; the heap is a Float64Array that
 * grows, and is reused from one pre-token to the next.
 */
class PairQueue {
  size = 0;
  private keys = new Float64Array(64);

  clear(): void {
    this.size = 0;
  }

  push(rank: number, position: number): void {
    if (this.size === this.keys.length) {
      const grown = new Float64Array(2 * this.keys.length);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    const key = rank * POSITIONS + position;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      i = parent;
    }
    keys[i] = key;
  }

  topRank(): number {
    return Math.floor(this.keys[0]! / POSITIONS);
  }

  /** Removes the top pair and returns its position. */
  pop(): number {
    const keys = this.keys;
    const top = keys[0]!;
    const last = keys[--this.size]!;
    const n = this.size;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= last) break;
      keys[i] = keys[child]!;
      i = child;
    }
    keys[i] = last;
    return top % POSITIONS;
  }
}

const POSITIONS = 2 ** 32;

/**
 * The linked list and the queue, kept from one call to the next: most pre-tokens are a few bytes long,
 * and allocating three arrays for each would cost more than merging it.
 */
let scratch = { next: new Int32Array(64), prev: new Int32Array(64), queue: new PairQueue() };

function scratchFor(length: number): typeof scratch {
  if (scratch.next.length < length) {
    let size = scratch.next.length;
    while (size < length) size *= 2;
    scratch = { next: new Int32Array(size), prev: new Int32Array(size), queue: scratch.queue };
  }
  scratch.queue.clear();
  return scratch;
}

/**
 * Pre-token -> ids, remembered. Prose repeats its words, so most of its pre-tokens are found here and
 * merged only once (English runs about twice as fast with it).
 *
 * A lookup costs a string key (a copy of the pre-token and a hash of it), which is more than merging a
 * short pre-token that is not found. Text that does not repeat itself, such as random bytes, would only
 * pay for the lookups, so when fewer than half of a stretch of lookups hit, the cache stands aside for
 * eight times as long, and twice as long again after each such stretch that follows (up to 64 times),
 * until a stretch hits. It never changes a result: what it holds is what merging gives.
 */

/** How many pre-tokens' ids are remembered; when full, it starts again empty. */
const LIMIT = 100_000;
/** Lookups counted before deciding whether to stand aside ... */
export const STRETCH = 1 << 14;
/** ... and how many pre-tokens are merged without it when it does, at first ... */
export const REST = 8 * STRETCH;
/** ... and at most, after stretch upon stretch of misses. */
export const LONGEST_REST = 64 * STRETCH;

export class PreTokenCache {
  private readonly ids = new Map<string, Int32Array>();
  private lookups = 0;
  private hits = 0;
  private resting = 0;
  /** How long the next rest is. */
  private rest = REST;

  /** Whether to look the next pre-token up; false while the cache stands aside. */
  inUse(): boolean {
    if (this.resting === 0) return true;
    this.resting--;
    return false;
  }

  get(preToken: string): Int32Array | undefined {
    const found = this.ids.get(preToken);
    if (found !== undefined) this.hits++;
    if (++this.lookups === STRETCH) {
      if (2 * this.hits < STRETCH) {
        this.resting = this.rest;
        this.rest = Math.min(2 * this.rest, LONGEST_REST);
      } else this.rest = REST;
      this.lookups = this.hits = 0;
    }
    return found;
  }

  set(preToken: string, ids: Int32Array): void {
    if (this.ids.size >= LIMIT) this.ids.clear();
    this.ids.set(preToken, ids);
  }
}

/**
 * The ids of short pre-tokens, remembered in typed arrays. Random bytes are mostly pieces of a few
 * characters that repeat endlessly ("\uFFFD\uFFFD", "a\uFFFD", " 7"), and prose mostly words of a few
 * letters: too short for a Map's string key to pay, often enough seen to be worth remembering. (A
 * pre-token of one character that enters the merge as one token needs no cache: the tokenizer looks
 * its token up by its unit.)
 *
 * A pre-token's slot is a hash of its UTF-16 units, found without making a string; each slot holds one
 * pre-token, and a new one takes the slot from whatever held it, so the cache never fills and a miss
 * costs one comparison. It never changes a result: what it holds is what merging gives.
 */
export class ShortPreTokenCache {
  /** The longest pre-token remembered, in UTF-16 units ... */
  static readonly UNITS = 4;
  /** ... and the most ids it may merge to (a longer merge is not remembered). */
  static readonly IDS = 4;
  /**
   * SLOT numbers a slot, 32 bytes, so that a lookup reads one cache line: its pre-token's length in
   * units (0: an empty slot) and its count of ids, its units two to a number, then its ids from ID_AT on.
   */
  readonly slots = new Int32Array(SLOT * SLOTS);

  /** The slot of text[start, end), at most UNITS long: itself if the slot holds its ids, otherwise -1 - slot. */
  find(text: string, start: number, end: number): number {
    const length = end - start;
    let hash = length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    const slot = Math.imul(hash, 0x9e3779b1) >>> (32 - SLOT_BITS);
    const slots = this.slots;
    const at = SLOT * slot;
    if ((slots[at]! & 0xff) !== length) return -1 - slot;
    for (let i = 0; i < length; i += 2) {
      if (slots[at + 1 + (i >> 1)] !== unitPair(text, start + i, end)) return -1 - slot;
    }
    return slot;
  }

  /** How many ids the slot holds: they are slots[idsAt(slot) ...]. */
  count(slot: number): number {
    return this.slots[SLOT * slot]! >> 8;
  }

  idsAt(slot: number): number {
    return SLOT * slot + ID_AT;
  }

  /** Puts text[start, end) and its `count` ids into the slot find gave for it, if they fit. */
  set(slot: number, text: string, start: number, end: number, ids: ArrayLike<number>, count: number): void {
    if (count > ShortPreTokenCache.IDS) return;
    const at = SLOT * slot;
    this.slots[at] = (end - start) | (count << 8);
    for (let i = 0; i < end - start; i += 2) this.slots[at + 1 + (i >> 1)] = unitPair(text, start + i, end);
    for (let i = 0; i < count; i++) this.slots[at + ID_AT + i] = ids[i]!;
  }
}

/** The units text[i] and text[i + 1] (0 past `end`) as one number. */
function unitPair(text: string, i: number, end: number): number {
  return text.charCodeAt(i) | (i + 1 < end ? text.charCodeAt(i + 1) << 16 : 0);
}

const SLOT_BITS = 14;
const SLOTS = 1 << SLOT_BITS;
/** A slot: one number for length and count, UNITS / 2 for the units, IDS for the ids, and room to make it 32 bytes. */
const SLOT = 8;
const ID_AT = 1 + ShortPreTokenCache.UNITS / 2;

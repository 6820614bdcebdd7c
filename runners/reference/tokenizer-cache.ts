/**
 * Pre-token -> ids, remembered. Prose repeats its words, so most of its pre-tokens are found here and
 * merged only once (English runs about twice as fast with it).
 *
 * A lookup costs a string key (a copy of the pre-token and a hash of it), which is more than merging a
 * short pre-token that is not found. Text that does not repeat itself, such as random bytes, would only
 * pay for the lookups, so when fewer than half of a stretch of lookups hit, the cache stands aside for
 * eight times as long. It never changes a result: what it holds is what merging gives.
 */

/** How many pre-tokens' ids are remembered; when full, it starts again empty. */
const LIMIT = 100_000;
/** Lookups counted before deciding whether to stand aside ... */
export const STRETCH = 1 << 14;
/** ... and how many pre-tokens are merged without it when it does. */
export const REST = 8 * STRETCH;

export class PreTokenCache {
  private readonly ids = new Map<string, Int32Array>();
  private lookups = 0;
  private hits = 0;
  private resting = 0;

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
      if (2 * this.hits < STRETCH) this.resting = REST;
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
 * The ids of short pre-tokens, remembered in typed arrays. Random bytes are mostly pieces of one to a
 * few characters that repeat endlessly ("\uFFFD", "\uFFFD\uFFFD", "\t", "7"), and prose mostly words of
 * a few letters: too short for a Map's string key to pay, often enough seen to be worth remembering.
 *
 * A pre-token's slot is a hash of its UTF-16 units, found without making a string; each slot holds one
 * pre-token, and a new one takes the slot from whatever held it, so the cache never fills and a miss
 * costs one comparison. It never changes a result: what it holds is what merging gives.
 */
export class ShortPreTokenCache {
  /** The longest pre-token remembered, in UTF-16 units ... */
  static readonly UNITS = 8;
  /** ... and the most ids it may merge to (a longer merge is not remembered). */
  static readonly IDS = 8;
  /** ids[IDS · slot ...]: the ids of the pre-token in that slot. */
  readonly ids = new Int32Array(SLOTS * ShortPreTokenCache.IDS);
  /** units[UNITS · slot ...]: the pre-token in that slot, lengths[slot] units of it (0: empty), merged to counts[slot] ids. */
  private readonly units = new Uint16Array(SLOTS * ShortPreTokenCache.UNITS);
  private readonly lengths = new Uint8Array(SLOTS);
  private readonly counts = new Uint8Array(SLOTS);

  /** The slot of text[start, end), at most UNITS long: itself if the slot holds its ids, otherwise -1 - slot. */
  find(text: string, start: number, end: number): number {
    const length = end - start;
    let hash = length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    const slot = Math.imul(hash, 0x9e3779b1) >>> (32 - SLOT_BITS);
    if (this.lengths[slot] !== length) return -1 - slot;
    const units = this.units;
    for (let i = 0, at = ShortPreTokenCache.UNITS * slot; i < length; i++, at++) {
      if (units[at] !== text.charCodeAt(start + i)) return -1 - slot;
    }
    return slot;
  }

  /** How many ids the slot holds. */
  count(slot: number): number {
    return this.counts[slot]!;
  }

  /** Puts text[start, end) and its `count` ids into the slot find gave for it, if they fit. */
  set(slot: number, text: string, start: number, end: number, ids: ArrayLike<number>, count: number): void {
    if (count > ShortPreTokenCache.IDS) return;
    for (let i = 0, at = ShortPreTokenCache.UNITS * slot; i < end - start; i++) this.units[at + i] = text.charCodeAt(start + i);
    for (let i = 0, at = ShortPreTokenCache.IDS * slot; i < count; i++) this.ids[at + i] = ids[i]!;
    this.lengths[slot] = end - start;
    this.counts[slot] = count;
  }
}

const SLOT_BITS = 16;
const SLOTS = 1 << SLOT_BITS;

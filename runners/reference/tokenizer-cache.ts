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

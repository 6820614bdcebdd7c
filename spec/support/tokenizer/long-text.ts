/** Long, seeded inputs for the tokenizer's checks on text of any shape and size. */
import { seededRandom } from '../../../runners/weights/seeded';

/** n seeded random bytes: read with U+FFFD for invalid UTF-8, they are the hardest text for BPE (short pre-tokens, rarely repeated). */
export function seededBytes(n: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
}

/** n seeded lower-case letters: one pre-token whose windows see many different rules. */
export function seededLetters(n: number, seed: number): string {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => String.fromCharCode(0x61 + Math.floor(random() * 26))).join('');
}

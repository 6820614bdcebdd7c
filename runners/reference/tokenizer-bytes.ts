/**
 * Step 2 of GPT-2's tokenizer: text -> UTF-8 bytes -> one printable character per byte.
 *
 * BPE works on bytes, so any text can be encoded with no unknown token. But OpenAI's vocab.json and
 * merges.txt are text files, and raw bytes such as 0x20 (space) or 0x0A (newline) would be awkward
 * there, so every byte is first given a visible stand-in: the printable Latin-1 bytes stand for
 * themselves, and the other 68 (controls, space, 0x7F..0xA0, 0xAD) are moved up to U+0100 and above,
 * in byte order. That is why a leading space shows up as "Ġ" (U+0120) in the vocabulary, and a
 * newline as "Ċ" (U+010A).
 */

/** OpenAI's bytes_to_unicode(): byteToChar[b] is the character that stands for byte b. */
export function bytesToUnicode(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const byteToChar: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    byteToChar[b] = String.fromCodePoint(printable(b) ? b : next++);
  }
  return byteToChar;
}

export const BYTE_TO_CHAR: readonly string[] = bytesToUnicode();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

const utf8Encoder = new TextEncoder();

/**
 * A JavaScript string may hold a lone surrogate, which has no UTF-8 form. TextEncoder writes U+FFFD
 * (EF BF BD) for one, and so does tiktoken; Python's str.encode('utf-8') in encoder.py would raise.
 * GPT-2's golden for such text is the golden of the same text with each lone surrogate replaced by
 * U+FFFD, and this is where that happens, before pre-tokenization, so that the pre-tokens are those
 * of the replaced text.
 */
export function toWellFormed(text: string): string {
  // String.prototype.isWellFormed (Node 20) checks 100 MB in milliseconds, where the regex alone takes a fifth of a second.
  if ((text as { isWellFormed?: () => boolean }).isWellFormed?.() === true) return text;
  // With the u flag, a surrogate pair is one code point outside this range, so only lone ones match.
  return text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
}

/** "hi there" -> "hiĠthere": each UTF-8 byte of the text as its stand-in character. */
export function textToByteChars(text: string): string {
  let out = '';
  for (const byte of utf8Encoder.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}

/** The other way: stand-in characters -> bytes, or undefined if a character stands for no byte. */
export function byteCharsToBytes(chars: string, into: number[]): boolean {
  for (const char of chars) {
    const byte = CHAR_TO_BYTE.get(char);
    if (byte === undefined) return false;
    into.push(byte);
  }
  return true;
}

/**
 * Step 2 as the merge takes it: the UTF-8 bytes of text[start, end), each as the id of its stand-in's
 * token (`symbolOfByte[byte]`), written into `into` from index 0; returns how many. It encodes UTF-8 itself
 * rather than call textToByteChars, which makes a string per pre-token. A lone surrogate is U+FFFD, as
 * TextEncoder writes it. `into` needs room for three symbols per UTF-16 unit.
 *
 * `mergedFirst`, when given, names by UTF-16 unit the characters that enter the merge as one token
 * (./tokenizer-merge.ts, charactersMergedFirst): each is written as that token.
 */
export function writeByteSymbols(text: string, start: number, end: number, symbolOfByte: Int32Array, into: Int32Array, mergedFirst?: Int32Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let cp = text.charCodeAt(i);
    const merged = mergedFirst === undefined ? -1 : mergedFirst[cp]!;
    if (merged >= 0) {
      into[n++] = merged;
      continue;
    }
    if (cp < 0x80) {
      into[n++] = symbolOfByte[cp]!;
      continue;
    }
    if (cp < 0x800) {
      into[n++] = symbolOfByte[0xc0 | (cp >> 6)]!;
      into[n++] = symbolOfByte[0x80 | (cp & 0x3f)]!;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        i++;
        into[n++] = symbolOfByte[0xf0 | (cp >> 18)]!;
        into[n++] = symbolOfByte[0x80 | ((cp >> 12) & 0x3f)]!;
        into[n++] = symbolOfByte[0x80 | ((cp >> 6) & 0x3f)]!;
        into[n++] = symbolOfByte[0x80 | (cp & 0x3f)]!;
        continue;
      }
      cp = 0xfffd;
    }
    into[n++] = symbolOfByte[0xe0 | (cp >> 12)]!;
    into[n++] = symbolOfByte[0x80 | ((cp >> 6) & 0x3f)]!;
    into[n++] = symbolOfByte[0x80 | (cp & 0x3f)]!;
  }
  return n;
}

/**
 * What `tokenize` reads and writes, at any size: standard input's bytes as text, and the ids as a JSON
 * array written a chunk at a time (the JSON of 100 million ids is longer than the longest string V8 makes).
 */
import { isUtf8 } from 'node:buffer';

/**
 * UTF-8 bytes as text, or undefined when they are not valid UTF-8 and `replaceInvalid` is false. A BOM
 * stays, as the character U+FEFF. With `replaceInvalid`, each maximal invalid sequence is one U+FFFD, as
 * TextDecoder (the WHATWG decoder) gives it.
 */
export function utf8ToText(bytes: Uint8Array, replaceInvalid: boolean): string | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  return replaceInvalid ? decodeReplacing(buffer) : undefined;
}

/**
 * The WHATWG UTF-8 decoder, step by step, into UTF-16 units. TextDecoder gives the same text, but takes
 * a slow path at every invalid byte: about 2.5 s on 100 MB of random bytes, where this takes a fifth of it.
 */
function decodeReplacing(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length); // every byte gives at most one unit (four give two)
  let n = 0;
  let needed = 0; // continuation bytes still to come
  let seen = 0;
  let codePoint = 0;
  let lower = 0x80; // the range the next continuation byte must be in
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (needed === 0) {
      if (byte < 0x80) units[n++] = byte;
      else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        codePoint = byte & 0x1f;
      }
      else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) lower = 0xa0; // no overlong forms
        if (byte === 0xed) upper = 0x9f; // no surrogates
        needed = 2;
        codePoint = byte & 0x0f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f; // nothing past U+10FFFF
        needed = 3;
        codePoint = byte & 0x07;
      } else units[n++] = 0xfffd;
      continue;
    }
    if (byte < lower || byte > upper) {
      // The sequence so far is one U+FFFD, and this byte starts afresh.
      units[n++] = 0xfffd;
      needed = seen = codePoint = 0;
      lower = 0x80;
      upper = 0xbf;
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    codePoint = (codePoint << 6) | (byte & 0x3f);
    if (++seen < needed) continue;
    if (codePoint > 0xffff) {
      units[n++] = 0xd800 + ((codePoint - 0x10000) >> 10);
      units[n++] = 0xdc00 + ((codePoint - 0x10000) & 0x3ff);
    } else units[n++] = codePoint;
    needed = seen = codePoint = 0;
  }
  if (needed !== 0) units[n++] = 0xfffd; // cut short at the end
  return Buffer.from(units.buffer, 0, 2 * n).toString('utf16le');
}

/** How many bytes of JSON are written at once. */
const CHUNK = 1 << 20;
/** Room past CHUNK, for the id that crosses it: ",50256" is six bytes. */
const SLACK = 64;

/**
 * Writes `[id,id,...]` and a newline, byte for byte what `${JSON.stringify(ids)}\n` is for the ids of all
 * the chunks one after another, a megabyte at a time, waiting for the stream to take each one.
 */
export async function writeIdsJson(chunks: Iterable<ArrayLike<number>>, write: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void> {
  let chunk = Buffer.allocUnsafe(CHUNK + SLACK);
  let n = 0;
  const flush = async () => {
    if (n > 0) await write(chunk.subarray(0, n));
    chunk = Buffer.allocUnsafe(CHUNK + SLACK); // the stream may still hold the last one
    n = 0;
  };
  chunk[n++] = 0x5b; // [
  let first = true;
  for (const ids of chunks) for (let i = 0; i < ids.length; i++) {
    if (!first) chunk[n++] = 0x2c; // ,
    first = false;
    const id = ids[i];
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < 1e15) n = writeDigits(id, chunk, n); // JSON's own spelling of such a number
    else {
      // Not an id: written as JSON.stringify writes an array's element, however long.
      const json = Buffer.from(JSON.stringify(id) ?? 'null', 'utf8');
      if (n + json.length > CHUNK) await flush();
      if (json.length > CHUNK) await write(json);
      else n += json.copy(chunk, n);
    }
    if (n > CHUNK) await flush();
  }
  chunk[n++] = 0x5d; // ]
  chunk[n++] = 0x0a;
  await flush();
}

function writeDigits(value: number, into: Buffer, at: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1, rest = value; i >= at; i--, rest = Math.floor(rest / 10)) into[i] = 0x30 + (rest % 10);
  return at + digits;
}

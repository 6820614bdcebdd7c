/**
 * What `tokenize` reads and writes, at any size: standard input's bytes as text, and the ids as a JSON
 * array written a chunk at a time (the JSON of 100 million ids is longer than the longest string V8 makes).
 */
import { isUtf8 } from 'node:buffer';

/**
 * UTF-8 bytes as text, or undefined when they are not valid UTF-8 and `replaceInvalid` is false. A BOM
 * stays, as the character U+FEFF. With `replaceInvalid`, each maximal invalid sequence is one U+FFFD
 * (TextDecoder's replacement). isUtf8 checks 100 MB in a few milliseconds, and valid text then decodes
 * at memory speed; TextDecoder is slower, at about 15 ns a byte on random bytes.
 */
export function utf8ToText(bytes: Uint8Array, replaceInvalid: boolean): string | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  return replaceInvalid ? new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(buffer) : undefined;
}

/** How many bytes of JSON are written at once. */
const CHUNK = 1 << 20;
/** Room past CHUNK, for the id that crosses it: ",50256" is six bytes. */
const SLACK = 64;

/**
 * Writes `[id,id,...]` and a newline, byte for byte what `${JSON.stringify(ids)}\n` is for the ids of all
 * the chunks one after another, a megabyte at a time, waiting for the stream to take each one. Every
 * element is written after a comma, and the first comma becomes the `[`.
 */
export async function writeIdsJson(chunks: Iterable<ArrayLike<number>> | AsyncIterable<ArrayLike<number>>, write: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void> {
  const out = new JsonOut();
  const flush = async () => {
    if (out.n === 0) return;
    if (!out.opened) out.buffer[0] = 0x5b; // [
    out.opened = true;
    await write(out.buffer.subarray(0, out.n));
    out.renew(); // the stream may still hold the last buffer
  };
  for await (const ids of chunks) {
    for (let i = writeIds(ids, 0, out); i < ids.length; i = writeIds(ids, i, out)) {
      if (out.n > CHUNK) {
        await flush();
        continue;
      }
      // Not an id: written as JSON.stringify writes an array's element, however long.
      const json = Buffer.from(JSON.stringify(ids[i]) ?? 'null', 'utf8');
      if (out.n + 1 + json.length > CHUNK) await flush();
      out.buffer[out.n++] = 0x2c; // ,
      if (json.length > CHUNK) {
        await flush();
        await write(json);
      } else out.n += json.copy(out.buffer, out.n);
      i++;
    }
  }
  if (!out.opened && out.n === 0) out.buffer[out.n++] = 0x5b; // no element: [
  out.buffer[out.n++] = 0x5d; // ]
  out.buffer[out.n++] = 0x0a;
  await flush();
}

/** The buffer being filled, and a view of it for writing four bytes at once. */
class JsonOut {
  buffer = Buffer.allocUnsafe(CHUNK + SLACK);
  view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  /** How many bytes of `buffer` are written. */
  n = 0;
  /** Whether the `[` has been handed on. */
  opened = false;

  renew(): void {
    this.buffer = Buffer.allocUnsafe(CHUNK + SLACK);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    this.n = 0;
  }
}

/**
 * The most ids writeIds writes in one call. Short calls return before V8 compiles writeIds in the middle
 * of its loop, which, compiled before its end had ever run, gave up its compiled code at every return.
 */
const BATCH = 1024;

/** Ids below this are spelled from a table. */
const TABLED = 1 << 16;
let commaIds: { words: Uint32Array; lengths: Uint8Array } | undefined;

/** ",0" to ",65535" in ASCII, padded to eight bytes each and read as two little-endian words, and their lengths. */
function commaIdTable(): { words: Uint32Array; lengths: Uint8Array } {
  if (commaIds) return commaIds;
  const bytes = Buffer.alloc(8 * TABLED);
  const lengths = new Uint8Array(TABLED);
  for (let id = 0; id < TABLED; id++) lengths[id] = bytes.write(`,${id}`, 8 * id, 'latin1');
  const words = new Uint32Array(2 * TABLED);
  for (let i = 0; i < words.length; i++) words[i] = bytes.readUInt32LE(4 * i);
  return (commaIds = { words, lengths });
}

/**
 * Writes ids[from...] into `out`, each as a comma and its digits, until one is not a number JSON spells
 * as its digits, the buffer is past CHUNK or BATCH are written: returns the index of the first one not
 * written. An id below TABLED is two four-byte stores from the table (the bytes past its length are
 * overwritten by what follows), with no branch on how many digits it has, which random ids would mispredict.
 */
function writeIds(ids: ArrayLike<number>, from: number, out: JsonOut): number {
  const { words, lengths } = commaIdTable();
  const { buffer, view } = out;
  let n = out.n;
  let i = from;
  for (const stop = Math.min(ids.length, from + BATCH); i < stop && n <= CHUNK; i++) {
    const id = ids[i];
    if (typeof id !== 'number') break;
    if (id >>> 0 === id && id < TABLED) {
      view.setUint32(n, words[2 * id]!, true);
      view.setUint32(n + 4, words[2 * id + 1]!, true);
      n += lengths[id]!;
    } else if (Number.isInteger(id) && id >= 0 && id < 1e15) {
      buffer[n++] = 0x2c; // ,
      n = writeDigits(id, buffer, n); // JSON's own spelling of such a number
    } else break;
  }
  out.n = n;
  return i;
}

function writeDigits(value: number, into: Buffer, at: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1, rest = value; i >= at; i--, rest = Math.floor(rest / 10)) into[i] = 0x30 + (rest % 10);
  return at + digits;
}

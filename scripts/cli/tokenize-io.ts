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

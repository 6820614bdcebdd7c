/**
 * The safetensors reader and writer that load every checkpoint and golden case. A file is
 * [u64 header length][JSON header][data]; the reader must decode what Python's safetensors writes,
 * and refuse a malformed file with a SafetensorsFormatError that says what is wrong.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFormatError } from '../runners/errors';
import { float32, float64, int32 } from '../runners/tensor';
import { openSafetensors, readSafetensors, writeSafetensors } from '../runners/weights/safetensors';
import { mkfifoSync } from './support/fifo';
import { fixturesDir } from './support/fixtures';
import { tempDir } from './support/temp';

const dir = join(fixturesDir(), 'safetensors');
const pythonFile = () => readSafetensors(readFileSync(join(dir, 'dtypes.safetensors')), 'dtypes.safetensors');
const pythonValues = () => JSON.parse(readFileSync(join(dir, 'dtypes.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;

/** A file with the given header object and data bytes. */
function craft(header: unknown, data = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors: the format every checkpoint and golden case is stored in', () => {
  describe('reads what Python\'s safetensors writes', () => {
    for (const name of ['f64', 'f32', 'f16', 'bf16', 'i32', 'i64', 'scalar', 'empty']) {
      it(`decodes the ${name} tensor to the values Python wrote`, () => {
        const t = pythonFile().get(name);
        const want = pythonValues()[name]!;
        expect(t.shape).toEqual(want.shape);
        expect(Array.from(t.data)).toEqual(want.values);
      });
    }
    it('keeps the header\'s metadata', () => {
      expect(pythonFile().metadata).toEqual({ written_by: 'python safetensors' });
    });
  });

  it('reads back exactly what it writes, in every dtype it writes', () => {
    const tensors = { a: float64([2, 2], [1.5, -2, 1e-300, Math.PI]), b: float32([3], [0.1, 0.2, 0.3]), c: int32([1, 2], [-5, 2 ** 30]) };
    const back = readSafetensors(writeSafetensors(tensors, { k: 'v' }));
    expect(back.names().sort()).toEqual(['a', 'b', 'c']);
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.get(name)).toEqual({ dtype: t.dtype, shape: t.shape, data: t.data });
    }
    expect(back.metadata).toEqual({ k: 'v' });
  });

  describe('refuses a malformed file with a SafetensorsFormatError naming the problem', () => {
    const good = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const bad: [string, Uint8Array, RegExp][] = [
      ['a file shorter than its length prefix', new Uint8Array(5), /too short/],
      ['a header length beyond the file', craft(good, new Uint8Array(8), 1n << 40n), /header length/],
      ['a header that is not JSON', craft('{not json', new Uint8Array(0)), /not valid UTF-8 JSON/],
      ['a header that is a JSON array', craft([1, 2]), /not a JSON object/],
      ['an unknown dtype', craft({ t: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /unsupported dtype "Q7"/],
      ['a negative dimension', craft({ t: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)), /shape must be/],
      ['offsets that disagree with the shape', craft({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes/],
      ['offsets past the end of the data', craft(good, new Uint8Array(4)), /cover 8 bytes but the data buffer holds 4/],
      ['overlapping tensors', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlap or leave a gap/],
      ['metadata that is not a string map', craft({ __metadata__: { n: 1 } }), /__metadata__/],
      ['metadata that is an array', craft({ __metadata__: ['a'] }), /__metadata__ must be an object/],
      ['a byte-order mark before the header', craft(`\uFEFF${JSON.stringify(good)}`, new Uint8Array(8)), /byte-order mark/],
      ['an empty header', craft(''), /header is empty/],
      ['an entry with a field the format does not have', craft({ t: { ...good.t, align: 4 } }, new Uint8Array(8)), /unknown field "align"/],
      ['offsets that run backwards', craft({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)), /begin ≤ end/],
      ['a shape whose size is past 2⁵³ bytes', craft({ t: { dtype: 'F32', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs/],
    ];
    for (const [what, bytes, message] of bad) {
      it(`refuses ${what}`, () => {
        expect(() => readSafetensors(bytes)).toThrow(SafetensorsFormatError);
        expect(() => readSafetensors(bytes)).toThrow(message);
      });
    }
    it('checks the header length against the file before allocating anything for it', () => {
      const bytes = craft(good, new Uint8Array(8), (1n << 64n) - 1n);
      expect(() => readSafetensors(bytes)).toThrow(/header length 18446744073709551615 does not fit in the file \(\d+ bytes\)/);
    });
    it('refuses an I64 value that does not fit in int32, when it is read', () => {
      const data = new Uint8Array(new BigInt64Array([1n << 40n]).buffer);
      const file = readSafetensors(craft({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data));
      expect(() => file.get('t')).toThrow(/does not fit in int32/);
    });
  });

  describe('reads a file on disk tensor by tensor, never as one buffer', () => {
    it('gives the same tensors as reading the whole file into memory', () => {
      const path = join(dir, 'dtypes.safetensors');
      const onDisk = openSafetensors(path);
      expect(onDisk.names().sort()).toEqual(pythonFile().names().sort());
      for (const name of onDisk.names()) expect(onDisk.get(name)).toEqual(pythonFile().get(name));
      expect(onDisk.metadata).toEqual(pythonFile().metadata);
    });
    it('refuses a FIFO at once instead of waiting for a writer', () => {
      const fifo = join(tempDir('gpt2-spec-fifo-'), 'model.safetensors');
      mkfifoSync(fifo);
      expect(() => openSafetensors(fifo)).toThrow(/is not a regular file/);
    });
    it('refuses a device such as /dev/zero, which would never end', () => {
      const link = join(tempDir('gpt2-spec-dev-'), 'model.safetensors');
      symlinkSync('/dev/zero', link);
      expect(() => openSafetensors(link)).toThrow(/is not a regular file/);
    });
    it('refuses a file whose size changed after its header was read', () => {
      const path = join(tempDir('gpt2-spec-grow-'), 'model.safetensors');
      writeFileSync(path, writeSafetensors({ t: float32([2], [1, 2]) }));
      const file = openSafetensors(path);
      writeFileSync(path, writeSafetensors({ t: float32([3], [1, 2, 3]) }));
      expect(() => file.get('t')).toThrow(/changed size since it was opened/);
    });
  });
});

/**
 * A reader and writer for the safetensors format (https://huggingface.co/docs/safetensors):
 *   [u64 little-endian N][N bytes of JSON header][data buffer]
 * The header maps each name to { dtype, shape, data_offsets: [begin, end] } relative to the buffer,
 * plus an optional "__metadata__" string map. Everything is validated before a byte is read:
 * the header length, the JSON, each dtype and shape, and that the offsets tile the buffer exactly.
 */
import type { Tensor } from '../contract';
import { SafetensorsFormatError } from '../errors';
import { formatShape, shapeSize, tensor } from '../tensor';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
/** Headers beyond this are refused rather than parsed: real ones are a few hundred kB at most. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  names(): string[];
  info(name: string): TensorInfo;
  /** Decodes one tensor: F64 -> float64, F32/F16/BF16 -> float32, I32/I64 -> int32 (I64 must fit). */
  get(name: string): Tensor;
}

export function readSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new SafetensorsFormatError(`${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`too short to be safetensors (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`header length ${headerLength} does not fit in the file (${bytes.length} bytes)`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const data = bytes.subarray(8 + n);
  const entries = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Object.values(raw).some((v) => typeof v !== 'string')) {
        fail('__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.set(name, parseEntry(name, raw, fail));
  }

  // The offsets must tile the buffer: sorted by begin, each starts where the last ended, the last ends at the buffer's end.
  let cursor = 0;
  for (const [name, e] of [...entries].sort((a, b) => a[1].begin - b[1].begin)) {
    if (e.begin !== cursor) fail(`tensor '${name}' starts at byte ${e.begin}, expected ${cursor} (offsets overlap or leave a gap)`);
    cursor = e.end;
  }
  if (cursor !== data.length) fail(`tensors cover ${cursor} bytes but the data buffer holds ${data.length}`);

  return {
    metadata,
    names: () => [...entries.keys()],
    info(name) {
      const e = entries.get(name);
      if (!e) throw new SafetensorsFormatError(`${source}: no tensor named '${name}'`);
      return e;
    },
    get(name) {
      const e = this.info(name);
      return decode(e, data.subarray(e.begin, e.end), `${source}: '${name}'`);
    },
  };
}

function parseEntry(name: string, raw: unknown, fail: (why: string) => never): TensorInfo {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof r !== 'object' || r === null) fail(`tensor '${name}': entry is not an object`);
  if (typeof r.dtype !== 'string' || !(r.dtype in BYTES)) {
    fail(`tensor '${name}': unsupported dtype ${JSON.stringify(r.dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
  }
  const dtype = r.dtype as SafetensorsDType;
  if (!Array.isArray(r.shape) || !r.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name}': shape must be an array of whole numbers ≥ 0, got ${JSON.stringify(r.shape)}`);
  }
  const shape = r.shape as number[];
  const offsets = r.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor '${name}': data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shapeSize(shape) * BYTES[dtype];
  if (end - begin !== expected) {
    fail(`tensor '${name}': ${dtype} ${formatShape(shape)} needs ${expected} bytes, data_offsets give ${end - begin}`);
  }
  return { dtype, shape, begin, end };
}

function decode(e: TensorInfo, raw: Uint8Array, what: string): Tensor {
  // Copy first: offsets need not be aligned to the element size, and typed arrays need them to be.
  // (new Uint8Array(view) copies; Buffer#slice would not.)
  const buffer = new Uint8Array(raw).buffer;
  switch (e.dtype) {
    case 'F64':
      return { dtype: 'float64', shape: e.shape, data: new Float64Array(buffer) };
    case 'F32':
      return { dtype: 'float32', shape: e.shape, data: new Float32Array(buffer) };
    case 'F16':
      return tensor('float32', e.shape, Array.from(new Uint16Array(buffer), halfToFloat));
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(Array.from(new Uint16Array(buffer), (h) => h << 16));
      return { dtype: 'float32', shape: e.shape, data: new Float32Array(bits.buffer) };
    }
    case 'I32':
      return { dtype: 'int32', shape: e.shape, data: new Int32Array(buffer) };
    case 'I64': {
      const wide = new BigInt64Array(buffer);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i]!;
        if (v > 2147483647n || v < -2147483648n) throw new SafetensorsFormatError(`${what}: I64 value ${v} does not fit in int32`);
        out[i] = Number(v);
      }
      return { dtype: 'int32', shape: e.shape, data: out };
    }
  }
}

/** IEEE 754 binary16 -> number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const WRITE_DTYPE = { float64: 'F64', float32: 'F32', int32: 'I32' } as const;

/** Writes tensors (float64 -> F64, float32 -> F32, int32 -> I32) in name order, with the header padded to 8 bytes. */
export function writeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const size = t.data.byteLength;
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * A reader and writer for the safetensors format (https://huggingface.co/docs/safetensors):
 *   [u64 little-endian N][N bytes of JSON header][data buffer]
 * The header maps each name to { dtype, shape, data_offsets: [begin, end] } relative to the buffer,
 * plus an optional "__metadata__" string map. Everything is validated before a byte of data is read:
 * the header length against the file, the JSON (no byte-order mark, an object), each dtype and shape,
 * and that the offsets tile the buffer exactly.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tensor } from '../contract';
import { SafetensorsFormatError } from '../errors';
import { formatShape, shapeSize } from '../tensor';
import type { FileStamp, StoredTensor } from './stored';

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
  /** Where one tensor's bytes lie in the file, for a file on disk (openSafetensors): see stored.ts. */
  stored?(name: string): StoredTensor;
  /**
   * The first NaN or ±Inf of a float tensor (its flat index and value), read from a file on disk in chunks
   * into one scratch buffer: checking a tensor this way leaves no copy of it behind for the GC to collect.
   */
  firstNonFinite?(name: string): { index: number; value: number } | undefined;
}

/** Reads a safetensors file held in memory, e.g. a small golden case. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const fail = failWith(source);
  if (bytes.length < 8) fail(`too short to be safetensors (${bytes.length} bytes)`);
  const n = headerLength(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true), bytes.length, fail);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, fail);
  const data = bytes.subarray(8 + n);
  return fileOf(header, source, (e, into) => into.set(data.subarray(e.begin, e.end)));
}

/**
 * Opens a safetensors file on disk without reading its data: the header is parsed and checked
 * against the file's size, and each tensor is read from the file when asked for, straight into
 * its own typed array. So a file of any size loads, never as one Buffer.
 */
export function openSafetensors(path: string): SafetensorsFile {
  const fail = failWith(path);
  const { fd, size } = openRegularFile(path, fail);
  let header: Header;
  let dataStart: number;
  let stamp: FileStamp;
  try {
    const s = fstatSync(fd, { bigint: true });
    stamp = { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
    if (size < 8) fail(`too short to be safetensors (${size} bytes)`);
    const prefix = new Uint8Array(8);
    readFully(fd, prefix, 0, fail);
    const n = headerLength(new DataView(prefix.buffer).getBigUint64(0, true), size, fail);
    const headerBytes = new Uint8Array(n);
    readFully(fd, headerBytes, 8, fail);
    header = parseHeader(headerBytes, size - 8 - n, fail);
    dataStart = 8 + n;
  } finally {
    closeSync(fd);
  }
  const file = fileOf(header, path, (e, into) => {
    const again = openRegularFile(path, fail);
    try {
      if (again.size !== size) fail(`the file changed size since it was opened (${size} -> ${again.size} bytes)`);
      readFully(again.fd, into, dataStart + e.begin, fail);
    } finally {
      closeSync(again.fd);
    }
  });
  const firstNonFinite = (name: string) => {
    const e = file.info(name);
    const width = BYTES[e.dtype];
    const again = openRegularFile(path, fail);
    try {
      if (again.size !== size) fail(`the file changed size since it was opened (${size} -> ${again.size} bytes)`);
      const n = (e.end - e.begin) / width;
      for (let done = 0; done < n; done += SCAN_CHUNK) {
        const m = Math.min(SCAN_CHUNK, n - done);
        const begin = e.begin + done * width;
        const chunk = { ...e, shape: [m], begin, end: begin + m * width };
        const values = decode(chunk, (into) => readFully(again.fd, into, dataStart + begin, fail), `${path}: '${name}'`, scratch).data;
        for (let i = 0; i < m; i++) if (!Number.isFinite(values[i])) return { index: done + i, value: values[i]! };
      }
      return undefined;
    } finally {
      closeSync(again.fd);
    }
  };
  const absolute = resolve(path); // a reader in place later must not depend on the working directory
  const stored = (name: string): StoredTensor => {
    const e = file.info(name);
    return { path: absolute, stamp, dtype: e.dtype, shape: e.shape, offset: dataStart + e.begin, length: e.end - e.begin };
  };
  return { ...file, stored, firstNonFinite };
}

/** Elements per chunk when a tensor is scanned rather than read whole (firstNonFinite). */
const SCAN_CHUNK = 1 << 18;
/** The scanning chunk's bytes, shared by every scan: F32 and F64 are read straight into it. */
const scratch = new ArrayBuffer(SCAN_CHUNK * 8);

/** A message on one line: V8's JSON errors quote the text around the error, newlines and all. */
export const oneLine = (message: string) => message.replace(/\s+/g, ' ');

const failWith = (source: string) => (why: string): never => {
  throw new SafetensorsFormatError(`${source}: ${why}`);
};

/** Opens a path for reading only if it is a regular file: a FIFO, a device or a folder would block or never end. */
export function openRegularFile(path: string, fail: (why: string) => never): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK, so that opening a FIFO with no writer returns at once instead of waiting for one.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return fail(`cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    fail('is not a regular file (a FIFO, a device or a folder cannot be a checkpoint file)');
  }
  return { fd, size: stat.size };
}

/** readSync reads at most 2 GiB a call, and may read less than asked: loop until `into` is full. */
function readFully(fd: number, into: Uint8Array, position: number, fail: (why: string) => never): void {
  const CHUNK = 1 << 28;
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, Math.min(CHUNK, into.length - done), position + done);
    if (n === 0) fail(`the file ended ${into.length - done} bytes early`);
    done += n;
  }
}

/** The header length from the 8-byte prefix, checked against the file before anything is allocated. */
function headerLength(raw: bigint, fileSize: number, fail: (why: string) => never): number {
  if (raw > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) fail(`header length ${raw} does not fit in the file (${fileSize} bytes)`);
  return Number(raw);
}

interface Header {
  entries: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** Parses and checks the JSON header: an object of tensor entries whose offsets tile the data exactly. */
function parseHeader(bytes: Uint8Array, dataLength: number, fail: (why: string) => never): Header {
  if (bytes.length === 0) fail('header is empty; it must be a JSON object');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) fail('header starts with a byte-order mark; it must start with {');
  if (bytes[0] !== 0x7b) fail(`header is not a JSON object (it must start with {, got byte 0x${bytes[0]!.toString(16)})`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${oneLine((e as Error).message)})`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object');
  const entries = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== 'string')) fail('__metadata__ must be an object mapping strings to strings');
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
  if (cursor !== dataLength) fail(`tensors cover ${cursor} bytes but the data buffer holds ${dataLength}`);
  return { entries, metadata };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ENTRY_KEYS = new Set(['dtype', 'shape', 'data_offsets']);

function parseEntry(name: string, raw: unknown, fail: (why: string) => never): TensorInfo {
  if (!isPlainObject(raw)) fail(`tensor '${name}': entry is not an object`);
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const extra = Object.keys(r).find((k) => !ENTRY_KEYS.has(k));
  if (extra !== undefined) fail(`tensor '${name}': unknown field ${JSON.stringify(extra)} (an entry has dtype, shape and data_offsets)`);
  if (typeof r.dtype !== 'string' || !Object.hasOwn(BYTES, r.dtype)) {
    fail(`tensor '${name}': unsupported dtype ${JSON.stringify(r.dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
  }
  const dtype = r.dtype as SafetensorsDType;
  if (!Array.isArray(r.shape) || !r.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name}': shape must be an array of whole numbers ≥ 0, got ${JSON.stringify(r.shape)}`);
  }
  const shape = r.shape as number[];
  const offsets = r.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    fail(`tensor '${name}': data_offsets must be [begin, end] with begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shapeSize(shape) * BYTES[dtype];
  if (!Number.isSafeInteger(expected) || end - begin !== expected) {
    fail(`tensor '${name}': ${dtype} ${formatShape(shape)} needs ${expected} bytes, data_offsets give ${end - begin}`);
  }
  return { dtype, shape, begin, end };
}

/** A SafetensorsFile over a parsed header; `fill` copies one tensor's raw bytes into an aligned array. */
function fileOf(header: Header, source: string, fill: (e: TensorInfo, into: Uint8Array) => void): SafetensorsFile {
  const { entries, metadata } = header;
  const info = (name: string): TensorInfo => {
    const e = entries.get(name);
    if (!e) throw new SafetensorsFormatError(`${source}: no tensor named '${name}'`);
    return e;
  };
  return {
    metadata,
    names: () => [...entries.keys()],
    info,
    get: (name) => decode(info(name), (into) => fill(info(name), into), `${source}: '${name}'`),
  };
}

/**
 * Decodes one tensor. Its bytes are copied into an array of the element's own size, because offsets
 * in the file need not be aligned and typed arrays need them to be; F32 and F64 are read in place.
 */
function decode(e: TensorInfo, fill: (into: Uint8Array) => void, what: string, into?: ArrayBuffer): Tensor {
  const n = shapeSize(e.shape);
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const read = <A extends ArrayBufferView>(a: A): A => (fill(bytesOf(a)), a);
  switch (e.dtype) {
    case 'F64':
      return { dtype: 'float64', shape: e.shape, data: read(into ? new Float64Array(into, 0, n) : new Float64Array(n)) };
    case 'F32':
      return { dtype: 'float32', shape: e.shape, data: read(into ? new Float32Array(into, 0, n) : new Float32Array(n)) };
    case 'F16': {
      const half = read(into ? new Uint16Array(into, 0, n) : new Uint16Array(n));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(half[i]!);
      return { dtype: 'float32', shape: e.shape, data: out };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const half = read(into ? new Uint16Array(into, 0, n) : new Uint16Array(n));
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = half[i]! << 16;
      return { dtype: 'float32', shape: e.shape, data: new Float32Array(bits.buffer) };
    }
    case 'I32':
      return { dtype: 'int32', shape: e.shape, data: read(new Int32Array(n)) };
    case 'I64': {
      const wide = read(new BigInt64Array(n));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
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

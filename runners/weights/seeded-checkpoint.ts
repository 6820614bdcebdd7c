/**
 * Writes a seeded GPT-2 checkpoint of any size to disk, tensor by tensor, so that the benchmarks and the
 * smoke test can load gpt2-large or gpt2-xl shapes (3.1 and 6.2 GB in float32) without storing them and
 * without holding them in memory while writing. The values are uniform with the spread of HF's
 * initialisation (matrices σ = 0.02, biases σ = 0.01, LayerNorm γ = 1 ± σ 0.1): a model that computes
 * finite, ordinary numbers, not a trained one.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeAll } from '../files';
import type { Gpt2Config } from '../contract';
import { shapeSize } from '../tensor';
import { expectedShapes, hfConfigJson } from './checkpoint';
import { seededRandom } from './seeded';

export type StoredDType = 'F32' | 'F16' | 'BF16';

const gpt2 = (nLayer: number, nEmbd: number, nHead: number): Gpt2Config => ({ vocabSize: 50257, nPositions: 1024, nEmbd, nLayer, nHead, layerNormEpsilon: 1e-5 });

export const GPT2_SHAPES: Record<string, Gpt2Config> = {
  gpt2: gpt2(12, 768, 12),
  'gpt2-medium': gpt2(24, 1024, 16),
  'gpt2-large': gpt2(36, 1280, 20),
  'gpt2-xl': gpt2(48, 1600, 25),
};

/** How many numbers a GPT-2 of this config holds: wte, wpe, ln_f, and 12·D² + 13·D per layer. */
export function parameterCount({ vocabSize: V, nPositions: P, nEmbd: D, nLayer }: Gpt2Config): number {
  return V * D + P * D + nLayer * (12 * D * D + 13 * D) + 2 * D;
}

const BYTES: Record<StoredDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Writes config.json and model.safetensors for a seeded GPT-2 of this config into `dir`. Returns the safetensors size in bytes. */
export function writeSeededCheckpoint(dir: string, config: Gpt2Config, dtype: StoredDType = 'F32', seed = 1729): number {
  mkdirSync(dir, { recursive: true });
  const configFd = openSync(join(dir, 'config.json'), 'w');
  writeSync(configFd, JSON.stringify(hfConfigJson(config), null, 2));
  closeSync(configFd);

  const shapes = [...expectedShapes(config)];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', written_by: 'gpt2-spec seeded checkpoint' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = shapeSize(shape) * BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, prefix);
    writeSync(fd, json);
    const random = seededRandom(seed);
    for (const [name, shape] of shapes) writeTensor(fd, name, shapeSize(shape), dtype, random);
  } finally {
    closeSync(fd);
  }
  return 8 + Buffer.byteLength(json) + offset;
}

const CHUNK = 1 << 20;

function writeTensor(fd: number, name: string, n: number, dtype: StoredDType, random: () => number): void {
  const isNorm = /(^|\.)ln_(1|2|f)\.weight$/.test(name);
  const sigma = isNorm ? 0.1 : name.endsWith('.bias') ? 0.01 : 0.02;
  const centre = isNorm ? 1 : 0;
  const spread = sigma * Math.sqrt(12); // a uniform of this width has standard deviation sigma
  const values = new Float32Array(CHUNK);
  const stored = dtype === 'F32' ? values : new Uint16Array(CHUNK);
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    for (let i = 0; i < m; i++) values[i] = centre + spread * (random() - 0.5);
    if (stored instanceof Uint16Array) for (let i = 0; i < m; i++) stored[i] = dtype === 'F16' ? toHalf(values[i]!) : toBfloat16(values[i]!);
    writeAll(fd, new Uint8Array(stored.buffer, 0, m * BYTES[dtype]));
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> bfloat16 bits, rounding to nearest even. */
export function toBfloat16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> IEEE binary16 bits, rounding to nearest even (finite inputs; overflow gives ±Inf). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  let m = x & 0x7fffff;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    m |= 0x800000;
    const shift = 14 - e;
    return sign | roundShift(m, shift);
  }
  return sign | ((e << 10) + roundShift(m, 13)); // a carry out of the fraction correctly bumps the exponent
}

function roundShift(m: number, shift: number): number {
  const h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (h & 1) === 1) ? h + 1 : h;
}

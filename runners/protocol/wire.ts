/**
 * The runner protocol's format (docs/protocol.md), with no Node APIs: the constants and the checks of a
 * tensor entry. frame.ts frames messages on Node Buffers with it; a browser page's runner does the same
 * on ArrayBuffers (runners/browser/page-frame.ts). One definition of the format, two byte containers.
 */
import type { DType, Tensor } from '../contract';
import { shapeSize } from '../tensor';

export const PROTOCOL_VERSION = 1;
/** The methods a runner may expose, and a tokenizer's. */
export const RUNNER_METHODS = ['embed', 'layerNorm', 'attention', 'mlp', 'block', 'lmHead', 'forward'] as const;
export const TOKENIZER_METHODS = ['encode', 'decode'] as const;
export const MAGIC_TEXT = 'G2SP';
export const PRELUDE_BYTES = 16;
/** A header is small JSON; anything larger is a broken or hostile stream, not a message. */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Tensor offsets, and the padded header's length, are multiples of this. */
export const ALIGN = 8;

/** A framing problem: a stream that is not this protocol. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export const ITEM_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };
export const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

export interface TensorRef {
  dtype: DType;
  shape: number[];
  offset: number;
}

export const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' && v !== null && ArrayBuffer.isView((v as Tensor).data) && Array.isArray((v as Tensor).shape) && typeof (v as Tensor).dtype === 'string';

/** A header entry that stands for a tensor: an object with exactly dtype, shape and offset. */
export const isTensorRef = (v: Record<string, unknown>): boolean => {
  const keys = Object.keys(v);
  return keys.length === 3 && 'dtype' in v && 'shape' in v && 'offset' in v;
};

/** Padding that brings `n` bytes to a multiple of ALIGN. */
export const padding = (n: number): number => (ALIGN - (n % ALIGN)) % ALIGN;

/** Checks a tensor entry against a payload of `payloadBytes`; returns its element count and byte length. */
export function checkTensorRef(ref: Record<string, unknown>, payloadBytes: number): TensorRef & { size: number; bytes: number } {
  const { dtype, shape, offset } = ref;
  if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_BYTES, dtype)) throw new ProtocolError(`a tensor has dtype ${JSON.stringify(dtype)}, not float32, float64 or int32`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ProtocolError(`a tensor has shape ${JSON.stringify(shape)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) % ALIGN !== 0) throw new ProtocolError(`a tensor has offset ${JSON.stringify(offset)}, not a multiple of 8`);
  const size = shapeSize(shape as number[]);
  const bytes = size * ITEM_BYTES[dtype as DType];
  if (!Number.isSafeInteger(bytes) || (offset as number) + bytes > payloadBytes) {
    throw new ProtocolError(`a ${dtype} tensor of shape [${(shape as number[]).join(',')}] at offset ${offset} runs past the ${payloadBytes}-byte payload`);
  }
  return { dtype: dtype as DType, shape: shape as number[], offset: offset as number, size, bytes };
}

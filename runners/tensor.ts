/** Small helpers for the contract's Tensor: construction, conversion and shape checks. */
import type { DType, Tensor } from './contract';
import { ShapeError, TokenIdError } from './errors';

export type FloatTensor = Tensor & { dtype: 'float32' | 'float64'; data: Float32Array | Float64Array };
export type Float64Tensor = Tensor & { dtype: 'float64'; data: Float64Array };
export type Float32Tensor = Tensor & { dtype: 'float32'; data: Float32Array };

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

const arrayOf = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** A tensor of the given dtype and shape; the data is zero-filled unless given, and its length is checked. */
export function tensor(dtype: DType, shape: readonly number[], data?: ArrayLike<number>): Tensor {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ShapeError(`a tensor's shape must be whole numbers ≥ 0, got ${formatShape(shape)}`);
  const size = shapeSize(shape);
  const array = new arrayOf[dtype](size);
  if (data !== undefined) {
    if (data.length !== size) {
      throw new ShapeError(`tensor data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}`);
    }
    array.set(data);
  }
  return { dtype, shape: [...shape], data: array };
}

export const float64 = (shape: readonly number[], data?: ArrayLike<number>) => tensor('float64', shape, data) as Float64Tensor;
export const float32 = (shape: readonly number[], data?: ArrayLike<number>) => tensor('float32', shape, data) as Float32Tensor;
export const int32 = (shape: readonly number[], data?: ArrayLike<number>) => tensor('int32', shape, data);

/** Token ids as an int32 [B,T] tensor, from one row or several rows of equal length. */
export function ids(rows: readonly number[] | readonly (readonly number[])[]): Tensor {
  const matrix = (typeof rows[0] === 'number' || rows.length === 0 ? [rows] : rows) as readonly (readonly number[])[];
  const T = matrix[0]?.length ?? 0;
  if (matrix.some((row) => row.length !== T)) throw new ShapeError('every row of a batch of ids must have the same length');
  const bad = matrix.flat().find((id) => !Number.isInteger(id) || id < 0 || id > 2147483647);
  if (bad !== undefined) throw new TokenIdError(`token id ${bad} is not a whole number in 0..2147483647`);
  return int32([matrix.length, T], matrix.flat());
}

/** The same values in another dtype (a copy; float64 -> float32 rounds to nearest). */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  return tensor(dtype, t.shape, t.data);
}

export const toFloat64 = (t: Tensor) => cast(t, 'float64') as Float64Tensor;
export const toFloat32 = (t: Tensor) => cast(t, 'float32') as Float32Tensor;

export function isFloat(t: Tensor): t is FloatTensor {
  return t.dtype === 'float32' || t.dtype === 'float64';
}

/** True when the value looks like a contract Tensor: a known dtype, integer dims, and data of the right kind and length. */
export function isTensor(value: unknown): value is Tensor {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Tensor;
  if (!(t.dtype in arrayOf) || !Array.isArray(t.shape)) return false;
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) return false;
  return t.data instanceof arrayOf[t.dtype] && t.data.length === shapeSize(t.shape);
}

/**
 * Checks a tensor against an expected shape, where null matches any size, and throws a ShapeError naming `what`.
 */
export function assertShape(t: Tensor, expected: readonly (number | null)[], what: string): void {
  if (!isTensor(t)) throw new ShapeError(`${what}: not a tensor (needs dtype, shape and data of matching length)`);
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = `[${expected.map((d) => (d === null ? '?' : d)).join(',')}]`;
    throw new ShapeError(`${what}: expected shape ${want}, got ${formatShape(t.shape)}`);
  }
}

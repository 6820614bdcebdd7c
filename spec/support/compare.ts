/**
 * allclose, as numpy and torch define it: |actual − expected| ≤ atol + rtol·|expected|, element by element.
 * The usage of an element is |actual − expected| / (atol + rtol·|expected|); a tensor passes when its
 * largest usage is ≤ 1. NaN never passes, and the shape is checked before any value.
 */
import type { Tensor } from '../../runners/contract';
import { formatShape, isTensor } from '../../runners/tensor';
import type { Tolerance } from './fixtures';

export interface Comparison {
  pass: boolean;
  maxAbsError: number;
  maxRelError: number;
  usage: number;
  /** The flat index and the row-major coordinates of the element with the largest usage. */
  worst?: { index: number; at: number[]; actual: number; expected: number };
  /** Set when the tensors could not be compared value by value (not a tensor, the shape differs). */
  problem?: string;
}

export function unravel(index: number, shape: readonly number[]): number[] {
  const at: number[] = [];
  for (let i = shape.length - 1; i >= 0; i--) {
    at.unshift(index % shape[i]!);
    index = Math.floor(index / shape[i]!);
  }
  return at;
}

export function compareTensors(actual: unknown, expected: Tensor, tol: Tolerance): Comparison {
  const fail = (problem: string): Comparison => ({ pass: false, maxAbsError: Infinity, maxRelError: Infinity, usage: Infinity, problem });
  if (!isTensor(actual)) return fail('the result is not a tensor (it needs dtype, shape and data of matching length)');
  if ((actual.dtype === 'int32') !== (expected.dtype === 'int32')) return fail(`dtype ${actual.dtype} where the golden is ${expected.dtype}`);
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return fail(`shape ${formatShape(actual.shape)} differs from the golden ${formatShape(expected.shape)}`);
  }
  let maxAbsError = 0;
  let maxRelError = 0;
  let usage = 0;
  let worst = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    const err = Math.abs(a - e);
    const u = Number.isNaN(err) ? Infinity : err / (tol.atol + tol.rtol * Math.abs(e));
    if (!(err <= maxAbsError)) maxAbsError = Number.isNaN(err) ? Infinity : err;
    const rel = e === 0 ? (err === 0 ? 0 : Infinity) : err / Math.abs(e);
    if (!(rel <= maxRelError)) maxRelError = Number.isNaN(rel) ? Infinity : rel;
    if (u > usage || worst < 0) {
      usage = Math.max(usage, u);
      worst = i;
    }
  }
  const w = worst >= 0 ? { index: worst, at: unravel(worst, expected.shape), actual: actual.data[worst]!, expected: expected.data[worst]! } : undefined;
  return { pass: usage <= 1, maxAbsError, maxRelError, usage, worst: w };
}

export function describeComparison(name: string, c: Comparison, tol: Tolerance): string {
  if (c.problem) return `${name}: ${c.problem}`;
  const w = c.worst;
  return [
    `${name}: ${c.pass ? 'within' : 'outside'} tolerance (atol ${tol.atol}, rtol ${tol.rtol})`,
    `  max abs error ${c.maxAbsError.toExponential(3)}, max rel error ${c.maxRelError.toExponential(3)}`,
    `  tolerance used ${(c.usage * 100).toPrecision(3)}%${w ? ` at [${w.at.join(',')}]: got ${w.actual}, golden ${w.expected}` : ''}`,
  ].join('\n');
}

/**
 * Small helpers the spec files use to phrase a check: slicing golden tensors and iterating the cases.
 */
import type { Tensor } from '../../runners/contract';
import { shapeSize } from '../../runners/tensor';
import { cases, openCase, type GoldenCase } from './fixtures';

/** Every forward case, opened. */
export const forwardCases = (): GoldenCase[] => cases('forward').map(openCase);

/** Every layer index of a case's model. */
export const layersOf = (c: GoldenCase): number[] => Array.from({ length: c.config.nLayer }, (_, i) => i);

/** x[:, from:to] of a [B,T,...] tensor: the positions from..to-1 of every sequence. */
export function positions(x: Tensor, from: number, to: number): Tensor {
  const [B, T] = x.shape as [number, number];
  const inner = shapeSize(x.shape.slice(2));
  const data = new (x.data.constructor as new (n: number) => typeof x.data)(B * (to - from) * inner);
  for (let b = 0; b < B; b++) data.set(x.data.subarray((b * T + from) * inner, (b * T + to) * inner), b * (to - from) * inner);
  return { dtype: x.dtype, shape: [B, to - from, ...x.shape.slice(2)], data };
}

/** The rows of an int32 [B,T] tensor as arrays. */
export function rowsOf(ids: Tensor): number[][] {
  const [B, T] = ids.shape as [number, number];
  return Array.from({ length: B }, (_, b) => Array.from(ids.data.subarray(b * T, (b + 1) * T)));
}

/**
 * The case a property test runs on: the first that fits, on the model with the smallest vocabulary, since a
 * property calls forward many times and the LM head's cost grows with V.
 */
export function cheapestCase(candidates: GoldenCase[], fits: (c: GoldenCase) => boolean): GoldenCase {
  const fitting = candidates.filter(fits).sort((a, b) => a.config.vocabSize - b.config.vocabSize);
  if (!fitting[0]) throw new Error(`no fixture case fits this property among ${candidates.map((c) => c.id).join(', ')}`);
  return fitting[0];
}

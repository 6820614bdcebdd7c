/**
 * How far LayerNorm's output may move when its input row is shifted and scaled: LN(a·x + b) equals
 * LN(x) computed with ε/a² instead of ε. So for a row of biased variance v, the normalised value x̂
 * changes by the factor √((v + ε)/(v + ε/a²)), and this bounds the difference, element by element.
 */
import type { Tensor } from '../../runners/contract';

export function shiftScaleAllowance(x: Tensor, gamma: Tensor, eps: number, scale: number): Float64Array {
  const D = gamma.data.length;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length; r += D) {
    let mean = 0;
    for (let j = 0; j < D; j++) mean += x.data[r + j]!;
    mean /= D;
    let v = 0;
    for (let j = 0; j < D; j++) v += (x.data[r + j]! - mean) ** 2;
    v /= D;
    const factor = Math.abs(1 - Math.sqrt((v + eps) / (v + eps / (scale * scale))));
    for (let j = 0; j < D; j++) out[r + j] = (Math.abs(gamma.data[j]! * (x.data[r + j]! - mean)) / Math.sqrt(v + eps)) * factor;
  }
  return out;
}

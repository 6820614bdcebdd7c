/**
 * The reference in float32, the plain way: every sum is sequential and every operation rounds to float32
 * (Math.fround), with no blocking, pairwise sums or fused multiply-adds. It is the correct float32 runner the
 * mutants' float32 variants are measured against, and the naive float32 witness of spec/README.md's promise.
 * (The LM head's dot products still sum in float64 and round their result: ReferenceOps does not swap them.)
 */
import type { Tensor } from '../../../runners/contract';
import { ReferenceRunner, referenceOps, type ReferenceOps } from '../../../runners/reference/runner';
import { float32, toFloat32 } from '../../../runners/tensor';

const f = Math.fround;

/** Rounds every value an op returns to float32: for a planted bug written in float64 arithmetic. */
export const toFloat32Values = (x: Float64Array): Float64Array => x.map(f);

export const float32Ops: ReferenceOps = {
  ...referenceOps,
  gelu: (x) => {
    const c = f(Math.sqrt(2 / Math.PI));
    return x.map((v) => f(f(0.5 * v) * f(1 + f(Math.tanh(f(c * f(v + f(f(f(0.044715 * v) * v) * v))))))));
  },
  softmax: (x, n) => {
    const out = new Float64Array(x.length);
    for (let r = 0; r < x.length; r += n) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, x[r + j]!);
      let sum = 0;
      for (let j = 0; j < n; j++) sum = f(sum + (out[r + j] = f(Math.exp(f(x[r + j]! - max)))));
      for (let j = 0; j < n; j++) out[r + j] = f(out[r + j]! / sum);
    }
    return out;
  },
  layerNorm: (x, gamma, beta, eps) => {
    const n = gamma.length;
    const out = new Float64Array(x.length);
    for (let r = 0; r < x.length; r += n) {
      let mean = 0;
      for (let j = 0; j < n; j++) mean = f(mean + x[r + j]!);
      mean = f(mean / n);
      let variance = 0;
      for (let j = 0; j < n; j++) variance = f(variance + f(f(x[r + j]! - mean) ** 2));
      variance = f(variance / n);
      const scale = f(1 / f(Math.sqrt(f(variance + eps))));
      for (let j = 0; j < n; j++) out[r + j] = f(f(f(f(x[r + j]! - mean) * scale) * gamma[j]!) + beta[j]!);
    }
    return out;
  },
  linear: (x, w, b) => {
    const nOut = b.length;
    const nIn = w.length / nOut;
    const rows = x.length / nIn;
    const out = new Float64Array(rows * nOut);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < nOut; j++) {
        let acc = b[j]!;
        for (let i = 0; i < nIn; i++) acc = f(acc + f(x[r * nIn + i]! * w[i * nOut + j]!));
        out[r * nOut + j] = acc;
      }
    return out;
  },
  scores: (q, k, { B, T, H, Dh }, S) => {
    const scale = f(1 / Math.sqrt(Dh));
    const out = new Float64Array(B * H * T * S);
    for (let bh = 0; bh < B * H; bh++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) {
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot = f(dot + f(q[(bh * T + t) * Dh + d]! * k[(bh * S + s) * Dh + d]!));
          out[(bh * T + t) * S + s] = f(dot * scale);
        }
    return out;
  },
  weightedValues: (w, v, { B, T, H, Dh }, S) => {
    const out = new Float64Array(B * H * T * Dh);
    for (let bh = 0; bh < B * H; bh++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < Dh; d++) {
          let acc = 0;
          for (let s = 0; s < S; s++) acc = f(acc + f(w[(bh * T + t) * S + s]! * v[(bh * S + s) * Dh + d]!));
          out[(bh * T + t) * Dh + d] = acc;
        }
    return out;
  },
  add: (a, b) => a.map((v, i) => f(v + b[i]!)),
};

/** A reference-built runner that computes in float32 and returns float32 tensors, so the float32 tolerances judge it. */
export class Float32ReferenceRunner extends ReferenceRunner {
  override readonly backend = 'float32 typescript, sequential sums';

  /** A float32 runner rounds its inputs to float32 first. */
  protected override values(x: Tensor): Float64Array {
    return Float64Array.from(toFloat32(x).data);
  }

  protected override output(shape: readonly number[], data: Float64Array): Tensor {
    return float32(shape, data);
  }
}

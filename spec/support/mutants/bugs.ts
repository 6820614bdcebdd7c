/**
 * The planted bugs of the mutation catalogue (./catalogue.ts), one small function each, written like the
 * reference functions they replace (runners/reference/gpt2.ts). B batch, T tokens, S keys, H heads, Dh head size.
 */
import type { AttentionTrace, Gpt2Runner, KvCache, Tensor } from '../../../runners/contract';
import type { LinearSite, ReferenceOps } from '../../../runners/reference/runner';
import * as gpt2 from '../../../runners/reference/gpt2';
import { tensor } from '../../../runners/tensor';
import { overrideMethods } from '../override';

/** LayerNorm with one of its details wrong. [rows, D] -> [rows, D]. */
export function layerNormWith(bug: { unbiased?: boolean; epsOutside?: boolean; eps?: number; noMean?: boolean; noBeta?: boolean }): ReferenceOps['layerNorm'] {
  return (x, gamma, beta, eps) => {
    const D = gamma.length;
    const e = bug.eps ?? eps;
    const out = new Float64Array(x.length);
    for (let r = 0; r < x.length; r += D) {
      const row = x.subarray(r, r + D);
      const mean = bug.noMean ? 0 : row.reduce((a, b) => a + b, 0) / D;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / (bug.unbiased ? D - 1 : D);
      const denominator = bug.epsOutside ? Math.sqrt(variance) + e : Math.sqrt(variance + e);
      for (let j = 0; j < D; j++) out[r + j] = ((row[j]! - mean) / denominator) * gamma[j]! + (bug.noBeta ? 0 : beta[j]!);
    }
    return out;
  };
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough to tell the exact GELU from the tanh one (they differ by up to 4.7e-4). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

export const erfGelu: ReferenceOps['gelu'] = (x) => x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));

/** The tanh GELU with another cubic coefficient. */
export function geluWith(cubic: number): ReferenceOps['gelu'] {
  const c = Math.sqrt(2 / Math.PI);
  return (x) => x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + cubic * v * v * v))));
}

/** A causal mask whose first hidden key for query t is `firstHidden(t, T, S)` instead of S − T + t + 1. */
export function maskFrom(firstHidden: (t: number, T: number, S: number) => number): ReferenceOps['causalMask'] {
  return (x, T, S) => {
    const out = x.slice();
    for (let r = 0; r < x.length / S; r++) for (let s = firstHidden(r % T, T, S); s < S; s++) out[r * S + s] = -Infinity;
    return out;
  };
}

/** The textbook softmax, exp(x) / Σ exp(x), in the given precision: exp overflows to ∞ and ∞/∞ is NaN. */
export function naiveSoftmax(round: (v: number) => number): ReferenceOps['softmax'] {
  return (x, n) => {
    const out = new Float64Array(x.length);
    for (let r = 0; r < x.length; r += n) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum = round(sum + (out[r + j] = round(Math.exp(x[r + j]!))));
      for (let j = 0; j < n; j++) out[r + j] = round(out[r + j]! / sum);
    }
    return out;
  };
}

/** The softmax over the other axis of each [T,S] matrix: over the queries instead of the keys (for T = S). */
export function onColumns(softmax: ReferenceOps['softmax']): ReferenceOps['softmax'] {
  return (x, S) => {
    const T = S;
    const out = new Float64Array(x.length);
    for (let m = 0; m < x.length; m += T * S) {
      const columns = new Float64Array(T * S); // [S,T]: each row a column of the [T,S] matrix
      for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) columns[s * T + t] = x[m + t * S + s]!;
      const weighed = softmax(columns, T);
      for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) out[m + t * S + s] = weighed[s * T + t]!;
    }
    return out.map((v) => (Number.isNaN(v) ? 0 : v)); // a column of −∞ only gives NaN; a real bug would show zeros there
  };
}

/** A linear layer that leaves out its bias at one site. */
export function zeroBiasAt(linear: ReferenceOps['linear'], site: LinearSite): ReferenceOps['linear'] {
  return (x, w, b, at) => linear(x, w, at === site ? new Float64Array(b.length) : b, at);
}

/** [B,T,H·Dh] read as [B,T,Dh,H] -> [B,H,T,Dh]. */
export const interleavedSplit: ReferenceOps['splitHeads'] = (x, { B, T, H, Dh }) => {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < Dh; d++) out[((b * H + h) * T + t) * Dh + d] = x[(b * T + t) * H * Dh + d * H + h]!;
  return out;
};

/** [B,H,T,Dh] -> [B,T,Dh,H], read as [B,T,H·Dh]. */
export const interleavedMerge: ReferenceOps['mergeHeads'] = (x, { B, T, H, Dh }) => {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < Dh; d++) out[(b * T + t) * H * Dh + d * H + h] = x[((b * H + h) * T + t) * Dh + d]!;
  return out;
};

/** [B,T,H·Dh] -> [H,B,T,Dh], which the rest of the model reads as [B,H,T,Dh]. */
export const headsFirstSplit: ReferenceOps['splitHeads'] = (x, { B, T, H, Dh }) => {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < Dh; d++) out[((h * B + b) * T + t) * Dh + d] = x[(b * T + t) * H * Dh + h * Dh + d]!;
  return out;
};

/** The [H,B,T,Dh] layout merged back as if it were [B,H,T,Dh]: the rows of a batch mix. */
export const headsFirstMerge: ReferenceOps['mergeHeads'] = (x, sizes) => gpt2.mergeHeads(x, sizes);

/** [B,H,Tp,Dh] and [B,H,T,Dh] -> [B,H,T+Tp,Dh] with the new positions first. */
export const newBeforePast: ReferenceOps['concatSequence'] = (past, now, { B, T, H, Dh }, Tp) => {
  const out = new Float64Array(past.length + now.length);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(now.subarray(bh * T * Dh, (bh + 1) * T * Dh), bh * (Tp + T) * Dh);
    out.set(past.subarray(bh * Tp * Dh, (bh + 1) * Tp * Dh), (bh * (Tp + T) + T) * Dh);
  }
  return out;
};

/** The cache a layer returns without its first Tp positions: [B,H,Tp+T,Dh] -> [B,H,T,Dh]. */
export const withoutPast: ReferenceOps['cacheOut'] = ({ key, value }, { B, T, H, Dh }, Tp) => {
  const drop = (x: Float64Array) => {
    const out = new Float64Array(B * H * T * Dh);
    for (let bh = 0; bh < B * H; bh++) out.set(x.subarray((bh * (Tp + T) + Tp) * Dh, (bh + 1) * (Tp + T) * Dh), bh * T * Dh);
    return out;
  };
  return { key: drop(key), value: drop(value) };
};

/** A runner whose attention trace reports one field changed by `change`. */
export function withTrace(r: Gpt2Runner, field: keyof AttentionTrace, change: (t: Tensor, trace: AttentionTrace) => Tensor): Gpt2Runner {
  return overrideMethods(r, {
    attention: async (x, layer, opts) => {
      const out = await r.attention(x, layer, opts);
      const t = out.trace?.[field];
      return t ? { ...out, trace: { ...out.trace, [field]: change(t, out.trace!) } } : out;
    },
  });
}

const like = (t: Tensor, data: ArrayLike<number>) => tensor(t.dtype, t.shape, data);

/** [B,H,T,T] scores with −∞ above the diagonal. */
export const masked = (t: Tensor): Tensor => like(t, gpt2.causalMask(Float64Array.from(t.data), t.shape[2]!, t.shape[3]!));

/** [B,T,D] context data left in the [B,H,T,Dh] layout of the heads (H read off the trace's query). */
export function unmerged(t: Tensor, trace: AttentionTrace): Tensor {
  const [B, T, D] = t.shape as [number, number, number];
  const H = trace.query!.shape[1]!;
  return like(t, gpt2.splitHeads(Float64Array.from(t.data), { B, T, H, Dh: D / H }));
}

/** Probabilities in place of the logits of a forward. */
export function softmaxedLogits(out: { logits: Tensor; present: KvCache }): { logits: Tensor; present: KvCache } {
  const V = out.logits.shape[2]!;
  return { ...out, logits: like(out.logits, gpt2.softmax(Float64Array.from(out.logits.data), V)) };
}

/**
 * GPT-2's forward pass as a handful of float64 functions, one per building block, after
 * OpenAI's TF `model.py` and Hugging Face's `modeling_gpt2.py` (read in the style of picoGPT).
 * Matrices are row-major Float64Arrays with their sizes passed alongside; every line that makes
 * a tensor says its shape. Weights stay in the dtype the checkpoint stores (float32, usually): reading
 * a float32 as a JS number is exact, so the arithmetic is float64 either way, without a float64 copy. B batch, T tokens, Tp cached tokens, D n_embd, H heads, Dh = D/H, V vocab.
 */

/** A weight as the checkpoint stores it; every element is read as a float64 number. */
export type Weight = Float32Array | Float64Array;

/** GPT-2's GELU, the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu(x: Float64Array): Float64Array {
  const c = Math.sqrt(2 / Math.PI);
  return x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)))); // same shape as x
}

/** Softmax over each row of n entries; -Infinity entries get exactly 0. */
export function softmax(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(x.length); // same shape as x
  for (let r = 0; r < x.length; r += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += out[r + j] = Math.exp(x[r + j]! - max); // subtract the max so exp cannot overflow
    for (let j = 0; j < n; j++) out[r + j]! /= sum;
  }
  return out;
}

/** LayerNorm over each row of n entries: (x − mean) / √(var + ε) · γ + β, with the biased variance (divided by n). */
export function layerNorm(x: Float64Array, gamma: Weight, beta: Weight, eps: number): Float64Array {
  const n = gamma.length;
  const out = new Float64Array(x.length); // [rows, n] -> [rows, n]
  for (let r = 0; r < x.length; r += n) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[r + j]!;
    mean /= n;
    let variance = 0;
    for (let j = 0; j < n; j++) variance += (x[r + j]! - mean) ** 2;
    variance /= n;
    const scale = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < n; j++) out[r + j] = (x[r + j]! - mean) * scale * gamma[j]! + beta[j]!;
  }
  return out;
}

/** A Conv1D linear layer: x · W + b, with W stored [in, out]. */
export function linear(x: Float64Array, w: Weight, b: Weight): Float64Array {
  const nOut = b.length;
  const nIn = w.length / nOut;
  const rows = x.length / nIn;
  const out = new Float64Array(rows * nOut); // [rows, in] -> [rows, out]
  for (let r = 0; r < rows; r++) {
    const o = out.subarray(r * nOut, (r + 1) * nOut);
    o.set(b);
    for (let i = 0; i < nIn; i++) {
      const xi = x[r * nIn + i]!;
      const wRow = i * nOut;
      for (let j = 0; j < nOut; j++) o[j]! += xi * w[wRow + j]!;
    }
  }
  return out;
}

export interface Sizes {
  B: number;
  T: number;
  H: number;
  Dh: number;
}

/** [B,T,H·Dh] -> [B,H,T,Dh]: one sequence of head vectors per head. */
export function splitHeads(x: Float64Array, { B, T, H, Dh }: Sizes): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let d = 0; d < Dh; d++) out[((b * H + h) * T + t) * Dh + d] = x[(b * T + t) * H * Dh + h * Dh + d]!;
  return out;
}

/** [B,H,T,Dh] -> [B,T,H·Dh]: the heads side by side again. */
export function mergeHeads(x: Float64Array, { B, T, H, Dh }: Sizes): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < Dh; d++) out[(b * T + t) * H * Dh + h * Dh + d] = x[((b * H + h) * T + t) * Dh + d]!;
  return out;
}

/** Concatenates along the sequence axis: [B,H,Tp,Dh] and [B,H,T,Dh] -> [B,H,Tp+T,Dh]. */
export function concatSequence(past: Float64Array, now: Float64Array, { B, T, H, Dh }: Sizes, Tp: number): Float64Array {
  const out = new Float64Array(past.length + now.length);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(past.subarray(bh * Tp * Dh, (bh + 1) * Tp * Dh), bh * (Tp + T) * Dh);
    out.set(now.subarray(bh * T * Dh, (bh + 1) * T * Dh), (bh * (Tp + T) + Tp) * Dh);
  }
  return out;
}

/**
 * Scaled dot-product scores of T queries against S = Tp + T keys: q · kᵀ / √Dh, before the mask.
 * q [B,H,T,Dh], k [B,H,S,Dh] -> [B,H,T,S].
 */
export function scores(q: Float64Array, k: Float64Array, { B, T, H, Dh }: Sizes, S: number): Float64Array {
  const scale = 1 / Math.sqrt(Dh);
  const out = new Float64Array(B * H * T * S);
  for (let bh = 0; bh < B * H; bh++)
    for (let t = 0; t < T; t++)
      for (let s = 0; s < S; s++) {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[(bh * T + t) * Dh + d]! * k[(bh * S + s) * Dh + d]!;
        out[(bh * T + t) * S + s] = dot * scale;
      }
  return out;
}

/** The causal mask: query t (at absolute position S − T + t) may not see keys after it. [B,H,T,S] -> same, −∞ above the diagonal. */
export function causalMask(x: Float64Array, T: number, S: number): Float64Array {
  const out = x.slice();
  for (let r = 0; r < x.length / S; r++) {
    const t = r % T;
    for (let s = S - T + t + 1; s < S; s++) out[r * S + s] = -Infinity;
  }
  return out;
}

/** Weighted sum of values: weights [B,H,T,S] · v [B,H,S,Dh] -> [B,H,T,Dh]. */
export function weightedValues(w: Float64Array, v: Float64Array, { B, T, H, Dh }: Sizes, S: number): Float64Array {
  const out = new Float64Array(B * H * T * Dh);
  for (let bh = 0; bh < B * H; bh++)
    for (let t = 0; t < T; t++)
      for (let s = 0; s < S; s++) {
        const ws = w[(bh * T + t) * S + s]!;
        if (ws === 0) continue;
        for (let d = 0; d < Dh; d++) out[(bh * T + t) * Dh + d]! += ws * v[(bh * S + s) * Dh + d]!;
      }
  return out;
}

/** Elementwise a + b (the residual connection). */
export function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]!);
}

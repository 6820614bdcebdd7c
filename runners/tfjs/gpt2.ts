/**
 * GPT-2's building blocks as TensorFlow.js ops, written once for every backend (tfjs-node-gpu,
 * tfjs-node, wasm, cpu), one function per block as in ../reference/gpt2.ts. tfjs is float32 only.
 *
 * Every function is synchronous and makes tensors: call it inside tf.tidy, which disposes the
 * intermediates. Every line that makes a tensor says its shape.
 * B batch, T new tokens, Tp cached tokens, S = Tp + T, D n_embd, H heads, Dh = D/H, V vocab.
 *
 * Some choices are for speed on the wasm backend, and change no result beyond float32 rounding
 * (figures for GPT-2 small, T = 128, in docs/tfjs.md). The wasm backend runs a matrix product on
 * XNNPACK only when it is a single, untransposed 2-D product, and caches the packed right-hand operand
 * per tensor; a batched or transposed product falls back to a naive loop, 10–60× slower. So:
 *  - every linear layer is one 2-D product [B·T,in]·[in,out], with the bias fused into it;
 *  - attention multiplies head by head, B·H 2-D products instead of one batched product (from 16 queries on);
 *  - the LM head multiplies by wteᵀ, a transposed copy of wte made once at load, or, for 8 rows or
 *    more, computes (wte·xᵀ)ᵀ, whose small right-hand operand stays in cache while wte streams once;
 *  - the causal mask adds a [T,S] matrix of 0 and −∞ instead of selecting over [B,H,T,S];
 *  - GELU is written with a sigmoid, which equals the tanh form exactly but has a faster kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A Conv1D linear layer's parameters: W stored [in, out], b [out]. */
export interface Linear {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface Norm {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/** One transformer block's parameters. */
export interface BlockWeights {
  ln1: Norm;
  attn: { cAttn: Linear; cProj: Linear };
  ln2: Norm;
  mlp: { cFc: Linear; cProj: Linear };
}

/** The cached keys and values of one layer, each [B,H,Tp,Dh]. */
export interface PastKv {
  key: tf.Tensor4D;
  value: tf.Tensor4D;
}

/**
 * GPT-2's GELU, the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 * Computed as x·σ(2u) with u = √(2/π)·(x + 0.044715·x³), since 1 + tanh(u) = 2·σ(2u): the same function
 * (and no cancellation in 1 + tanh(u) for very negative x), with a sigmoid kernel 8× faster than tanh on wasm.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const twoU = tf.mul(x, tf.add(2 * c, tf.mul(2 * c * 0.044715, tf.square(x)))); // 2u = x·(2c + 2c·0.044715·x²), same shape as x
  return tf.mul(x, tf.sigmoid(twoU)); // same shape as x
}

/** Softmax over the last axis; −∞ entries get exactly 0 (exp(−∞ − max) = 0). */
export function softmax(x: tf.Tensor): tf.Tensor {
  return tf.softmax(x, -1); // same shape as x
}

/**
 * LayerNorm over the last axis: (x − mean) / √(var + ε) · γ + β, with the biased variance (divided by n).
 * The mean is corrected by a second pass over x − mean: a float32 sum of n values far from 0 (a row of
 * −6 + N(0,1), say) loses a few ulps of the row's size, which the normalization then scales up.
 */
export function layerNorm(x: tf.Tensor, { gamma, beta }: Norm, eps: number): tf.Tensor {
  const roughly = tf.sub(x, tf.mean(x, -1, true)); // [B,T,D] x − mean, up to the rounding of the float32 mean
  const centered = tf.sub(roughly, tf.mean(roughly, -1, true)); // [B,T,D] minus what is left of the mean
  const variance = tf.mean(tf.square(centered), -1, true); // [B,T,1] the biased variance
  const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, eps))); // [B,T,D]
  return tf.add(tf.mul(normalized, gamma), beta); // [B,T,D]
}

/** A Conv1D linear layer: x · W + b, with W stored [in, out]. [..., in] -> [..., out]. */
export function linear(x: tf.Tensor, { w, b }: Linear): tf.Tensor {
  const [nIn, nOut] = w.shape;
  const rows = tf.reshape(x, [-1, nIn]); // [B,T,in] -> [B·T,in]: one matrix, as the fast paths want
  const y = tf.fused.matMul({ a: rows, b: w, bias: b }); // [B·T,in] · [in,out] + [out] -> [B·T,out]
  return tf.reshape(y, [...x.shape.slice(0, -1), nOut]); // [B,T,out]
}

/** [B,T,H·Dh] -> [B,H,T,Dh]: one sequence of head vectors per head. */
export function splitHeads(x: tf.Tensor, H: number): tf.Tensor4D {
  const [B, T, D] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]); // [B,T,H,Dh] -> [B,H,T,Dh]
}

/** [B,H,T,Dh] -> [B,T,H·Dh]: the heads side by side again. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const [B, H, T, Dh] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * Dh]); // [B,H,T,Dh] -> [B,T,H,Dh] -> [B,T,D]
}

/**
 * a·b for every head: [B,H,m,k] · [B,H,k,n] -> [B,H,m,n]. From 16 rows on, as B·H separate 2-D products
 * (XNNPACK on wasm); for fewer rows, as in decoding, one batched product, cheaper than B·H small ones.
 */
export function matMulPerHead(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const [B, H, m, k] = a.shape;
  const n = b.shape[3];
  if (m < 16) return tf.matMul(a, b); // [B,H,m,n]
  const as = tf.unstack(tf.reshape(a, [B * H, m, k])); // B·H × [m,k]
  const bs = tf.unstack(tf.reshape(b, [B * H, k, n])); // B·H × [k,n]
  return tf.reshape(tf.stack(as.map((ah, i) => tf.matMul(ah, bs[i]!))), [B, H, m, n]); // B·H × [m,n] -> [B,H,m,n]
}

/** Scaled dot-product scores of T queries against S keys: q · kᵀ / √Dh, before the mask. q [B,H,T,Dh], k [B,H,S,Dh] -> [B,H,T,S]. */
export function scores(q: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
  const Dh = q.shape[3];
  const kT = tf.transpose(k, [0, 1, 3, 2]); // [B,H,S,Dh] -> [B,H,Dh,S]
  return tf.mul(matMulPerHead(q, kT), 1 / Math.sqrt(Dh)); // [B,H,T,S]
}

/**
 * The causal mask: query t, at absolute position Tp + t, may not see the keys after it.
 * [B,H,T,S] -> same, −∞ where key s > Tp + t, by adding a [T,S] matrix of 0 and −∞ (x + 0 = x exactly).
 */
export function causalMask(x: tf.Tensor4D, Tp: number): tf.Tensor4D {
  const [, , T, S] = x.shape;
  const future = new Float32Array(T * S); // [T,S], 0 where the key is visible
  for (let t = 0; t < T; t++) future.fill(-Infinity, t * S + Tp + t + 1, (t + 1) * S); // keys after position Tp + t
  return tf.add(x, tf.tensor2d(future, [T, S])); // [B,H,T,S] + [T,S] broadcast over [B,H] -> [B,H,T,S]
}

/** Weighted sum of values: weights [B,H,T,S] · v [B,H,S,Dh] -> [B,H,T,Dh]. */
export function weightedValues(w: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return matMulPerHead(w, v); // [B,H,T,Dh]
}

/** What one attention call computes on the way; key and value include the cache. */
export type Attended = {
  output: tf.Tensor3D; // [B,T,D] after c_proj
  query: tf.Tensor4D; // [B,H,T,Dh]
  key: tf.Tensor4D; // [B,H,S,Dh]
  value: tf.Tensor4D; // [B,H,S,Dh]
  scores: tf.Tensor4D; // [B,H,T,S]
  weights: tf.Tensor4D; // [B,H,T,S]
  context: tf.Tensor3D; // [B,T,D]
};

/** Causal multi-head self-attention on the ln_1 output x [B,T,D], after an optional cache of Tp positions. */
export function attention(x: tf.Tensor, { cAttn, cProj }: BlockWeights['attn'], H: number, past?: PastKv): Attended {
  const qkv = linear(x, cAttn); // [B,T,D] -> [B,T,3D]
  const [q, k, v] = tf.split(qkv, 3, -1).map((part) => splitHeads(part, H)) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]; // [B,H,T,Dh] each
  const Tp = past ? past.key.shape[2] : 0;
  const key = past ? tf.concat([past.key, k], 2) : k; // [B,H,S,Dh]
  const value = past ? tf.concat([past.value, v], 2) : v; // [B,H,S,Dh]
  const s = scores(q, key); // [B,H,T,S]
  const weights = softmax(causalMask(s, Tp)) as tf.Tensor4D; // [B,H,T,S]
  const context = mergeHeads(weightedValues(weights, value)); // [B,H,T,Dh] -> [B,T,D]
  const output = linear(context, cProj) as tf.Tensor3D; // [B,T,D]
  return { output, query: q, key, value, scores: s, weights, context };
}

/** The feed-forward network: c_fc, GELU, c_proj. [B,T,D] -> [B,T,D]. */
export function mlp(x: tf.Tensor, { cFc, cProj }: BlockWeights['mlp']): tf.Tensor {
  const hidden = linear(x, cFc); // [B,T,D] -> [B,T,4D]
  return linear(gelu(hidden), cProj); // [B,T,4D] -> [B,T,D]
}

/** One pre-LayerNorm transformer block: r = x + attn(ln_1(x)), then r + mlp(ln_2(r)). Also returns the layer's keys and values. */
export function block(x: tf.Tensor, w: BlockWeights, H: number, eps: number, past?: PastKv): { output: tf.Tensor3D; key: tf.Tensor4D; value: tf.Tensor4D } {
  const a = attention(layerNorm(x, w.ln1, eps), w.attn, H, past);
  const residual = tf.add(x, a.output); // [B,T,D]
  const output = tf.add(residual, mlp(layerNorm(residual, w.ln2, eps), w.mlp)) as tf.Tensor3D; // [B,T,D]
  return { output, key: a.key, value: a.value };
}

/** wte[ids] + wpe[Tp + t]: ids int32 [B,T] -> [B,T,D]. */
export function embed(ids: tf.Tensor2D, wte: tf.Tensor2D, wpe: tf.Tensor2D, Tp: number): tf.Tensor3D {
  const T = ids.shape[1];
  const token = tf.gather(wte, ids); // [B,T] -> [B,T,D]
  const position = tf.gather(wpe, tf.range(Tp, Tp + T, 1, 'int32')); // [T] -> [T,D]
  return tf.add(token, position) as tf.Tensor3D; // [B,T,D] + [T,D] broadcast over the batch -> [B,T,D]
}

/**
 * Logits against every token: x · wteᵀ, the head tied to the token embedding. [B,T,D] -> [B,T,V].
 * The same product two ways: with wteᵀ [D,V], transposed once at load (best for a few rows, as in
 * decoding), or, from 8 rows on, as (wte · xᵀ)ᵀ, which streams wte once instead of once per tile of rows.
 */
export function lmHead(x: tf.Tensor, wte: tf.Tensor2D, wteT: tf.Tensor2D): tf.Tensor3D {
  const [B, T, D] = x.shape as [number, number, number];
  const V = wte.shape[0];
  const rows = tf.reshape(x, [B * T, D]); // [B,T,D] -> [B·T,D]
  const logits = B * T >= 8
    ? tf.transpose(tf.matMul(wte, tf.transpose(rows))) // [V,D] · [D,B·T] -> [V,B·T] -> [B·T,V]
    : tf.matMul(rows, wteT); // [B·T,D] · [D,V] -> [B·T,V]
  return tf.reshape(logits, [B, T, V]); // [B,T,V]
}

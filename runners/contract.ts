/**
 * The runner contract: what an implementation of GPT-2 must offer to be checked by gpt2-spec.
 *
 * Every built-in runner (reference, onnx, tfjs, ...) and every third-party adapter implements
 * exactly these interfaces. Shapes use the same letters everywhere:
 *   B batch, T sequence (new tokens), Tpast cached tokens, D n_embd, H n_head, Dh = D / H, V vocab.
 * Tensors are row-major. The weights follow Hugging Face's GPT-2 names and its Conv1D layout,
 * where a linear layer's weight is [in, out] and y = x · W + b.
 */

export type DType = 'float32' | 'float64' | 'int32';

export interface Tensor {
  dtype: DType;
  shape: readonly number[];
  data: Float32Array | Float64Array | Int32Array; // row-major
}

/** GPT2Config's numeric fields, camel-cased. */
export interface Gpt2Config {
  vocabSize: number; // V
  nPositions: number; // the longest sequence the position embedding covers
  nEmbd: number; // D
  nLayer: number;
  nHead: number; // H
  layerNormEpsilon: number;
}

/** A checkpoint: HF tensor names without the `transformer.` prefix, e.g. `h.0.attn.c_attn.weight`. */
export interface Gpt2Weights {
  config: Gpt2Config;
  /** The checkpoint folder the weights were read from, when they were: a runner in another process loads it itself. */
  readonly dir?: string;
  names(): string[];
  get(name: string): Tensor;
}

export type LayerNormSite = `h.${number}.ln_1` | `h.${number}.ln_2` | 'ln_f';

/** What one attention call computed on the way; every field is optional, and a missing one is reported as "not exposed". */
export interface AttentionTrace {
  query?: Tensor; // [B,H,T,Dh]
  key?: Tensor; // [B,H,T,Dh]
  value?: Tensor; // [B,H,T,Dh]
  scores?: Tensor; // [B,H,T,T] q·kᵀ / sqrt(Dh), before the causal mask
  weights?: Tensor; // [B,H,T,T] after the mask and the softmax
  context?: Tensor; // [B,T,D] weights · v with the heads merged, before c_proj
}

/** The key/value cache: one tensor per layer, each [B,H,Tpast,Dh]. */
export interface KvCache {
  keys: Tensor[];
  values: Tensor[];
}

export interface Gpt2Runner {
  readonly name: string;
  /** What actually ran, e.g. 'float64 typescript' or 'onnxruntime 1.30 cpu float32'. */
  readonly backend: string;
  load(weights: Gpt2Weights): Promise<void>;
  /** wte[ids] + wpe[pastLength + t]: ids int32 [B,T] -> [B,T,D]. */
  embed(ids: Tensor, pastLength?: number): Promise<Tensor>;
  /** [B,T,D] -> [B,T,D], with the γ and β of the given site. */
  layerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor>;
  /** Causal multi-head self-attention of layer `layer` on the ln_1 output [B,T,D]; output after c_proj [B,T,D]. */
  attention(x: Tensor, layer: number, opts?: { trace?: boolean }): Promise<{ output: Tensor; trace?: AttentionTrace }>;
  /** The feed-forward network on the ln_2 output [B,T,D]: c_fc, gelu_new (tanh), c_proj -> [B,T,D]. */
  mlp(x: Tensor, layer: number): Promise<Tensor>;
  /** One transformer block on the residual stream [B,T,D]: x + attn(ln_1(x)), then + mlp(ln_2(.)). */
  block(x: Tensor, layer: number): Promise<Tensor>;
  /** The language-modeling head, tied to wte: the ln_f output [B,T,D] -> logits [B,T,V]. */
  lmHead(x: Tensor): Promise<Tensor>;
  /** The whole model on ids [B,T] after an optional cache of Tpast tokens: logits [B,T,V] and the cache of Tpast+T tokens. */
  forward(ids: Tensor, past?: KvCache): Promise<{ logits: Tensor; present: KvCache }>;
  dispose(): Promise<void>;
}

/** GPT-2's byte-level BPE tokenizer. */
export interface Gpt2Tokenizer {
  readonly name: string;
  /** 'none' (the default) encodes `<|endoftext|>` as plain text; 'all' maps every occurrence to its id. */
  encode(text: string, opts?: { allowedSpecial?: 'none' | 'all' }): number[];
  decode(ids: readonly number[]): string;
}

/**
 * How a runner refuses what it cannot compute: by rejecting with an error whose `name` is one of these
 * (an adapter's own classes pass, as long as the name matches). runners/errors.ts has classes for each.
 */
export const REFUSALS = {
  TokenIdError: 'a token id outside 0..V-1',
  SequenceTooLongError: 'more positions than n_positions: pastLength + T > n_positions',
  CacheShapeError: 'a cache whose layer count or [B,H,Tpast,Dh] shapes do not fit the model and the input',
  NotExposedError: 'a method, or a model, that the implementation does not offer',
} as const;
export type RefusalName = keyof typeof REFUSALS;

/** An adapter module's default export: a named runner and/or tokenizer factory (a bare runner factory is accepted too). */
export interface Gpt2SpecAdapter {
  name: string;
  runner?: () => Gpt2Runner | Promise<Gpt2Runner>;
  tokenizer?: () => Gpt2Tokenizer | Promise<Gpt2Tokenizer>;
}

/**
 * The float64 reference runner: the whole contract in plain TypeScript, built from the functions
 * in ./gpt2.ts. It is meant to be read; speed is not its job.
 */
import type { AttentionTrace, Gpt2Weights, KvCache, LayerNormSite, Tensor } from '../contract';
import { BaseRunner } from '../base-runner';
import { float64, isFloat, toFloat64 } from '../tensor';
import { headSize } from '../validate';
import * as gpt2 from './gpt2';

/** Layer-local linear layers, named after HF's modules. */
export type LinearSite = 'attn.c_attn' | 'attn.c_proj' | 'mlp.c_fc' | 'mlp.c_proj';

/** What a transformer block is made of, for ReferenceOps.block: each a [B,T,D] -> [B,T,D] function. */
export interface BlockParts {
  ln1: (x: Float64Array) => Float64Array;
  ln2: (x: Float64Array) => Float64Array;
  attention: (x: Float64Array) => Float64Array;
  feedForward: (x: Float64Array) => Float64Array;
  add: (a: Float64Array, b: Float64Array) => Float64Array;
}

/**
 * The operations the runner is built from. A mutant runner (spec/support/mutants/) swaps one of them for a
 * planted bug, and a float32 variant swaps the arithmetic ones for float32 versions.
 */
export interface ReferenceOps {
  gelu: (x: Float64Array) => Float64Array;
  layerNorm: (x: Float64Array, gamma: gpt2.Weight, beta: gpt2.Weight, eps: number) => Float64Array;
  linear: (x: Float64Array, w: gpt2.Weight, b: gpt2.Weight, site: LinearSite) => Float64Array;
  scores: typeof gpt2.scores;
  causalMask: typeof gpt2.causalMask;
  softmax: typeof gpt2.softmax;
  splitHeads: typeof gpt2.splitHeads;
  mergeHeads: typeof gpt2.mergeHeads;
  concatSequence: typeof gpt2.concatSequence;
  weightedValues: typeof gpt2.weightedValues;
  add: typeof gpt2.add;
  /** Which third of c_attn's output is the query, the key and the value. */
  qkvThirds: readonly [number, number, number];
  /** The row of wpe that token t of a call after `pastLength` cached tokens reads. */
  position: (pastLength: number, t: number) => number;
  /** One pre-LayerNorm block: x + attn(ln_1(x)), then r + mlp(ln_2(r)). */
  block: (x: Float64Array, parts: BlockParts) => Float64Array;
  /** The last stage of forward: the final LayerNorm, then the logits. */
  head: (x: Float64Array, lnF: (x: Float64Array) => Float64Array, logits: (x: Float64Array) => Float64Array) => Float64Array;
  /** What a layer puts in the cache it returns, from the keys and values its attention used ([B,H,S,Dh] each). */
  cacheOut: (used: { key: Float64Array; value: Float64Array }, sizes: gpt2.Sizes, Tp: number) => { key: Float64Array; value: Float64Array };
}

export const referenceOps: ReferenceOps = {
  gelu: gpt2.gelu,
  layerNorm: gpt2.layerNorm,
  linear: (x, w, b) => gpt2.linear(x, w, b),
  scores: gpt2.scores,
  causalMask: gpt2.causalMask,
  softmax: gpt2.softmax,
  splitHeads: gpt2.splitHeads,
  mergeHeads: gpt2.mergeHeads,
  concatSequence: gpt2.concatSequence,
  weightedValues: gpt2.weightedValues,
  add: gpt2.add,
  qkvThirds: [0, 1, 2],
  position: (pastLength, t) => pastLength + t,
  block: (x, { ln1, ln2, attention, feedForward, add }) => {
    const residual = add(x, attention(ln1(x))); // [B,T,D]
    return add(residual, feedForward(ln2(residual))); // [B,T,D]
  },
  head: (x, lnF, logits) => logits(lnF(x)), // [B,T,D] -> [B,T,V]
  cacheOut: (used) => used,
};

interface Attended {
  output: Float64Array; // [B,T,D] after c_proj
  query: Float64Array; // [B,H,T,Dh]
  key: Float64Array; // [B,H,S,Dh], the cache included
  value: Float64Array; // [B,H,S,Dh]
  scores: Float64Array; // [B,H,T,S]
  weights: Float64Array; // [B,H,T,S]
  context: Float64Array; // [B,T,D]
}

export class ReferenceRunner extends BaseRunner {
  readonly backend: string = 'float64 typescript';
  /** The checkpoint's own arrays, not copies: a float32 checkpoint stays float32 in memory. */
  private readonly weights = new Map<string, gpt2.Weight>();

  constructor(
    readonly name = 'reference',
    private readonly ops: ReferenceOps = referenceOps,
  ) {
    super();
  }

  /** An input tensor's values as the runner computes with them. */
  protected values(x: Tensor): Float64Array {
    return toFloat64(x).data;
  }

  /** An output tensor of the runner: float64 here. */
  protected output(shape: readonly number[], data: Float64Array): Tensor {
    return float64(shape, data);
  }

  protected async loadWeights(weights: Gpt2Weights): Promise<void> {
    for (const name of weights.names()) {
      const t = weights.get(name);
      this.weights.set(name, isFloat(t) ? t.data : toFloat64(t).data);
    }
  }

  protected async release(): Promise<void> {
    this.weights.clear();
  }

  private w(name: string): gpt2.Weight {
    return this.weights.get(name)!;
  }

  protected async computeEmbed(ids: Tensor, pastLength: number): Promise<Tensor> {
    const [B, T] = ids.shape as [number, number];
    const D = this.config.nEmbd;
    const wte = this.w('wte.weight');
    const wpe = this.w('wpe.weight');
    const out = new Float64Array(B * T * D); // [B,T] -> [B,T,D]
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const token = ids.data[b * T + t]! * D;
        const position = this.ops.position(pastLength, t) * D;
        for (let d = 0; d < D; d++) out[(b * T + t) * D + d] = wte[token + d]! + wpe[position + d]!;
      }
    return this.output([B, T, D], out);
  }

  private ln(x: Float64Array, prefix: string): Float64Array {
    return this.ops.layerNorm(x, this.w(`${prefix}.weight`), this.w(`${prefix}.bias`), this.config.layerNormEpsilon); // [B,T,D] -> [B,T,D]
  }

  protected async computeLayerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    return this.output(x.shape, this.ln(this.values(x), site));
  }

  /** Causal self-attention of one layer on x [B,T,D], after Tp cached positions. */
  private attend(x: Float64Array, layer: number, B: number, T: number, past?: { key: Float64Array; value: Float64Array; Tp: number }): Attended {
    const { nEmbd: D, nHead: H } = this.config;
    const sizes = { B, T, H, Dh: headSize(this.config) };
    const p = `h.${layer}.attn`;
    const qkv = this.ops.linear(x, this.w(`${p}.c_attn.weight`), this.w(`${p}.c_attn.bias`), 'attn.c_attn'); // [B,T,D] -> [B,T,3D]
    const part = (i: number) => {
      const out = new Float64Array(B * T * D); // [B,T,3D] -> [B,T,D], the i-th third
      for (let r = 0; r < B * T; r++) out.set(qkv.subarray(r * 3 * D + i * D, r * 3 * D + (i + 1) * D), r * D);
      return this.ops.splitHeads(out, sizes); // [B,T,D] -> [B,H,T,Dh]
    };
    const [qi, ki, vi] = this.ops.qkvThirds;
    const Tp = past?.Tp ?? 0;
    const S = Tp + T;
    const query = part(qi);
    const key = past ? this.ops.concatSequence(past.key, part(ki), sizes, Tp) : part(ki); // [B,H,S,Dh]
    const value = past ? this.ops.concatSequence(past.value, part(vi), sizes, Tp) : part(vi); // [B,H,S,Dh]
    const scores = this.ops.scores(query, key, sizes, S); // [B,H,T,S]
    const weights = this.ops.softmax(this.ops.causalMask(scores, T, S), S); // [B,H,T,S]
    const context = this.ops.mergeHeads(this.ops.weightedValues(weights, value, sizes, S), sizes); // [B,H,T,Dh] -> [B,T,D]
    const output = this.ops.linear(context, this.w(`${p}.c_proj.weight`), this.w(`${p}.c_proj.bias`), 'attn.c_proj'); // [B,T,D]
    return { output, query, key, value, scores, weights, context };
  }

  protected async computeAttention(x: Tensor, layer: number, trace: boolean): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    const [B, T, D] = x.shape as [number, number, number];
    const { nHead: H } = this.config;
    const Dh = headSize(this.config);
    const a = this.attend(this.values(x), layer, B, T);
    const output = this.output([B, T, D], a.output);
    if (!trace) return { output };
    return {
      output,
      trace: {
        query: this.output([B, H, T, Dh], a.query),
        key: this.output([B, H, T, Dh], a.key),
        value: this.output([B, H, T, Dh], a.value),
        scores: this.output([B, H, T, T], a.scores),
        weights: this.output([B, H, T, T], a.weights),
        context: this.output([B, T, D], a.context),
      },
    };
  }

  /** The feed-forward network: c_fc, GELU, c_proj. [B,T,D] -> [B,T,D]. */
  private feedForward(x: Float64Array, layer: number): Float64Array {
    const p = `h.${layer}.mlp`;
    const hidden = this.ops.linear(x, this.w(`${p}.c_fc.weight`), this.w(`${p}.c_fc.bias`), 'mlp.c_fc'); // [B,T,D] -> [B,T,4D]
    return this.ops.linear(this.ops.gelu(hidden), this.w(`${p}.c_proj.weight`), this.w(`${p}.c_proj.bias`), 'mlp.c_proj'); // [B,T,4D] -> [B,T,D]
  }

  protected async computeMlp(x: Tensor, layer: number): Promise<Tensor> {
    return this.output(x.shape, this.feedForward(this.values(x), layer));
  }

  /** One pre-LayerNorm transformer block: x + attn(ln_1(x)), then r + mlp(ln_2(r)). */
  private transformerBlock(x: Float64Array, layer: number, B: number, T: number, past?: { key: Float64Array; value: Float64Array; Tp: number }) {
    let used: { key: Float64Array; value: Float64Array } = { key: new Float64Array(0), value: new Float64Array(0) };
    const output = this.ops.block(x, {
      ln1: (h) => this.ln(h, `h.${layer}.ln_1`),
      ln2: (h) => this.ln(h, `h.${layer}.ln_2`),
      attention: (h) => {
        const a = this.attend(h, layer, B, T, past);
        used = { key: a.key, value: a.value };
        return a.output;
      },
      feedForward: (h) => this.feedForward(h, layer),
      add: this.ops.add,
    }); // [B,T,D]
    return { output, ...used };
  }

  protected async computeBlock(x: Tensor, layer: number): Promise<Tensor> {
    const [B, T] = x.shape as [number, number];
    return this.output(x.shape, this.transformerBlock(this.values(x), layer, B, T).output);
  }

  /** Logits against every token: x · wteᵀ, the head tied to the token embedding. [B,T,D] -> [B,T,V]. */
  private logits(x: Float64Array, rows: number): Float64Array {
    const { vocabSize: V, nEmbd: D } = this.config;
    const wte = this.w('wte.weight');
    const out = new Float64Array(rows * V);
    for (let r = 0; r < rows; r++)
      for (let v = 0; v < V; v++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += x[r * D + d]! * wte[v * D + d]!;
        out[r * V + v] = dot;
      }
    return out;
  }

  protected async computeLmHead(x: Tensor): Promise<Tensor> {
    const [B, T] = x.shape as [number, number];
    return this.output([B, T, this.config.vocabSize], this.logits(this.values(x), B * T));
  }

  protected async computeForward(ids: Tensor, past: KvCache | undefined, Tp: number): Promise<{ logits: Tensor; present: KvCache }> {
    const [B, T] = ids.shape as [number, number];
    const { nLayer, nHead: H } = this.config;
    const Dh = headSize(this.config);
    let h = this.values(await this.computeEmbed(ids, Tp)); // [B,T,D]
    const present: KvCache = { keys: [], values: [] };
    const sizes = { B, T, H, Dh };
    for (let layer = 0; layer < nLayer; layer++) {
      const cached = past && { key: this.values(past.keys[layer]!), value: this.values(past.values[layer]!), Tp };
      const out = this.transformerBlock(h, layer, B, T, cached);
      h = out.output;
      const kept = this.ops.cacheOut({ key: out.key, value: out.value }, sizes, Tp);
      const S = kept.key.length / (B * H * Dh);
      present.keys.push(this.output([B, H, S, Dh], kept.key));
      present.values.push(this.output([B, H, S, Dh], kept.value));
    }
    const logits = this.ops.head(h, (x) => this.ln(x, 'ln_f'), (x) => this.logits(x, B * T)); // [B,T,D] -> [B,T,V]
    return { logits: this.output([B, T, this.config.vocabSize], logits), present };
  }
}

/**
 * The float64 reference runner: the whole contract in plain TypeScript, built from the functions
 * in ./gpt2.ts. It is meant to be read; speed is not its job.
 */
import type { AttentionTrace, Gpt2Weights, KvCache, LayerNormSite, Tensor } from '../contract';
import { BaseRunner } from '../base-runner';
import { float64, isFloat, toFloat64 } from '../tensor';
import { headSize } from '../validate';
import * as gpt2 from './gpt2';

/** The operations the runner is built from; a mutant runner swaps one of them for a planted bug. */
export interface ReferenceOps {
  gelu: (x: Float64Array) => Float64Array;
  layerNorm: (x: Float64Array, gamma: gpt2.Weight, beta: gpt2.Weight, eps: number) => Float64Array;
  scores: typeof gpt2.scores;
  causalMask: typeof gpt2.causalMask;
  softmax: typeof gpt2.softmax;
  /** The row of wpe that token t of a call after `pastLength` cached tokens reads. */
  position: (pastLength: number, t: number) => number;
}

export const referenceOps: ReferenceOps = {
  gelu: gpt2.gelu,
  layerNorm: gpt2.layerNorm,
  scores: gpt2.scores,
  causalMask: gpt2.causalMask,
  softmax: gpt2.softmax,
  position: (pastLength, t) => pastLength + t,
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
  readonly backend = 'float64 typescript';
  /** The checkpoint's own arrays, not copies: a float32 checkpoint stays float32 in memory. */
  private readonly weights = new Map<string, gpt2.Weight>();

  constructor(
    readonly name = 'reference',
    private readonly ops: ReferenceOps = referenceOps,
  ) {
    super();
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
    return float64([B, T, D], out);
  }

  private ln(x: Float64Array, prefix: string): Float64Array {
    return this.ops.layerNorm(x, this.w(`${prefix}.weight`), this.w(`${prefix}.bias`), this.config.layerNormEpsilon); // [B,T,D] -> [B,T,D]
  }

  protected async computeLayerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    return float64(x.shape, this.ln(toFloat64(x).data, site));
  }

  /** Causal self-attention of one layer on x [B,T,D], after Tp cached positions. */
  private attend(x: Float64Array, layer: number, B: number, T: number, past?: { key: Float64Array; value: Float64Array; Tp: number }): Attended {
    const { nEmbd: D, nHead: H } = this.config;
    const sizes = { B, T, H, Dh: headSize(this.config) };
    const p = `h.${layer}.attn`;
    const qkv = gpt2.linear(x, this.w(`${p}.c_attn.weight`), this.w(`${p}.c_attn.bias`)); // [B,T,D] -> [B,T,3D]
    const part = (i: number) => {
      const out = new Float64Array(B * T * D); // [B,T,3D] -> [B,T,D], the i-th third
      for (let r = 0; r < B * T; r++) out.set(qkv.subarray(r * 3 * D + i * D, r * 3 * D + (i + 1) * D), r * D);
      return gpt2.splitHeads(out, sizes); // [B,T,D] -> [B,H,T,Dh]
    };
    const Tp = past?.Tp ?? 0;
    const S = Tp + T;
    const query = part(0);
    const key = past ? gpt2.concatSequence(past.key, part(1), sizes, Tp) : part(1); // [B,H,S,Dh]
    const value = past ? gpt2.concatSequence(past.value, part(2), sizes, Tp) : part(2); // [B,H,S,Dh]
    const scores = this.ops.scores(query, key, sizes, S); // [B,H,T,S]
    const weights = this.ops.softmax(this.ops.causalMask(scores, T, S), S); // [B,H,T,S]
    const context = gpt2.mergeHeads(gpt2.weightedValues(weights, value, sizes, S), sizes); // [B,H,T,Dh] -> [B,T,D]
    const output = gpt2.linear(context, this.w(`${p}.c_proj.weight`), this.w(`${p}.c_proj.bias`)); // [B,T,D]
    return { output, query, key, value, scores, weights, context };
  }

  protected async computeAttention(x: Tensor, layer: number, trace: boolean): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    const [B, T, D] = x.shape as [number, number, number];
    const { nHead: H } = this.config;
    const Dh = headSize(this.config);
    const a = this.attend(toFloat64(x).data, layer, B, T);
    const output = float64([B, T, D], a.output);
    if (!trace) return { output };
    return {
      output,
      trace: {
        query: float64([B, H, T, Dh], a.query),
        key: float64([B, H, T, Dh], a.key),
        value: float64([B, H, T, Dh], a.value),
        scores: float64([B, H, T, T], a.scores),
        weights: float64([B, H, T, T], a.weights),
        context: float64([B, T, D], a.context),
      },
    };
  }

  /** The feed-forward network: c_fc, GELU, c_proj. [B,T,D] -> [B,T,D]. */
  private feedForward(x: Float64Array, layer: number): Float64Array {
    const p = `h.${layer}.mlp`;
    const hidden = gpt2.linear(x, this.w(`${p}.c_fc.weight`), this.w(`${p}.c_fc.bias`)); // [B,T,D] -> [B,T,4D]
    return gpt2.linear(this.ops.gelu(hidden), this.w(`${p}.c_proj.weight`), this.w(`${p}.c_proj.bias`)); // [B,T,4D] -> [B,T,D]
  }

  protected async computeMlp(x: Tensor, layer: number): Promise<Tensor> {
    return float64(x.shape, this.feedForward(toFloat64(x).data, layer));
  }

  /** One pre-LayerNorm transformer block: x + attn(ln_1(x)), then r + mlp(ln_2(r)). */
  private transformerBlock(x: Float64Array, layer: number, B: number, T: number, past?: { key: Float64Array; value: Float64Array; Tp: number }) {
    const a = this.attend(this.ln(x, `h.${layer}.ln_1`), layer, B, T, past);
    const residual = gpt2.add(x, a.output); // [B,T,D]
    const output = gpt2.add(residual, this.feedForward(this.ln(residual, `h.${layer}.ln_2`), layer)); // [B,T,D]
    return { output, key: a.key, value: a.value };
  }

  protected async computeBlock(x: Tensor, layer: number): Promise<Tensor> {
    const [B, T] = x.shape as [number, number];
    return float64(x.shape, this.transformerBlock(toFloat64(x).data, layer, B, T).output);
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
    return float64([B, T, this.config.vocabSize], this.logits(toFloat64(x).data, B * T));
  }

  protected async computeForward(ids: Tensor, past: KvCache | undefined, Tp: number): Promise<{ logits: Tensor; present: KvCache }> {
    const [B, T] = ids.shape as [number, number];
    const { nLayer, nHead: H } = this.config;
    const Dh = headSize(this.config);
    let h = (await this.computeEmbed(ids, Tp)).data as Float64Array; // [B,T,D]
    const present: KvCache = { keys: [], values: [] };
    for (let layer = 0; layer < nLayer; layer++) {
      const cached = past && { key: toFloat64(past.keys[layer]!).data, value: toFloat64(past.values[layer]!).data, Tp };
      const out = this.transformerBlock(h, layer, B, T, cached);
      h = out.output;
      present.keys.push(float64([B, H, Tp + T, Dh], out.key));
      present.values.push(float64([B, H, Tp + T, Dh], out.value));
    }
    const logits = this.logits(this.ln(h, 'ln_f'), B * T); // [B,T,D] -> [B,T,V]
    return { logits: float64([B, T, this.config.vocabSize], logits), present };
  }
}

/**
 * The TensorFlow.js runner: the whole contract on one tfjs backend, built from the blocks in ./gpt2.ts.
 *
 * tfjs's engine is process-global and runs ops on its one active backend, so each call first makes
 * this runner's backend the active one (switching only when another runner changed it); the weights
 * are created after that, so they live on this runner's backend. This assumes calls do not overlap:
 * one call runs to its end before the next starts (as in the spec, which awaits each call). Two runners
 * used concurrently on different backends would need a lock around each call.
 *
 * No leaks: each call runs its ops in tf.tidy, copies the results out to plain Float32Arrays and
 * disposes them, so tf.memory().numTensors is back where it was after every call; dispose() frees the
 * weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionTrace, Gpt2Weights, KvCache, LayerNormSite, Tensor } from '../contract';
import { BaseRunner } from '../base-runner';
import { RunnerStateError } from '../errors';
import { toFloat32 } from '../tensor';
import type { TfjsBackend } from './backends';
import { activate } from './engine';
import * as gpt2 from './gpt2';

interface Model {
  wte: tf.Tensor2D; // [V,D]
  wteT: tf.Tensor2D; // [D,V], a transposed copy for the LM head
  wpe: tf.Tensor2D; // [P,D]
  layers: gpt2.BlockWeights[];
  lnF: gpt2.Norm;
  /** Every tensor above, to dispose. */
  all: tf.Tensor[];
}

export class TfjsRunner extends BaseRunner {
  readonly backend: string;
  /** Why better backends were passed over when none was forced, one line each. */
  readonly tried: readonly string[];
  private model?: Model;

  constructor(
    readonly name: string,
    private readonly tfBackend: Pick<TfjsBackend, 'engineName' | 'description'> & { tried?: readonly string[] },
  ) {
    super();
    this.backend = tfBackend.description;
    this.tried = tfBackend.tried ?? [];
  }

  /** The tfjs backend name this runner's tensors live on ('wasm', 'cpu' or 'tensorflow'). */
  get engineBackend(): string {
    return this.tfBackend.engineName;
  }

  protected async loadWeights(weights: Gpt2Weights): Promise<void> {
    await this.release(); // a second load replaces the first model
    await activate(this.tfBackend.engineName);
    const all: tf.Tensor[] = [];
    const param = <R extends tf.Rank>(name: string): tf.Tensor<R> => {
      const t = weights.get(name);
      const copy = new Float32Array(t.data); // float32 (rounded from float64), and ours: the backend may keep the array
      const p = tf.tensor(copy, [...t.shape], 'float32') as unknown as tf.Tensor<R>;
      all.push(p);
      return p;
    };
    try {
      const norm = (prefix: string): gpt2.Norm => ({ gamma: param(`${prefix}.weight`), beta: param(`${prefix}.bias`) });
      const linear = (prefix: string): gpt2.Linear => ({ w: param(`${prefix}.weight`), b: param(`${prefix}.bias`) });
      const wte = param<tf.Rank.R2>('wte.weight');
      const wteT = tf.transpose(wte); // [V,D] -> [D,V], once: x · wteᵀ as an untransposed product
      all.push(wteT);
      const layers = Array.from({ length: weights.config.nLayer }, (_, i) => ({
        ln1: norm(`h.${i}.ln_1`),
        attn: { cAttn: linear(`h.${i}.attn.c_attn`), cProj: linear(`h.${i}.attn.c_proj`) },
        ln2: norm(`h.${i}.ln_2`),
        mlp: { cFc: linear(`h.${i}.mlp.c_fc`), cProj: linear(`h.${i}.mlp.c_proj`) },
      }));
      this.model = { wte, wteT, wpe: param('wpe.weight'), layers, lnF: norm('ln_f'), all };
    } catch (e) {
      tf.dispose(all);
      throw e;
    }
  }

  protected async release(): Promise<void> {
    if (!this.model) return;
    tf.dispose(this.model.all); // a tensor is freed by the backend it lives on, whichever is active
    this.model = undefined;
  }

  /** The loaded model, with this runner's backend made the active one. */
  private async ready(): Promise<Model> {
    if (!this.model) throw new RunnerStateError(`${this.name}: call load(weights) first`); // BaseRunner checks this first
    await activate(this.tfBackend.engineName);
    return this.model;
  }

  private get eps(): number {
    return this.config.layerNormEpsilon;
  }

  private norm(m: Model, site: LayerNormSite): gpt2.Norm {
    if (site === 'ln_f') return m.lnF;
    const [, layer, which] = /^h\.(\d+)\.(ln_[12])$/.exec(site)!;
    const w = m.layers[Number(layer)]!;
    return which === 'ln_1' ? w.ln1 : w.ln2;
  }

  protected async computeEmbed(ids: Tensor, pastLength: number): Promise<Tensor> {
    const m = await this.ready();
    return read(tf.tidy(() => gpt2.embed(tf.tensor2d(ids.data as Int32Array, ids.shape as [number, number], 'int32'), m.wte, m.wpe, pastLength)));
  }

  protected async computeLayerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    const m = await this.ready();
    return read(tf.tidy(() => gpt2.layerNorm(input(x), this.norm(m, site), this.eps)));
  }

  protected async computeAttention(x: Tensor, layer: number, trace: boolean): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    const m = await this.ready();
    const H = this.config.nHead;
    const a = tf.tidy(() => gpt2.attention(input(x), m.layers[layer]!.attn, H));
    if (!trace) {
      tf.dispose([a.query, a.key, a.value, a.scores, a.weights, a.context]);
      return { output: await read(a.output) };
    }
    const [output, query, key, value, scores, weights, context] = await readAll([a.output, a.query, a.key, a.value, a.scores, a.weights, a.context]);
    return { output: output!, trace: { query, key, value, scores, weights, context } };
  }

  protected async computeMlp(x: Tensor, layer: number): Promise<Tensor> {
    const m = await this.ready();
    return read(tf.tidy(() => gpt2.mlp(input(x), m.layers[layer]!.mlp)));
  }

  protected async computeBlock(x: Tensor, layer: number): Promise<Tensor> {
    const m = await this.ready();
    const H = this.config.nHead;
    return read(tf.tidy(() => gpt2.block(input(x), m.layers[layer]!, H, this.eps).output));
  }

  protected async computeLmHead(x: Tensor): Promise<Tensor> {
    const m = await this.ready();
    return read(tf.tidy(() => gpt2.lmHead(input(x), m.wte, m.wteT)));
  }

  protected async computeForward(ids: Tensor, past: KvCache | undefined, pastLength: number): Promise<{ logits: Tensor; present: KvCache }> {
    const m = await this.ready();
    const { nHead: H } = this.config;
    const eps = this.eps;
    const kept: tf.Tensor[] = []; // what survives the blocks' tidies, to dispose if a later step fails
    try {
      let h = tf.tidy(() => gpt2.embed(tf.tensor2d(ids.data as Int32Array, ids.shape as [number, number], 'int32'), m.wte, m.wpe, pastLength)); // [B,T,D]
      kept.push(h);
      const keys: tf.Tensor[] = [];
      const values: tf.Tensor[] = [];
      for (let layer = 0; layer < m.layers.length; layer++) {
        // One tidy per block, so that a block's intermediates are freed before the next block runs.
        const x = h;
        const out = tf.tidy(() => {
          const cached = past && { key: input(past.keys[layer]!) as tf.Tensor4D, value: input(past.values[layer]!) as tf.Tensor4D };
          return gpt2.block(x, m.layers[layer]!, H, eps, cached);
        });
        kept.push(out.output, out.key, out.value);
        x.dispose();
        h = out.output; // [B,T,D]
        keys.push(out.key); // [B,H,Tp+T,Dh]
        values.push(out.value); // [B,H,Tp+T,Dh]
      }
      const last = h;
      const logits = tf.tidy(() => gpt2.lmHead(gpt2.layerNorm(last, m.lnF, eps), m.wte, m.wteT)); // [B,T,D] -> [B,T,V]
      last.dispose();
      kept.length = 0; // readAll disposes the rest
      const [out, ...cache] = await readAll([logits, ...keys, ...values]);
      return { logits: out!, present: { keys: cache.slice(0, keys.length), values: cache.slice(keys.length) } };
    } finally {
      tf.dispose(kept);
    }
  }
}

/** A contract tensor as a float32 tf tensor (float64 input is rounded to float32). */
function input(t: Tensor): tf.Tensor {
  return tf.tensor(toFloat32(t).data, [...t.shape], 'float32');
}

/** Copies a tf tensor out to a contract tensor and disposes it. */
async function read(t: tf.Tensor): Promise<Tensor> {
  return (await readAll([t]))[0]!;
}

/** Copies tf tensors out to contract tensors and disposes them all, whether or not the reads succeed. */
async function readAll(ts: tf.Tensor[]): Promise<Tensor[]> {
  try {
    const data = await Promise.all(ts.map((t) => t.data<'float32'>()));
    // A copy: the cpu backend hands out the very array it computed into.
    return ts.map((t, i) => ({ dtype: 'float32' as const, shape: [...t.shape], data: new Float32Array(data[i]!) }));
  } finally {
    tf.dispose(ts);
  }
}

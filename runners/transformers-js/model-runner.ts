/**
 * What the transformers.js runners share, in Node (runner.ts: the library's Node build on onnxruntime-node)
 * and in a browser page (runners/browser/adapters/transformers-js.ts: its web build on onnxruntime-web):
 * the check of the model folder's config against the checkpoint's, the forward's inputs as the library's
 * generate() builds them, and its outputs as the contract's tensors. No Node module is imported here, so
 * that a page bundle can use it; where the folder is and how the library is loaded is each runner's own.
 *
 * forward(ids, past) hands transformers.js what its generate() hands it: input_ids, an attention_mask of
 * ones over past + new tokens and position_ids (int64 Tensors of the library), and, after the first step, the
 * cache as the library's DynamicCache of `past_key_values.{i}.key/value` tensors. On the first step no cache
 * is passed: transformers.js builds the empty one itself, from the ONNX file's input shapes. The outputs
 * `present.{i}.key/value` [B,H,P+T,Dh] are the contract's cache (on WebGPU downloaded from the GPU buffers
 * the library leaves them in).
 */
import type * as TransformersJs from '@huggingface/transformers';
import type { PreTrainedModel, Tensor as LibraryTensor } from '@huggingface/transformers';
import type { Gpt2Config, Gpt2Weights, KvCache, Tensor } from '../contract';
import { CheckpointError } from '../errors';
import { fromMainRealm, toMainRealm } from '../realm';
import { headSize } from '../validate';
import { parseConfig } from '../weights/config';
import { WholeModelRunner } from '../whole-model-runner';

export type Library = typeof TransformersJs;

/** A model folder's config.json, in the contract's words, checked as a checkpoint's config is (parseConfig); it must be a gpt2 one. */
export function folderConfigOf(json: unknown, source: string): Gpt2Config {
  // AutoModelForCausalLM picks the model class by model_type; parseConfig refuses a file that is not an object.
  const modelType = typeof json === 'object' && json !== null ? (json as { model_type?: unknown }).model_type : 'gpt2';
  if (modelType !== 'gpt2') throw new CheckpointError(`${source}: model_type is ${JSON.stringify(modelType)}, not "gpt2"`);
  return parseConfig(json, source);
}

export abstract class TransformersJsModelRunner extends WholeModelRunner {
  private lib?: Library;
  private model?: PreTrainedModel;

  /** The folder's config (config.json), read wherever the folder is. */
  protected abstract folderConfig(): Gpt2Config | Promise<Gpt2Config>;
  /** The folder as the refusal of another model names it. */
  protected abstract get shownFolder(): string;
  /** The library, and its GPT2LMHeadModel loaded from the folder. */
  protected abstract openModel(): Promise<{ lib: Library; model: PreTrainedModel }>;

  /** transformers.js's own model object (GPT2LMHeadModel), for what the contract does not cover, e.g. its generate(). */
  get libraryModel(): PreTrainedModel {
    void this.config; // throws when load() has not run or dispose() has
    return this.model!;
  }

  /** transformers.js itself, as this runner loaded it (its Tensor class, its env). */
  get library(): Library {
    void this.config;
    return this.lib!;
  }

  protected async loadWeights(weights: Gpt2Weights): Promise<void> {
    await this.release();
    const theirs = await this.folderConfig();
    const ours = weights.config;
    this.refuseOtherModels(`transformers.js runs only the model of ${this.shownFolder}`, {
      layers: [theirs.nLayer, ours.nLayer],
      heads: [theirs.nHead, ours.nHead],
      n_embd: [theirs.nEmbd, ours.nEmbd],
      vocab: [theirs.vocabSize, ours.vocabSize],
      n_positions: [theirs.nPositions, ours.nPositions],
      layer_norm_epsilon: [theirs.layerNormEpsilon, ours.layerNormEpsilon],
    });
    const { lib, model } = await this.openModel();
    this.model = model;
    this.lib = lib;
  }

  protected async release(): Promise<void> {
    const m = this.model;
    this.model = undefined;
    this.lib = undefined;
    await m?.dispose();
  }

  /** An int64 tensor of the library. */
  private int64(values: ArrayLike<number>, dims: number[]): LibraryTensor {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
    return new this.lib!.Tensor('int64', toMainRealm(data), dims);
  }

  /** A float32 tensor of the library, from a contract tensor (float64 and int32 are converted). */
  private float32(t: Tensor): LibraryTensor {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    return new this.lib!.Tensor('float32', toMainRealm(data), [...t.shape]);
  }

  protected async computeForward(ids: Tensor, past: KvCache | undefined, pastLength: number): Promise<{ logits: Tensor; present: KvCache }> {
    const lib = this.lib!;
    const [B, T] = ids.shape as [number, number];
    const inputs: Record<string, unknown> = {
      input_ids: this.int64(ids.data, [B, T]),
      attention_mask: this.int64(new Int32Array(B * (pastLength + T)).fill(1), [B, pastLength + T]),
      position_ids: this.int64(Int32Array.from({ length: B * T }, (_, i) => pastLength + (i % T)), [B, T]),
    };
    if (past) {
      const entries: Record<string, LibraryTensor> = {};
      past.keys.forEach((k, i) => {
        entries[`past_key_values.${i}.key`] = this.float32(k);
        entries[`past_key_values.${i}.value`] = this.float32(past.values[i]!);
      });
      inputs.past_key_values = new lib.DynamicCache(entries);
    }
    const out = (await this.model!.forward(inputs)) as Record<string, LibraryTensor | undefined>;
    const { nLayer, nHead: H } = this.config;
    const Dh = headSize(this.config);
    const tensor = async (name: string, shape: number[]): Promise<Tensor> => {
      const t = out[name];
      if (!t) throw new Error(`transformers.js returned no '${name}' (it returned ${Object.keys(out).join(', ')})`);
      if (t.type !== 'float32') throw new Error(`transformers.js returned '${name}' as ${t.type}, not float32`);
      const dims = [...t.dims];
      if (dims.length !== shape.length || dims.some((d, i) => d !== shape[i])) {
        throw new Error(`transformers.js returned '${name}' of shape [${dims.join(', ')}], not [${shape.join(', ')}]`);
      }
      // On WebGPU the library keeps the cache's outputs in GPU buffers (for its generate()): downloaded, and the buffer released.
      const data = t.location === 'cpu' ? t.data : await t.ort_tensor.getData(true);
      return { dtype: 'float32', shape, data: fromMainRealm(data as Float32Array) };
    };
    const presentShape = [B, H, pastLength + T, Dh];
    const layers = (kind: 'key' | 'value') => Promise.all(Array.from({ length: nLayer }, (_, i) => tensor(`present.${i}.${kind}`, presentShape)));
    return { logits: await tensor('logits', [B, T, this.config.vocabSize]), present: { keys: await layers('key'), values: await layers('value') } };
  }
}

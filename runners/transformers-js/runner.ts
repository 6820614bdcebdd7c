/**
 * The transformers.js runner: gpt2-mini as transformers.js runs it, through its own model class
 * (AutoModelForCausalLM -> GPT2LMHeadModel) and its own forward, from the folder
 * fixtures/transformers-js/gpt2-mini (scripts/fixtures/transformers_js.py writes it: the fixture model's
 * config.json and its torch.onnx.export decoder as onnx/model.onnx).
 *
 * forward(ids, past) hands transformers.js what its generate() hands it: input_ids, an attention_mask of
 * ones over past + new tokens and position_ids (int64 Tensors of the library), and, after the first step, the
 * cache as the library's DynamicCache of `past_key_values.{i}.key/value` tensors. On the first step no cache
 * is passed: transformers.js builds the empty one itself, from the ONNX file's input shapes. The outputs
 * `present.{i}.key/value` [B,H,P+T,Dh] are the contract's cache. The components are inside the ONNX graph,
 * so every other method throws NotExposedError; greedy generation follows from forward (runners/generate.ts).
 *
 * The folder holds one model; load() refuses another (compared by config) with a NotExposedError that names
 * the difference. The weights themselves are the ONNX file's: load() does not read the checkpoint's tensors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PreTrainedModel, Tensor as LibraryTensor } from '@huggingface/transformers';
import type { Gpt2Config, Gpt2Weights, KvCache, Tensor } from '../contract';
import { WholeModelRunner } from '../whole-model-runner';
import { CheckpointError } from '../errors';
import { fixturesRoot, packageRoot } from '../paths';
import { fromMainRealm, toMainRealm } from '../realm';
import { headSize } from '../validate';
import { parseConfig } from '../weights/checkpoint';
import { type Library, libraryVersions, loadLibrary } from './library';

/** The folder the runner loads by default: fixtures/transformers-js/gpt2-mini. */
export const defaultModelFolder = (): string => join(fixturesRoot(), 'transformers-js', 'gpt2-mini');

/** What config.json says, in the contract's words, checked as a checkpoint's config is (parseConfig); it must be a gpt2 one. */
export function folderConfig(folder: string): Gpt2Config {
  const path = join(folder, 'config.json');
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing (run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  // AutoModelForCausalLM picks the model class by model_type; parseConfig refuses a file that is not an object.
  const modelType = typeof json === 'object' && json !== null ? (json as { model_type?: unknown }).model_type : 'gpt2';
  if (modelType !== 'gpt2') throw new CheckpointError(`${path}: model_type is ${JSON.stringify(modelType)}, not "gpt2"`);
  return parseConfig(json, path);
}

/** from_pretrained reads env.localModelPath after awaiting; loads are queued so that two never mix folders. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs `load` with env.localModelPath set to the folder's parent; returns what it returns, one load at a time. */
export function fromFolder<T>(lib: Library, folder: string, load: (id: string) => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    lib.env.localModelPath = `${dirname(resolve(folder))}/`;
    return load(basename(folder));
  });
  queue = run.catch(() => undefined);
  return run;
}

/** A folder as messages show it: relative to the checkout when inside it. */
function shown(folder: string): string {
  try {
    const rel = relative(packageRoot(), folder);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
  } catch {
    return folder;
  }
}

export interface TransformersJsRunnerOptions {
  /** The model folder (default fixtures/transformers-js/gpt2-mini). */
  folder?: string;
}

export class TransformersJsRunner extends WholeModelRunner {
  readonly name = 'transformers.js';
  readonly folder: string;
  private lib?: Library;
  private model?: PreTrainedModel;

  constructor(opts: TransformersJsRunnerOptions = {}) {
    super();
    this.folder = resolve(opts.folder ?? defaultModelFolder());
  }

  get backend(): string {
    const v = libraryVersions();
    return `transformers.js ${v.transformersJs} (AutoModelForCausalLM, its own forward), onnxruntime-node ${v.onnxruntime} cpu fp32, ${basename(this.folder)}/onnx/model.onnx`;
  }

  protected get wholeModel(): string {
    return `${basename(this.folder)}/onnx/model.onnx`;
  }

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
    const theirs = folderConfig(this.folder);
    const ours = weights.config;
    this.refuseOtherModels(`transformers.js runs only the model of ${shown(this.folder)}`, {
      layers: [theirs.nLayer, ours.nLayer],
      heads: [theirs.nHead, ours.nHead],
      n_embd: [theirs.nEmbd, ours.nEmbd],
      vocab: [theirs.vocabSize, ours.vocabSize],
      n_positions: [theirs.nPositions, ours.nPositions],
      layer_norm_epsilon: [theirs.layerNormEpsilon, ours.layerNormEpsilon],
    });
    const onnx = join(this.folder, 'onnx', 'model.onnx');
    if (!existsSync(onnx)) throw new CheckpointError(`${onnx}: missing (run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures)`);
    const lib = loadLibrary();
    this.model = await fromFolder(lib, this.folder, (id) =>
      lib.AutoModelForCausalLM.from_pretrained(id, { local_files_only: true, dtype: 'fp32', device: 'cpu' }),
    );
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
    const tensor = (name: string, shape: number[]): Tensor => {
      const t = out[name];
      if (!t) throw new Error(`transformers.js returned no '${name}' (it returned ${Object.keys(out).join(', ')})`);
      if (t.type !== 'float32') throw new Error(`transformers.js returned '${name}' as ${t.type}, not float32`);
      const dims = [...t.dims];
      if (dims.length !== shape.length || dims.some((d, i) => d !== shape[i])) {
        throw new Error(`transformers.js returned '${name}' of shape [${dims.join(', ')}], not [${shape.join(', ')}]`);
      }
      return { dtype: 'float32', shape, data: fromMainRealm(t.data as Float32Array) };
    };
    const presentShape = [B, H, pastLength + T, Dh];
    return {
      logits: tensor('logits', [B, T, this.config.vocabSize]),
      present: {
        keys: Array.from({ length: nLayer }, (_, i) => tensor(`present.${i}.key`, presentShape)),
        values: Array.from({ length: nLayer }, (_, i) => tensor(`present.${i}.value`, presentShape)),
      },
    };
  }
}

export function createTransformersJsRunner(opts: TransformersJsRunnerOptions = {}): TransformersJsRunner {
  return new TransformersJsRunner(opts);
}

/**
 * The external ONNX runner: runs a GPT-2 decoder .onnx file that someone else exported (e.g. with
 * torch.onnx.export from HF's GPT2LMHeadModel, or Optimum), as it is. It reads the file's input and
 * output names instead of assuming them, feeds what the layout asks for (input_ids; attention_mask of
 * ones; position_ids; the past keys and values, empty on the first step) and implements forward() only:
 * the components are inside the file and cannot be called one by one.
 * Its sessions are made with the onnx runner's settings (session.ts: threads, optimization level 'all',
 * prepacking, the arena); its nodes are never rewritten into ours, as the point is to run their graph.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Gpt2Weights, KvCache, Tensor } from '../contract';
import { WholeModelRunner } from '../whole-model-runner';
import { CheckpointError } from '../errors';
import { headSize } from '../validate';
import type { FloatType } from './graph';
import { backendString, createSession, floatTensor, fromOrt, idsTensor, OnnxModelError, ortTensor, resolveThreads, type RunnerSessionOptions } from './session';
import { fixturesRoot } from '../paths';

/** The file's inputs and outputs, as the runner understood them. */
export interface DecoderLayout {
  ids: { name: string; type: 'int64' | 'int32' };
  attentionMask?: { name: string; type: 'int64' | 'int32' };
  positionIds?: { name: string; type: 'int64' | 'int32' };
  past: { key: string; value: string }[];
  present: { key: string; value: string }[];
  logits: string;
  /** The float type of the cache. */
  cacheType: FloatType;
  /** What the file fixes: heads and head size from the past inputs, vocab from logits (undefined when symbolic). */
  nHead?: number;
  headSize?: number;
  vocabSize?: number;
}

const KNOWN = 'input_ids, optional attention_mask and position_ids, past_key_values.{i}.key / past_key_values.{i}.value; outputs logits, present.{i}.key / present.{i}.value';

type Meta = InferenceSession.ValueMetadata;

function intType(m: Meta | undefined, name: string, file: string): 'int64' | 'int32' {
  const t = m && m.isTensor ? m.type : undefined;
  if (t !== 'int64' && t !== 'int32') throw new OnnxModelError(`${file}: input '${name}' is ${t ?? 'not a tensor'}, expected int64 or int32`);
  return t;
}

/** Reads a decoder layout from the names and metadata of a session; throws OnnxModelError naming what is missing or unknown. */
export function readLayout(inputs: readonly Meta[], outputs: readonly Meta[], file: string): DecoderLayout {
  const inputNames = inputs.map((m) => m.name);
  const outputNames = outputs.map((m) => m.name);
  const input = (n: string) => inputs.find((m) => m.name === n);
  if (!inputNames.includes('input_ids')) {
    throw new OnnxModelError(`${file}: the model has no input 'input_ids' (its inputs: ${inputNames.join(', ') || 'none'}); a GPT-2 decoder layout this runner knows has ${KNOWN}`);
  }
  const pastIdx = new Map<number, { key?: string; value?: string }>();
  for (const name of inputNames) {
    if (name === 'input_ids' || name === 'attention_mask' || name === 'position_ids') continue;
    const m = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
    if (!m) throw new OnnxModelError(`${file}: input '${name}' is not one this runner knows how to feed (it knows ${KNOWN})`);
    const entry = pastIdx.get(Number(m[1])) ?? {};
    entry[m[2] as 'key' | 'value'] = name;
    pastIdx.set(Number(m[1]), entry);
  }
  const nLayer = pastIdx.size;
  if (nLayer === 0) throw new OnnxModelError(`${file}: the model has no input 'past_key_values.0.key': forward() needs a decoder exported with its KV cache (${KNOWN})`);
  const past: { key: string; value: string }[] = [];
  const present: { key: string; value: string }[] = [];
  for (let i = 0; i < nLayer; i++) {
    for (const kind of ['key', 'value'] as const) {
      if (!pastIdx.get(i)?.[kind]) throw new OnnxModelError(`${file}: the model has no input 'past_key_values.${i}.${kind}' (its inputs: ${inputNames.join(', ')})`);
      if (!outputNames.includes(`present.${i}.${kind}`)) throw new OnnxModelError(`${file}: the model has no output 'present.${i}.${kind}' (its outputs: ${outputNames.join(', ')})`);
    }
    past.push({ key: `past_key_values.${i}.key`, value: `past_key_values.${i}.value` });
    present.push({ key: `present.${i}.key`, value: `present.${i}.value` });
  }
  if (!outputNames.includes('logits')) throw new OnnxModelError(`${file}: the model has no output 'logits' (its outputs: ${outputNames.join(', ')})`);
  const key0 = input('past_key_values.0.key')!;
  const cacheType = key0.isTensor ? key0.type : undefined;
  if (cacheType !== 'float32' && cacheType !== 'float64') throw new OnnxModelError(`${file}: input 'past_key_values.0.key' is ${cacheType ?? 'not a tensor'}; this runner feeds float32 or float64 caches`);
  const fixed = (m: Meta | undefined, axis: number): number | undefined => {
    const d = m && m.isTensor ? m.shape[axis] : undefined;
    return typeof d === 'number' && d > 0 ? d : undefined;
  };
  const optional = (n: string) => (inputNames.includes(n) ? { name: n, type: intType(input(n), n, file) } : undefined);
  return {
    ids: { name: 'input_ids', type: intType(input('input_ids'), 'input_ids', file) },
    attentionMask: optional('attention_mask'),
    positionIds: optional('position_ids'),
    past,
    present,
    logits: 'logits',
    cacheType,
    nHead: fixed(key0, 1),
    headSize: fixed(key0, 3),
    vocabSize: fixed(outputs.find((m) => m.name === 'logits'), 2),
  };
}

/** The default external model: the manifest's "onnx" entry, else fixtures/onnx/gpt2-mini.onnx. */
export function defaultExternalModel(): string {
  const fixtures = fixturesRoot();
  const manifestPath = join(fixtures, 'manifest.json');
  if (existsSync(manifestPath)) {
    try {
      const onnx = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { onnx?: { external?: Record<string, { file?: string }> } }).onnx;
      const models = onnx?.external ?? {};
      const entry = models['gpt2-mini'] ?? Object.values(models)[0];
      if (entry?.file) return join(fixtures, entry.file);
    } catch {
      // an unreadable manifest is the spec's to report; fall back to the default file
    }
  }
  return join(fixtures, 'onnx', 'gpt2-mini.onnx');
}

export class ExternalOnnxRunner extends WholeModelRunner {
  readonly name = 'onnx-external';
  readonly threads: number;
  private session?: InferenceSession;
  private layout?: DecoderLayout;

  constructor(
    readonly path: string = defaultExternalModel(),
    private readonly opts: RunnerSessionOptions = {},
  ) {
    super();
    this.threads = resolveThreads(opts.threads);
  }

  get backend(): string {
    return `${backendString(this.layout?.cacheType ?? 'float32', this.threads)}, ${basename(this.path)} as exported`;
  }

  protected get wholeModel(): string {
    return basename(this.path);
  }

  /** The layout read from the file at load(). */
  get decoderLayout(): DecoderLayout | undefined {
    return this.layout;
  }

  protected async loadWeights(weights: Gpt2Weights): Promise<void> {
    await this.release();
    if (!existsSync(this.path)) throw new CheckpointError(`${this.path}: no such ONNX file`);
    const session = await this.openSession();
    try {
      const layout = readLayout(session.inputMetadata, session.outputMetadata, basename(this.path));
      const c = weights.config;
      this.refuseOtherModels(`${basename(this.path)} was exported from another model`, {
        layers: [layout.past.length, c.nLayer],
        heads: [layout.nHead, c.nHead],
        'head size': [layout.headSize, headSize(c)],
        vocab: [layout.vocabSize, c.vocabSize],
      });
      this.session = session;
      this.layout = layout;
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /**
   * A session on the file, given to ORT by its path so that external data beside it is found (a location is
   * relative to the model's folder); a file ONNX Runtime cannot parse is an OnnxModelError naming it, with
   * ORT's error as the cause.
   */
  private async openSession(): Promise<InferenceSession> {
    try {
      return await createSession(this.path, this.threads, [], { prepack: this.opts.prepack, arena: this.opts.arena });
    } catch (e) {
      throw new OnnxModelError(`${this.path}: ONNX Runtime cannot load it as a model (${(e as Error).message})`, { cause: e });
    }
  }

  protected async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.layout = undefined;
    await s?.release();
  }

  protected async computeForward(ids: Tensor, past: KvCache | undefined, pastLength: number): Promise<{ logits: Tensor; present: KvCache }> {
    const layout = this.layout!;
    const [B, T] = ids.shape as [number, number];
    const feeds: Record<string, OrtTensor> = { [layout.ids.name]: idsTensor(ids, layout.ids.type) };
    if (layout.attentionMask) {
      feeds[layout.attentionMask.name] = idsTensor({ data: new Int32Array(B * (pastLength + T)).fill(1), shape: [B, pastLength + T] }, layout.attentionMask.type);
    }
    if (layout.positionIds) {
      const positions = Int32Array.from({ length: B * T }, (_, i) => pastLength + (i % T));
      feeds[layout.positionIds.name] = idsTensor({ data: positions, shape: [B, T] }, layout.positionIds.type);
    }
    const { nHead: H } = this.config;
    const Dh = headSize(this.config);
    const Array_ = layout.cacheType === 'float32' ? Float32Array : Float64Array;
    const empty = ortTensor(layout.cacheType, new Array_(0), [B, H, 0, Dh]);
    layout.past.forEach((p, i) => {
      feeds[p.key] = past ? floatTensor(past.keys[i]!, layout.cacheType) : empty;
      feeds[p.value] = past ? floatTensor(past.values[i]!, layout.cacheType) : empty;
    });
    const out = await this.session!.run(feeds, [layout.logits, ...layout.present.flatMap((p) => [p.key, p.value])]);
    return {
      logits: fromOrt(out[layout.logits], layout.logits),
      present: { keys: layout.present.map((p) => fromOrt(out[p.key], p.key)), values: layout.present.map((p) => fromOrt(out[p.value], p.value)) },
    };
  }
}

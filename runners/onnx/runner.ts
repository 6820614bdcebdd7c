/**
 * The ONNX runner: the whole contract on onnxruntime-node's CPU execution provider, on standard ONNX
 * graphs built in memory from the weights (gpt2-graph.ts). forward() runs the full decoder with its KV
 * cache; each component method runs a small graph of its own, built on first use and kept.
 * Precision 'float32' runs float32 graphs; 'float64' casts the weights and runs every node in double.
 */
import { dirname } from 'node:path';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { AttentionTrace, Gpt2Weights, KvCache, LayerNormSite, Tensor } from '../contract';
import { BaseRunner } from '../base-runner';
import { BackendError, Gpt2SpecError } from '../errors';
import { checkCache, checkIds, headSize } from '../validate';
import { ATTENTION_TRACE, componentGraph, type ComponentKey, decoderGraph, decoderNames, type GraphContext, type LmHeadLayout } from './gpt2-graph';
import type { FloatType } from './graph';
import { checkUnchanged, type FileStamp } from '../weights/stored';
import { backendString, createSession, OnnxSettingsError, floatTensor, fromOrt, idsTensor, ORT_VERSION, ortTensor, resolveThreads, type RunnerSessionOptions } from './session';

export interface OnnxRunnerOptions extends RunnerSessionOptions {
  precision: FloatType;
  /** How the LM head multiplies by wteᵀ (see docs/onnx.md); 'gemm' unless measured otherwise. */
  lmHead?: LmHeadLayout;
  /**
   * Hand the weights to ORT as external data beside a weightless ModelProto (default true): no copy of the
   * weights in the proto's buffer, and no 2 GB protobuf limit. false embeds them as raw_data.
   */
  externalData?: boolean;
  /** The execution provider (session.ts); default 'cpu'. 'webgpu' exists only in onnxruntime-web, in a page. */
  executionProvider?: 'cpu' | 'webgpu';
  /**
   * With externalData, ORT reads the weights in place from the checkpoint file they were loaded from
   * (loadCheckpoint's weights; see docs/onnx.md), so that the runner holds no copy of its own; default true.
   */
  inPlace?: boolean;
  /** forward() on ORT's fused contrib operators (fused-graph.ts); float32 only, default true there. */
  contrib?: boolean;
}

/** The ModelProto bytes of a graph, with what made it. */
export function modelBytes(c: GraphContext, what: string): Uint8Array {
  return c.g.toBytes({
    producerVersion: '0.1.0',
    docString: `GPT-2 ${what}, built by gpt2-spec from the weights`,
    metadata: { 'gpt2-spec.graph': what, 'gpt2-spec.precision': c.type, 'gpt2-spec.built-for': `onnxruntime ${ORT_VERSION}` },
  });
}

/** The full decoder graph for a checkpoint as a standard .onnx file's bytes (what scripts/export-onnx.ts writes). */
export function exportDecoder(weights: Gpt2Weights, precision: FloatType = 'float32', opts: { lmHead?: LmHeadLayout } = {}): Uint8Array {
  return modelBytes(decoderGraph(weights, { type: precision, lmHead: opts.lmHead }), 'decoder');
}

export class OnnxRunner extends BaseRunner {
  readonly name: string;
  readonly backend: string;
  readonly threads: number;
  private readonly type: FloatType;
  private weights?: Gpt2Weights;
  private decoder?: InferenceSession;
  private readonly components = new Map<ComponentKey, Promise<InferenceSession>>();
  /** The checkpoint file the sessions read weights from in place, checked unchanged before each run. */
  private inFile?: { path: string; stamp: FileStamp };
  /** Seconds spent building graph bytes and creating the decoder session at the last load (for the benchmark). */
  lastLoad = { buildSeconds: 0, sessionSeconds: 0, bytes: 0 };

  constructor(private readonly opts: OnnxRunnerOptions) {
    super();
    this.type = opts.precision;
    this.name = opts.precision === 'float64' ? 'onnx64' : 'onnx';
    this.threads = resolveThreads(opts.threads);
    if (opts.contrib && opts.precision !== 'float32') throw new OnnxSettingsError(`the contrib option needs precision float32: ORT's fused kernels are float32 only`);
    this.backend = backendString(opts.precision, this.threads);
  }

  /** How many ORT sessions the runner holds: the decoder and each component graph built so far. */
  get sessionCount(): number {
    return (this.decoder ? 1 : 0) + this.components.size;
  }

  private graphOptions(contrib = false) {
    return { type: this.type, lmHead: this.opts.lmHead, externalData: this.opts.externalData ?? true, inPlace: this.opts.inPlace ?? true, contrib };
  }

  /** Whether the decoder reads its weights in place from the checkpoint file (docs/onnx.md). */
  get readsInPlace(): boolean {
    return this.inFile !== undefined;
  }

  /**
   * A session on a graph: its ModelProto bytes, and its weights beside them when they are external, or in
   * the checkpoint file when read in place (checked unchanged first: ORT maps the file, it does not copy it).
   */
  private createSession(c: GraphContext, what: string): { bytes: Uint8Array; session: Promise<InferenceSession> } {
    const bytes = modelBytes(c, what);
    if (c.inFile) {
      checkUnchanged(c.inFile.path, c.inFile.stamp, `the ${this.name} runner`);
      this.inFile = c.inFile;
    }
    const settings = { prepack: this.opts.prepack, arena: this.opts.arena, externalFolder: c.inFile && dirname(c.inFile.path), executionProvider: this.opts.executionProvider };
    return { bytes, session: createSession(bytes, this.threads, c.g.externalData(), settings) };
  }

  /**
   * Before a session runs: the file it maps must be the one that was checked. A file written to since
   * would be read as it is now, and one truncated would crash the process (SIGBUS) instead of failing.
   */
  private checkFile(): void {
    if (this.inFile) checkUnchanged(this.inFile.path, this.inFile.stamp, `the ${this.name} runner`);
  }

  protected async loadWeights(weights: Gpt2Weights): Promise<void> {
    await this.release();
    const t0 = performance.now();
    const { bytes, session } = this.createSession(decoderGraph(weights, { ...this.graphOptions(this.opts.contrib ?? this.type === 'float32'), logitsIndex: true }), 'decoder');
    const t1 = performance.now();
    this.decoder = await session;
    const t2 = performance.now();
    this.lastLoad = { buildSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000, bytes: bytes.length };
    this.weights = weights;
  }

  protected async release(): Promise<void> {
    const sessions = [this.decoder, ...(await Promise.all([...this.components.values()].map((p) => p.catch(() => undefined))))];
    this.decoder = undefined;
    this.weights = undefined;
    this.inFile = undefined;
    this.components.clear();
    for (const s of sessions) await s?.release();
  }

  /** The session of one component graph, built on first use. */
  private component(key: ComponentKey): Promise<InferenceSession> {
    let s = this.components.get(key);
    if (!s) {
      s = this.createSession(componentGraph(key, this.weights!, this.graphOptions()), key).session;
      s.catch(() => this.components.delete(key)); // a failed build is retried on the next call
      this.components.set(key, s);
    }
    return s;
  }

  private async runComponent(key: ComponentKey, feeds: Record<string, OrtTensor>, fetch: string[] = ['output']) {
    const session = await this.component(key);
    this.checkFile();
    return session.run(feeds, fetch);
  }

  private hidden(x: Tensor) {
    return { x: floatTensor(x, this.type) };
  }

  protected async computeEmbed(ids: Tensor, pastLength: number): Promise<Tensor> {
    const out = await this.runComponent('embed', { input_ids: idsTensor(ids), position_ids: positionIds(ids.shape[0]!, ids.shape[1]!, pastLength) });
    return fromOrt(out.output, 'output');
  }

  protected async computeLayerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    return fromOrt((await this.runComponent(`layerNorm:${site}`, this.hidden(x))).output, 'output');
  }

  protected async computeAttention(x: Tensor, layer: number, trace: boolean): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    const fetch = trace ? ['output', ...ATTENTION_TRACE] : ['output'];
    const out = await this.runComponent(`attention:${layer}`, this.hidden(x), fetch);
    const output = fromOrt(out.output, 'output');
    if (!trace) return { output };
    return { output, trace: Object.fromEntries(ATTENTION_TRACE.map((f) => [f, fromOrt(out[f], f)])) as AttentionTrace };
  }

  protected async computeMlp(x: Tensor, layer: number): Promise<Tensor> {
    return fromOrt((await this.runComponent(`mlp:${layer}`, this.hidden(x))).output, 'output');
  }

  protected async computeBlock(x: Tensor, layer: number): Promise<Tensor> {
    return fromOrt((await this.runComponent(`block:${layer}`, this.hidden(x))).output, 'output');
  }

  protected async computeLmHead(x: Tensor): Promise<Tensor> {
    return fromOrt((await this.runComponent('lmHead', this.hidden(x))).output, 'output');
  }

  protected computeForward(ids: Tensor, past: KvCache | undefined, pastLength: number): Promise<{ logits: Tensor; present: KvCache }> {
    return this.runDecoder(ids, past, pastLength, false);
  }

  /**
   * forward() with the logits of the last position only, [B,1,V], and the full present: all that greedy
   * decoding reads (runners/generate.ts uses it when a runner has it). It skips the LM head, a quarter of
   * GPT-2 small's work, on every prompt position but the last. Not part of the contract (docs/onnx.md).
   */
  async forwardLastLogits(ids: Tensor, past?: KvCache): Promise<{ logits: Tensor; present: KvCache }> {
    const config = this.config;
    checkIds(ids, config);
    const pastLength = checkCache(past, config, ids.shape[0]!, ids.shape[1]!);
    checkIds(ids, config, pastLength);
    try {
      return await this.runDecoder(ids, past, pastLength, true);
    } catch (e) {
      if (e instanceof Gpt2SpecError) throw e;
      throw new BackendError(`${this.name} forwardLastLogits`, e);
    }
  }

  private async runDecoder(ids: Tensor, past: KvCache | undefined, pastLength: number, lastOnly: boolean): Promise<{ logits: Tensor; present: KvCache }> {
    const { nLayer, nHead: H } = this.config;
    const [B, T] = ids.shape as [number, number];
    const positions = lastOnly ? [T - 1] : Array.from({ length: T }, (_, t) => t);
    const feeds: Record<string, OrtTensor> = {
      input_ids: idsTensor(ids),
      position_ids: positionIds(B, T, pastLength),
      logits_index: ortTensor('int64', BigInt64Array.from(positions, BigInt), [positions.length]),
    };
    const empty = emptyPast(this.type, B, H, headSize(this.config));
    for (let i = 0; i < nLayer; i++) {
      feeds[`past_key_values.${i}.key`] = past ? floatTensor(past.keys[i]!, this.type) : empty;
      feeds[`past_key_values.${i}.value`] = past ? floatTensor(past.values[i]!, this.type) : empty;
    }
    this.checkFile();
    const out = await this.decoder!.run(feeds, decoderNames(nLayer).outputs);
    const present: KvCache = { keys: [], values: [] };
    for (let i = 0; i < nLayer; i++) {
      present.keys.push(fromOrt(out[`present.${i}.key`], `present.${i}.key`));
      present.values.push(fromOrt(out[`present.${i}.value`], `present.${i}.value`));
    }
    return { logits: fromOrt(out.logits, 'logits'), present };
  }
}

/** position_ids int64 [B,T]: pastLength + t. */
export function positionIds(B: number, T: number, pastLength: number): OrtTensor {
  const data = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) data[b * T + t] = BigInt(pastLength + t);
  return ortTensor('int64', data, [B, T]);
}

/** An empty past [B,H,0,Dh]: the first step's cache. */
export function emptyPast(type: FloatType, B: number, H: number, Dh: number): OrtTensor {
  return ortTensor(type, type === 'float32' ? new Float32Array(0) : new Float64Array(0), [B, H, 0, Dh]);
}

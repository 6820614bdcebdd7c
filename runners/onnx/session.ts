/**
 * What every ONNX runner shares: ORT's session settings, the thread count, the backend string, and
 * conversions between the contract's Tensor and ORT's.
 */
import { availableParallelism } from 'node:os';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Tensor } from '../contract';
import { CheckpointError, Gpt2SpecError } from '../errors';
import type { ExternalData, FloatType } from './graph';
import { fromMainRealm, toMainRealm } from '../realm';
import { ort } from './ort';

/** A setting the ONNX runners cannot use, e.g. GPT2_ONNX_THREADS=zero. */
export class OnnxSettingsError extends Gpt2SpecError {}

/** An .onnx file that ONNX Runtime cannot load, or whose inputs and outputs are not a GPT-2 decoder layout this runner knows. */
export class OnnxModelError extends CheckpointError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

/** Intra-op threads: the option, else GPT2_ONNX_THREADS, else the number of cores. */
export function resolveThreads(option?: number, env = process.env.GPT2_ONNX_THREADS): number {
  const fromEnv = env !== undefined && env.trim() !== '';
  const value = option ?? (fromEnv ? Number(env) : availableParallelism());
  if (!Number.isInteger(value) || value < 1) {
    const source = option !== undefined ? 'the threads option' : 'GPT2_ONNX_THREADS';
    throw new OnnxSettingsError(`${source} must be a whole number ≥ 1, got ${JSON.stringify(option ?? env)}`);
  }
  return value;
}

/**
 * The session settings every ONNX runner takes from its caller (createOnnxRunner, createExternalOnnxRunner),
 * turned into ORT's options by sessionOptions() for both alike.
 */
export interface RunnerSessionOptions {
  /** Intra-op threads; default GPT2_ONNX_THREADS, else the core count. */
  threads?: number;
  /** ORT's weight prepacking (SessionSettings); default true. */
  prepack?: boolean;
  /** ORT's CPU memory arena (SessionSettings); default true. */
  arena?: boolean;
}

/** How a session is made beyond its thread count. */
export interface SessionSettings {
  /**
   * Let kernels repack constant weights into their own layout at load (ORT's default). The packed copy sits
   * beside the weights that other nodes still read, and the buffers it frees stay in the process's heap, so
   * false keeps the runner's memory at one copy of the weights (docs/onnx.md measures both).
   */
  prepack?: boolean;
  /** ORT's CPU memory arena for activations (its default, on); false allocates and frees each one (docs/onnx.md measures both). */
  arena?: boolean;
  /** The folder of the files that external data names by location (a model given as bytes has none of its own). */
  externalFolder?: string;
  /** The execution provider: 'cpu' (onnxruntime-node's, or the web build's wasm), or the web build's 'webgpu'. */
  executionProvider?: 'cpu' | 'webgpu';
}

/** Graph optimisation 'all', the CPU execution provider, one session thread pool of `threads`. */
export function sessionOptions(threads: number, settings: SessionSettings = {}): InferenceSession.SessionOptions {
  const session: Record<string, string> = {};
  if (settings.prepack === false) session.disable_prepacking = '1';
  if (settings.externalFolder !== undefined) session.model_external_initializers_file_folder_path = settings.externalFolder;
  return {
    ...(Object.keys(session).length > 0 ? { extra: { session } } : {}),
    ...(settings.arena === false ? { enableCpuMemArena: false } : {}),
    executionProviders: [settings.executionProvider ?? 'cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // ORT's own log would print each run error once more; the error itself reaches the caller, wrapped.
    logSeverityLevel: 4,
  };
}

export const backendString = (precision: string, threads: number) =>
  `onnxruntime-node ${ORT_VERSION} cpu ${precision} (${threads} thread${threads === 1 ? '' : 's'})`;

/** Token ids as ORT int64 (or int32) of the same shape. */
export function idsTensor(ids: Tensor | { data: ArrayLike<number>; shape: readonly number[] }, type: 'int64' | 'int32' = 'int64'): OrtTensor {
  const data = type === 'int64' ? BigInt64Array.from(ids.data as ArrayLike<number>, (v) => BigInt(v)) : Int32Array.from(ids.data as ArrayLike<number>);
  return new ort.Tensor(type, toMainRealm(data), [...ids.shape]);
}

/** A tensor for ORT from a typed array of this realm (see runners/realm.ts). */
export function ortTensor(type: 'float32' | 'float64' | 'int64', data: Float32Array | Float64Array | BigInt64Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor(type, toMainRealm(data) as Float32Array, [...dims]);
}

/**
 * A session on model bytes, with the bytes of the initializers they keep outside (graph.ts), if any; or on a
 * .onnx file's path, whose external data ORT finds in the file's folder.
 */
export function createSession(model: Uint8Array | string, threads: number, externalData: readonly ExternalData[] = [], settings: SessionSettings = {}): Promise<InferenceSession> {
  const options = sessionOptions(threads, settings);
  if (externalData.length > 0) options.externalData = externalData.map((f) => ({ path: f.path, data: toMainRealm(f.data) }));
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(toMainRealm(model), options);
}

/** A float tensor in the given type for ORT: the same buffer when the dtype matches, else a rounded copy. */
export function floatTensor(t: Tensor, type: FloatType): OrtTensor {
  const Array_ = type === 'float32' ? Float32Array : Float64Array;
  const data = t.data instanceof Array_ ? t.data : Array_.from(t.data);
  return ortTensor(type, data, t.shape);
}

/** An ORT float output as a contract Tensor (ORT hands back JavaScript-owned buffers, so no copy is needed). */
export function fromOrt(t: OrtTensor | undefined, what: string): Tensor {
  if (!t) throw new Error(`ONNX Runtime returned no '${what}'`);
  if (t.type !== 'float32' && t.type !== 'float64') throw new Error(`'${what}' is ${t.type}, not float32 or float64`);
  return { dtype: t.type, shape: Array.from(t.dims, Number), data: fromMainRealm(t.data as Float32Array | Float64Array) };
}

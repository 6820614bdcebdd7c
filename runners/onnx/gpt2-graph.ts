/**
 * GPT-2 as ONNX graphs, built from a Gpt2Weights with standard operators at one opset (graph.ts):
 * one small graph per contract method, and the full decoder with a KV cache under the I/O names that
 * Optimum and transformers.js use. Every function here adds nodes to a GraphBuilder and returns the
 * names of what it computed; the comments give each value's shape.
 *   B batch, T new tokens, P cached tokens, S = P + T, D n_embd, H heads, Dh = D / H, V vocab.
 */
import { basename } from 'node:path';
import type { Gpt2Config, Gpt2Weights } from '../contract';
import { type FileStamp, type StoredTensor, storedTensor } from '../weights/stored';
import { headSize } from '../validate';
import { fusedBlocks } from './fused-graph';
import { bytesOf, type ExternalDataSink, type FloatType, GraphBuilder } from './graph';

/**
 * How the LM head multiplies by wteᵀ; both store the tied matrix once. See docs/onnx.md for the measurements.
 *   'gemm'    wte [V,D] as HF stores it: the embedding Gathers rows, the head is Gemm(x, wte, transB=1) on [B·T, D]
 *             (FusedMatMul(x, wte, transB=1) on [B,T,D] in the fused graph).
 *   'matmul'  wteᵀ [D,V] instead: the head is MatMul(x, wteᵀ), the embedding Gathers columns (axis 1) and transposes.
 */
export type LmHeadLayout = 'gemm' | 'matmul';

export interface GraphOptions {
  type: FloatType;
  /** Default 'gemm'. */
  lmHead?: LmHeadLayout;
  /** Keep the weights outside the ModelProto, as external data handed to ORT beside it (graph.ts). Default false. */
  externalData?: boolean;
  /**
   * With externalData, let ORT read the weights in place from the checkpoint file they were loaded from
   * (runners/weights/stored.ts): when the file stores every one in the graph's type at an aligned offset,
   * and the LM head is 'gemm' (wteᵀ would be a copy). All or none: ORT takes a session's external data
   * either from files or from memory, not both. Default false.
   */
  inPlace?: boolean;
  /**
   * Write each weight to this file as it is added (an export's side file), and have its initializer name
   * the bytes there: the graph never holds the weights, only where they went. Overrides externalData and inPlace.
   */
  externalFile?: ExternalDataSink;
  /** The decoder's blocks on ORT's fused contrib operators (fused-graph.ts); float32 only. Default false. */
  contrib?: boolean;
  /**
   * An extra decoder input, logits_index int64 [N]: the positions whose logits are computed, logits [B,N,V].
   * forward() feeds every position; greedy decoding only the last (OnnxRunner.forwardLastLogits). Default false.
   */
  logitsIndex?: boolean;
}

/** The safetensors dtype whose bytes a graph of this type reads as they are. */
const IN_PLACE_DTYPE = { float32: 'F32', float64: 'F64' } as const;

/**
 * The one file that holds all the weights so that ORT can use their bytes as they are: each stored in the
 * graph's type (F16 and BF16 need converting) at an offset aligned to its element. Else undefined.
 */
function wholeFileInPlace(weights: Gpt2Weights, type: FloatType): { path: string; stamp: FileStamp } | undefined {
  const size = type === 'float32' ? 4 : 8;
  let file: StoredTensor | undefined;
  for (const name of weights.names()) {
    const s = storedTensor(weights, name);
    if (!s || s.dtype !== IN_PLACE_DTYPE[type] || s.offset % size !== 0) return undefined;
    if (file && (s.path !== file.path || s.stamp !== file.stamp)) return undefined;
    file = s;
  }
  return file && { path: file.path, stamp: file.stamp };
}

/** The weights one graph reads, each added as an initializer the first time a node uses it. */
export class GraphContext {
  readonly g: GraphBuilder;
  readonly config: Gpt2Config;
  readonly type: FloatType;
  readonly lmHeadLayout: LmHeadLayout;
  private readonly external: boolean;
  private readonly sink?: ExternalDataSink;
  /** The checkpoint file ORT reads the weights from in place, if it does, and the version of it they were checked in. */
  readonly inFile?: { path: string; stamp: FileStamp };
  readonly contrib: boolean;
  private readonly added = new Set<string>();
  private mask?: string;

  constructor(
    name: string,
    private readonly weights: Gpt2Weights,
    opts: GraphOptions,
  ) {
    this.g = new GraphBuilder(name);
    this.config = weights.config;
    this.type = opts.type;
    this.lmHeadLayout = opts.lmHead ?? 'gemm';
    this.external = opts.externalData ?? false;
    this.sink = opts.externalFile;
    if (this.external && !this.sink && opts.inPlace && this.lmHeadLayout === 'gemm') this.inFile = wholeFileInPlace(weights, this.type);
    this.contrib = opts.contrib ?? false;
    if (this.contrib && this.type !== 'float32') throw new Error(`graph ${name}: ORT's contrib operators are used in float32 graphs only`);
  }

  /**
   * The initializer holding a weight, in the graph's float type: a reference to its bytes in the checkpoint
   * file when the graph reads in place, else its data (referenced when it is of the graph's type, else converted once).
   */
  w(name: string): string {
    if (this.added.has(name)) return name;
    const stored = this.inFile && storedTensor(this.weights, name);
    if (stored) {
      this.g.fileInitializer(name, this.type, stored.shape, basename(stored.path), { offset: stored.offset, length: stored.length });
      this.added.add(name);
      return name;
    }
    const t = this.weights.get(name);
    const Array_ = this.type === 'float32' ? Float32Array : Float64Array;
    return this.add(name, t.shape, t.data instanceof Array_ ? t.data : Array_.from(t.data));
  }

  /** A weight's initializer from its data: written to the sink, or held (as external data in memory, or raw_data). */
  private add(name: string, dims: readonly number[], data: Float32Array | Float64Array): string {
    if (this.sink) this.g.fileInitializer(name, this.type, dims, this.sink.location, this.sink.write(name, bytesOf(data)));
    else this.g.initializer(name, this.type, dims, data, { external: this.external });
    this.added.add(name);
    return name;
  }

  /** The tied embedding as wteᵀ [D,V] (the 'matmul' layout), transposed once here. */
  wteT(): string {
    const name = 'wte.weight.T';
    if (this.added.has(name)) return name;
    const wte = this.weights.get('wte.weight');
    const [V, D] = wte.shape as [number, number];
    const out = this.type === 'float32' ? new Float32Array(V * D) : new Float64Array(V * D);
    for (let v = 0; v < V; v++) for (let d = 0; d < D; d++) out[d * V + v] = wte.data[v * D + d]!;
    return this.add(name, [D, V], out);
  }

  /** The causal mask [T,S] for the scores of queries `q` [B,H,T,Dh] against keys `k` [B,H,S,Dh], built once per graph. */
  causalMask(q: string, k: string): string {
    if (this.mask) return this.mask;
    const g = this.g;
    const T = g.op('Shape', [q], { start: { int: 2 }, end: { int: 3 } }, 'mask.T'); // [1]
    const S = g.op('Shape', [k], { start: { int: 2 }, end: { int: 3 } }, 'mask.S'); // [1]
    const size = g.op('Concat', [T, S], { axis: { int: 0 } }, 'mask.shape'); // [2] = (T, S)
    const ones = g.op('ConstantOfShape', [size], { value: { tensor: { name: 'one', type: 'bool', dims: [1], bytes: Uint8Array.of(1) } } }, 'mask.ones'); // [T,S]
    const past = g.op('Squeeze', [g.op('Sub', [S, T], {}, 'mask.P'), g.int64([0])], {}, 'mask.k'); // scalar P = S − T
    // Query t sits at position P + t: it sees keys s ≤ P + t, the lower triangle from diagonal P on.
    this.mask = g.op('Trilu', [ones, past], { upper: { int: 0 } }, 'causal_mask'); // [T,S] bool
    return this.mask;
  }
}

/** x · W + b, with W in HF's Conv1D [in,out] layout: [..., in] -> [..., out]. */
function linear(c: GraphContext, x: string, prefix: string, out: string): string {
  const g = c.g;
  return g.op('Add', [g.op('MatMul', [x, c.w(`${prefix}.weight`)], {}, `${out}.matmul`), c.w(`${prefix}.bias`)], {}, out);
}

/** wte[ids] + wpe[positions]: ids, positions int64 [B,T] -> [B,T,D]. */
export function embedding(c: GraphContext, ids: string, positions: string): string {
  const g = c.g;
  const tokens =
    c.lmHeadLayout === 'matmul'
      ? g.op('Transpose', [g.op('Gather', [c.wteT(), ids], { axis: { int: 1 } }, 'embed.tokens.dbt')], { perm: { ints: [1, 2, 0] } }, 'embed.tokens') // [D,B,T] -> [B,T,D]
      : g.op('Gather', [c.w('wte.weight'), ids], { axis: { int: 0 } }, 'embed.tokens'); // [B,T,D]
  const places = g.op('Gather', [c.w('wpe.weight'), positions], { axis: { int: 0 } }, 'embed.positions'); // [B,T,D]
  return g.op('Add', [tokens, places], {}, 'embed.output');
}

/**
 * LayerNormalization over the last axis with the site's γ and β: [B,T,D] -> [B,T,D].
 * Its epsilon is a float attribute, so ε = 1e-5 becomes 1e-5 − 2.5e-13. In float32 that is far below
 * rounding; in float64 it moves rows whose variance is near ε by ~1e-8 relative, several times the
 * float64 tolerance. LN is scale-invariant apart from ε: LN(s·x; s²ε) = LN(x; ε). So the float64 graph
 * multiplies x by s = √(fround(ε)/ε) (1 − 1.3e-8) and runs LayerNormalization with epsilon fround(ε),
 * which the attribute holds exactly: the effective ε is ε to within a few ulps.
 */
export function layerNorm(c: GraphContext, x: string, site: string): string {
  const g = c.g;
  const eps = c.config.layerNormEpsilon;
  const eps32 = Math.fround(eps);
  const input = c.type === 'float64' && eps32 !== eps ? g.op('Mul', [x, g.scalar(Math.sqrt(eps32 / eps), c.type)], {}, `${site}.input.scaled`) : x;
  const attrs = { axis: { int: -1 }, epsilon: { float: eps32 } };
  return g.op('LayerNormalization', [input, c.w(`${site}.weight`), c.w(`${site}.bias`)], attrs, `${site}.output`);
}

export interface AttentionValues {
  query: string; // [B,H,T,Dh]
  key: string; // [B,H,S,Dh], the cache included: the present key
  value: string; // [B,H,S,Dh]
  scores: string; // [B,H,T,S] before the mask
  weights: string; // [B,H,T,S]
  context: string; // [B,T,D]
  output: string; // [B,T,D]
}

/**
 * q · kᵀ / √Dh: q [B,H,T,Dh], kᵀ [B,H,Dh,S] -> [B,H,T,S]. In float32, (q · kᵀ) / √Dh in that order, as HF's
 * eager attention computes it (ORT folds the Div into its FusedMatMul's alpha). In float64 that fold would
 * round 1/√Dh to float32 (alpha is a float attribute; 2.7e-8 off for Dh = 32), so q is divided by √Dh
 * first, by a [Dh] vector, which ORT does not fold.
 */
function scaledScores(c: GraphContext, query: string, keyT: string, p: string): string {
  const g = c.g;
  const Dh = headSize(c.config);
  if (c.type === 'float32') return g.op('Div', [g.op('MatMul', [query, keyT], {}, `${p}.qk`), g.scalar(Math.sqrt(Dh), c.type)], {}, `${p}.scores`);
  const scaled = g.op('Div', [query, g.filled(Math.sqrt(Dh), [Dh], c.type)], {}, `${p}.query.scaled`); // [B,H,T,Dh]
  return g.op('MatMul', [scaled, keyT], {}, `${p}.scores`);
}

/** Causal self-attention of one layer on x [B,T,D], after an optional cache past.key/value [B,H,P,Dh]. */
export function attention(c: GraphContext, x: string, layer: number, past?: { key: string; value: string }): AttentionValues {
  const g = c.g;
  const { nEmbd: D, nHead: H } = c.config;
  const Dh = headSize(c.config);
  const p = `h.${layer}.attn`;
  const qkv = linear(c, x, `${p}.c_attn`, `${p}.qkv`); // [B,T,3D]
  const [q, k, v] = g.node('Split', [qkv, g.int64([D, D, D])], { axis: { int: -1 } }, [`${p}.q`, `${p}.k`, `${p}.v`]) as [string, string, string]; // 3 × [B,T,D]
  const heads = (t: string, name: string) => g.op('Transpose', [g.op('Reshape', [t, g.int64([0, 0, H, Dh])], {}, `${name}.bthd`)], { perm: { ints: [0, 2, 1, 3] } }, name); // [B,T,D] -> [B,H,T,Dh]
  const query = heads(q, `${p}.query`);
  let key = heads(k, past ? `${p}.key.new` : `${p}.key`);
  let value = heads(v, past ? `${p}.value.new` : `${p}.value`);
  if (past) {
    key = g.op('Concat', [past.key, key], { axis: { int: 2 } }, `${p}.key`); // [B,H,S,Dh]
    value = g.op('Concat', [past.value, value], { axis: { int: 2 } }, `${p}.value`); // [B,H,S,Dh]
  }
  const keyT = g.op('Transpose', [key], { perm: { ints: [0, 1, 3, 2] } }, `${p}.keyT`); // [B,H,Dh,S]
  const scores = scaledScores(c, query, keyT, p); // [B,H,T,S]
  const masked = g.op('Where', [c.causalMask(query, key), scores, g.scalar(-Infinity, c.type)], {}, `${p}.masked`); // [B,H,T,S]
  const weights = g.op('Softmax', [masked], { axis: { int: -1 } }, `${p}.weights`); // [B,H,T,S]
  const mixed = g.op('MatMul', [weights, value], {}, `${p}.mixed`); // [B,H,T,Dh]
  const context = g.op('Reshape', [g.op('Transpose', [mixed], { perm: { ints: [0, 2, 1, 3] } }, `${p}.bthd`), g.int64([0, 0, D])], {}, `${p}.context`); // [B,T,D]
  const output = linear(c, context, `${p}.c_proj`, `${p}.output`); // [B,T,D]
  return { query, key, value, scores, weights, context, output };
}

/**
 * GPT-2's GELU, the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). In float32 it is the
 * Gelu operator (approximate='tanh'). In float64 it is spelled out with Mul, Add and Tanh, in the order HF's
 * gelu_new computes it: ORT 1.30's CPU Gelu kernel for double is off by up to 5.8e-9 (absolute, near
 * x = −4.8), six times the float64 atol, while its Tanh is within 6e-16 (docs/onnx.md).
 */
export function gelu(c: GraphContext, x: string, out: string): string {
  const g = c.g;
  if (c.type === 'float32') return g.op('Gelu', [x], { approximate: { string: 'tanh' } }, out);
  const k = (v: number) => g.scalar(v, c.type);
  const cube = g.op('Mul', [g.op('Mul', [x, x], {}, `${out}.x2`), x], {}, `${out}.x3`);
  const inner = g.op('Mul', [k(Math.sqrt(2 / Math.PI)), g.op('Add', [x, g.op('Mul', [k(0.044715), cube], {}, `${out}.cx3`)], {}, `${out}.sum`)], {}, `${out}.inner`);
  const onePlus = g.op('Add', [k(1), g.op('Tanh', [inner], {}, `${out}.tanh`)], {}, `${out}.one_plus`);
  return g.op('Mul', [g.op('Mul', [k(0.5), x], {}, `${out}.half_x`), onePlus], {}, out);
}

/** The feed-forward network: c_fc, Gelu (tanh), c_proj. [B,T,D] -> [B,T,4D] -> [B,T,D]. */
export function mlp(c: GraphContext, x: string, layer: number): string {
  const p = `h.${layer}.mlp`;
  const hidden = linear(c, x, `${p}.c_fc`, `${p}.hidden`); // [B,T,4D]
  const activation = gelu(c, hidden, `${p}.activation`); // [B,T,4D]
  return linear(c, activation, `${p}.c_proj`, `${p}.output`); // [B,T,D]
}

/** One pre-LayerNorm block: r = x + attn(ln_1(x)); out = r + mlp(ln_2(r)). Returns the output and the layer's present key/value. */
export function block(c: GraphContext, x: string, layer: number, past?: { key: string; value: string }) {
  const g = c.g;
  const a = attention(c, layerNorm(c, x, `h.${layer}.ln_1`), layer, past);
  const residual = g.op('Add', [x, a.output], {}, `h.${layer}.residual`); // [B,T,D]
  const output = g.op('Add', [residual, mlp(c, layerNorm(c, residual, `h.${layer}.ln_2`), layer)], {}, `h.${layer}.output`); // [B,T,D]
  return { output, key: a.key, value: a.value };
}

/** logits = x · wteᵀ, the head tied to wte (stored once): [B,T,D] -> [B,T,V]. */
export function lmHead(c: GraphContext, x: string): string {
  const g = c.g;
  const { nEmbd: D, vocabSize: V } = c.config;
  if (c.lmHeadLayout === 'matmul') return g.op('MatMul', [x, c.wteT()], {}, 'logits.raw'); // [B,T,D] · [D,V]
  const wte = c.w('wte.weight'); // [V,D]
  // ORT's FusedMatMul takes wte as it is (transB) and [B,T,D] whole: the logits land in the output, where
  // Gemm's 2-D result needed a Reshape that copies all B·T·V of them (70 ms of a T = 1024 forward).
  if (c.contrib) return c.g.contrib('FusedMatMul', [x, wte], { transB: { int: 1 } }, ['logits.raw'])[0]!; // [B,T,D] · [V,D]ᵀ
  const rows = g.op('Reshape', [x, g.int64([-1, D])], {}, 'lm_head.rows'); // [B·T,D]
  const flat = g.op('Gemm', [rows, wte], { transB: { int: 1 } }, 'lm_head.flat'); // [B·T,V]
  const bt = g.op('Shape', [x], { start: { int: 0 }, end: { int: 2 } }, 'lm_head.bt'); // [2] = (B, T)
  return g.op('Reshape', [flat, g.op('Concat', [bt, g.int64([V])], { axis: { int: 0 } }, 'lm_head.shape')], {}, 'logits.raw'); // [B,T,V]
}

// ------------------------------------------------------------------------------------------------ graphs

/** The Optimum / transformers.js names of the decoder's inputs and outputs. */
export const decoderNames = (nLayer: number) => ({
  inputs: ['input_ids', 'position_ids', ...Array.from({ length: nLayer }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat()],
  outputs: ['logits', ...Array.from({ length: nLayer }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat()],
});

/** The blocks and ln_f on standard operators: the ln_f output [B,T,D] and each layer's present key and value. */
function standardBlocks(c: GraphContext, embedded: string, pasts: { key: string; value: string }[]) {
  let h = embedded; // [B,T,D]
  const presents: { key: string; value: string }[] = [];
  for (let i = 0; i < c.config.nLayer; i++) {
    const b = block(c, h, i, pasts[i]);
    h = b.output;
    presents.push(b);
  }
  return { lnF: layerNorm(c, h, 'ln_f'), presents };
}

/**
 * The whole model with a KV cache: input_ids and position_ids int64 [B,T], past_key_values.{i}.key/value
 * [B,H,P,Dh] (P = 0 on the first step) -> logits [B,T,V] and present.{i}.key/value [B,H,P+T,Dh].
 */
export function decoderGraph(weights: Gpt2Weights, opts: GraphOptions): GraphContext {
  const c = new GraphContext('gpt2-decoder', weights, opts);
  const g = c.g;
  const { nLayer, nHead: H, vocabSize: V } = weights.config;
  const Dh = headSize(weights.config);
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const pasts = Array.from({ length: nLayer }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, c.type, ['batch_size', H, 'past_sequence_length', Dh]),
    value: g.input(`past_key_values.${i}.value`, c.type, ['batch_size', H, 'past_sequence_length', Dh]),
  }));
  const { lnF, presents } = c.contrib ? fusedBlocks(c, embedding(c, ids, positions), pasts) : standardBlocks(c, embedding(c, ids, positions), pasts);
  // [B,T,D] -> [B,N,D]: the positions asked for, when the graph takes logits_index.
  const picked = opts.logitsIndex ? g.op('Gather', [lnF, g.input('logits_index', 'int64', ['logits_length'])], { axis: { int: 1 } }, 'ln_f.picked') : lnF;
  g.output('logits', lmHead(c, picked), c.type, ['batch_size', opts.logitsIndex ? 'logits_length' : 'sequence_length', V]);
  presents.forEach((p, i) => {
    g.output(`present.${i}.key`, p.key, c.type, ['batch_size', H, 'total_sequence_length', Dh]);
    g.output(`present.${i}.value`, p.value, c.type, ['batch_size', H, 'total_sequence_length', Dh]);
  });
  return c;
}

/** The graphs behind the contract's component methods, one per method and layer or site. */
export type ComponentKey = 'embed' | 'lmHead' | `layerNorm:${string}` | `attention:${number}` | `mlp:${number}` | `block:${number}`;

export const ATTENTION_TRACE = ['query', 'key', 'value', 'scores', 'weights', 'context'] as const;

export function componentGraph(key: ComponentKey, weights: Gpt2Weights, opts: GraphOptions): GraphContext {
  const c = new GraphContext(`gpt2-${key.replace(':', '-')}`, weights, opts);
  const g = c.g;
  const { nEmbd: D, nHead: H, vocabSize: V } = weights.config;
  const Dh = headSize(weights.config);
  const [kind, arg] = key.split(':') as [string, string | undefined];
  const hidden = () => g.input('x', c.type, ['batch_size', 'sequence_length', D]);
  const bt = ['batch_size', 'sequence_length'];
  switch (kind) {
    case 'embed': {
      const ids = g.input('input_ids', 'int64', bt);
      const positions = g.input('position_ids', 'int64', bt);
      g.output('output', embedding(c, ids, positions), c.type, [...bt, D]);
      break;
    }
    case 'layerNorm':
      g.output('output', layerNorm(c, hidden(), arg!), c.type, [...bt, D]);
      break;
    case 'attention': {
      const a = attention(c, hidden(), Number(arg));
      g.output('output', a.output, c.type, [...bt, D]);
      // The trace: extra outputs, fetched only when asked for.
      for (const f of ['query', 'key', 'value'] as const) g.output(f, a[f], c.type, ['batch_size', H, 'sequence_length', Dh]);
      for (const f of ['scores', 'weights'] as const) g.output(f, a[f], c.type, ['batch_size', H, 'sequence_length', 'sequence_length']);
      g.output('context', a.context, c.type, [...bt, D]);
      break;
    }
    case 'mlp':
      g.output('output', mlp(c, hidden(), Number(arg)), c.type, [...bt, D]);
      break;
    case 'block':
      g.output('output', block(c, hidden(), Number(arg)).output, c.type, [...bt, D]);
      break;
    case 'lmHead':
      g.output('output', lmHead(c, hidden()), c.type, [...bt, V]);
      break;
    default:
      throw new Error(`no component graph '${key}'`);
  }
  return c;
}

/**
 * The mutation catalogue: the reference runner with one realistic bug each, across every building block,
 * in float64 and in float32. The float32 variant plants the same bug in the naive float32 reference
 * (./float32.ts) and returns float32 tensors, so that the float32 tolerances judge it.
 * `gpt2-spec mutants` runs the spec on each and prints the kill matrix; spec/90 runs each on the test
 * that kills it most cheaply (cheapest-kills.json, written by that command).
 */
import type { Gpt2Runner } from '../../../runners/contract';
import { ReferenceRunner, referenceOps, type ReferenceOps } from '../../../runners/reference/runner';
import { overrideMethods } from '../override';
import { Float32ReferenceRunner, float32Ops, toFloat32Values } from './float32';
import * as bug from './bugs';

export type Precision = 'float64' | 'float32';
export const PRECISIONS: readonly Precision[] = ['float64', 'float32'];

export interface Mutant {
  name: string;
  /** The building block the bug is in, as the docs group them. */
  block: string;
  bug: string;
  /** The ops it swaps, given the correct ops of its precision and that precision's rounding. */
  ops?: (base: ReferenceOps, round: (v: number) => number) => Partial<ReferenceOps>;
  /** A bug outside the ops: in what the runner returns. */
  wrap?: (r: Gpt2Runner) => Gpt2Runner;
  /** Why a precision cannot detect it, with the effect measured; that precision is not expected to kill it. */
  undetectable?: Partial<Record<Precision, string>>;
}

const id = (x: number) => x;

export const MUTANTS: Mutant[] = [
  // LayerNorm
  { name: 'ln-unbiased-variance', block: 'LayerNorm', bug: 'the variance divided by D − 1', ops: () => ({ layerNorm: bug.layerNormWith({ unbiased: true }) }) },
  { name: 'ln-eps-outside-sqrt', block: 'LayerNorm', bug: '(x − mean) / (√var + ε) instead of / √(var + ε)', ops: () => ({ layerNorm: bug.layerNormWith({ epsOutside: true }) }) },
  { name: 'ln-no-eps', block: 'LayerNorm', bug: 'no ε: a constant row divides 0 by 0', ops: () => ({ layerNorm: bug.layerNormWith({ eps: 0 }) }) },
  { name: 'ln-no-mean', block: 'LayerNorm', bug: 'the mean not subtracted (an RMSNorm)', ops: () => ({ layerNorm: bug.layerNormWith({ noMean: true }) }) },
  { name: 'ln-no-beta', block: 'LayerNorm', bug: 'β left out', ops: () => ({ layerNorm: bug.layerNormWith({ noBeta: true }) }) },
  // Attention: the scale
  { name: 'no-attention-scale', block: 'attention: scale', bug: 'scores not scaled by 1/√d_head', ops: (b) => ({ scores: (q, k, s, S) => b.scores(q, k, s, S).map((v) => v * Math.sqrt(s.Dh)) }) },
  { name: 'scale-by-1/d_head', block: 'attention: scale', bug: 'scores scaled by 1/d_head', ops: (b) => ({ scores: (q, k, s, S) => b.scores(q, k, s, S).map((v) => v / Math.sqrt(s.Dh)) }) },
  { name: 'scale-by-1/sqrt(d_model)', block: 'attention: scale', bug: 'scores scaled by 1/√D', ops: (b) => ({ scores: (q, k, s, S) => b.scores(q, k, s, S).map((v) => v / Math.sqrt(s.H)) }) },
  // Attention: the mask
  { name: 'no-causal-mask', block: 'attention: mask', bug: 'no causal mask: every position sees the future', ops: () => ({ causalMask: (x) => x.slice() }) },
  { name: 'mask-sees-next-token', block: 'attention: mask', bug: 'the mask starts one key late: each query sees the next token', ops: () => ({ causalMask: bug.maskFrom((t, T, S) => S - T + t + 2) }) },
  { name: 'mask-ignores-past', block: 'attention: mask', bug: 'the mask counts positions from the call, not from the cache: after a cache, queries miss past keys', ops: () => ({ causalMask: bug.maskFrom((t) => t + 1) }) },
  // Attention: the softmax
  { name: 'naive-softmax', block: 'attention: softmax', bug: 'exp without subtracting the row max: overflows past 88.7 (float32) or 709.8 (float64)', ops: (_b, round) => ({ softmax: bug.naiveSoftmax(round) }) },
  { name: 'softmax-over-queries', block: 'attention: softmax', bug: 'the softmax over the wrong axis (the queries)', ops: (b) => ({ softmax: bug.onColumns(b.softmax) }) },
  // Attention: heads, the q/k/v split, biases
  { name: 'heads-interleaved', block: 'attention: heads', bug: 'heads split as [Dh, H] instead of [H, Dh]', ops: () => ({ splitHeads: bug.interleavedSplit }) },
  { name: 'merge-heads-interleaved', block: 'attention: heads', bug: 'heads merged as [Dh, H] instead of [H, Dh]', ops: () => ({ mergeHeads: bug.interleavedMerge }) },
  { name: 'query-key-swapped', block: 'attention: q/k/v split', bug: "c_attn's first third taken as the key, the second as the query", ops: () => ({ qkvThirds: [1, 0, 2] }) },
  { name: 'key-value-swapped', block: 'attention: q/k/v split', bug: "c_attn's second and third thirds swapped", ops: () => ({ qkvThirds: [0, 2, 1] }) },
  { name: 'no-c-attn-bias', block: 'attention: biases', bug: "c_attn's bias left out", ops: (b) => ({ linear: bug.zeroBiasAt(b.linear, 'attn.c_attn') }) },
  { name: 'no-attn-c-proj-bias', block: 'attention: biases', bug: "attention's c_proj bias left out", ops: (b) => ({ linear: bug.zeroBiasAt(b.linear, 'attn.c_proj') }) },
  // GELU and the feed-forward network
  { name: 'erf-gelu', block: 'GELU', bug: "the exact erf GELU instead of GPT-2's tanh one", ops: () => ({ gelu: bug.erfGelu }) },
  {
    name: 'gelu-constant-4th-digit',
    block: 'GELU',
    bug: 'the cubic coefficient 0.04472 for 0.044715',
    ops: () => ({ gelu: bug.geluWith(0.04472) }),
    undetectable: { float32: 'the coefficient is off by 5·10⁻⁶, which moves the GELU by about as much as float32 rounds it' },
  },
  { name: 'relu', block: 'GELU', bug: 'ReLU instead of GELU', ops: () => ({ gelu: (x) => x.map((v) => Math.max(0, v)) }) },
  { name: 'sigmoid-gelu', block: 'GELU', bug: 'the sigmoid GELU x·σ(1.702x)', ops: () => ({ gelu: (x) => x.map((v) => v / (1 + Math.exp(-1.702 * v))) }) },
  { name: 'no-mlp-c-fc-bias', block: 'feed-forward: biases', bug: "c_fc's bias left out", ops: (b) => ({ linear: bug.zeroBiasAt(b.linear, 'mlp.c_fc') }) },
  { name: 'no-mlp-c-proj-bias', block: 'feed-forward: biases', bug: "the MLP's c_proj bias left out", ops: (b) => ({ linear: bug.zeroBiasAt(b.linear, 'mlp.c_proj') }) },
  // Residuals and the order of LayerNorm
  { name: 'no-attention-residual', block: 'block: residuals', bug: 'x + attn(ln_1(x)) without the x', ops: () => ({ block: (x, p) => { const r = p.attention(p.ln1(x)); return p.add(r, p.feedForward(p.ln2(r))); } }) },
  { name: 'no-mlp-residual', block: 'block: residuals', bug: 'r + mlp(ln_2(r)) without the r', ops: () => ({ block: (x, p) => p.feedForward(p.ln2(p.add(x, p.attention(p.ln1(x))))) }) },
  { name: 'post-ln', block: 'block: LayerNorm order', bug: 'post-LN: LayerNorm after each residual addition, not before each sublayer', ops: () => ({ block: (x, p) => { const r = p.ln1(p.add(x, p.attention(x))); return p.ln2(p.add(r, p.feedForward(r))); } }) },
  { name: 'ln-2-reuses-ln-1', block: 'block: LayerNorm order', bug: "ln_2 computed with ln_1's γ and β", ops: () => ({ block: (x, p) => referenceOps.block(x, { ...p, ln2: p.ln1 }) }) },
  { name: 'no-final-ln', block: 'LM head', bug: 'the LM head applied without ln_f', ops: () => ({ head: (x, _lnF, logits) => logits(x) }) },
  // Embeddings and positions
  { name: 'positions-off-by-one', block: 'embedding: positions', bug: 'token t reads wpe[pastLength + t + 1]', ops: () => ({ position: (p, t) => p + t + 1 }) },
  { name: 'positions-ignore-past', block: 'embedding: positions, with a cache', bug: 'after a cache, positions restart at 0', ops: () => ({ position: (_p, t) => t }) },
  { name: 'positions-past-counted-twice', block: 'embedding: positions, with a cache', bug: 'after a cache, token t reads wpe[2·pastLength + t]', ops: () => ({ position: (p, t) => 2 * p + t }) },
  // The cache
  { name: 'cache-new-before-past', block: 'cache: order', bug: 'the new keys and values put before the past ones', ops: () => ({ concatSequence: bug.newBeforePast }) },
  { name: 'cache-drops-past', block: 'cache: contents', bug: 'the returned cache holds only the new tokens', ops: () => ({ cacheOut: bug.withoutPast }) },
  { name: 'cache-keys-values-swapped', block: 'cache: contents', bug: 'the returned cache has the keys and the values swapped', ops: () => ({ cacheOut: (u) => ({ key: u.value, value: u.key }) }) },
  // Batch rows
  { name: 'batch-and-heads-transposed', block: 'batch rows', bug: 'heads laid out [H, B] instead of [B, H]: the rows of a batch mix', ops: () => ({ splitHeads: bug.headsFirstSplit, mergeHeads: bug.headsFirstMerge }) },
  // The LM head and the trace
  { name: 'logits-softmaxed', block: 'LM head', bug: 'forward returns probabilities, not logits', wrap: (r) => overrideMethods(r, { forward: async (ids, past) => bug.softmaxedLogits(await r.forward(ids, past)) }) },
  { name: 'trace-scores-masked', block: 'trace fields', bug: 'trace.scores reported after the mask (−∞ above the diagonal)', wrap: (r) => bug.withTrace(r, 'scores', bug.masked) },
  { name: 'trace-context-unmerged', block: 'trace fields', bug: 'trace.context reported in the [B,H,T,Dh] layout', wrap: (r) => bug.withTrace(r, 'context', bug.unmerged) },
  // Generation
  { name: 'cached-forward-ignores-past', block: 'generation', bug: 'forward(ids, past) ignores the cache', wrap: (r) => overrideMethods(r, { forward: (ids) => r.forward(ids) }) },
];

export const mutantNames = (): string[] => MUTANTS.map((m) => m.name);

export function mutantByName(name: string): Mutant {
  const m = MUTANTS.find((x) => x.name === name);
  if (!m) throw new Error(`no mutant '${name}' in the catalogue (${mutantNames().join(', ')})`);
  return m;
}

/** The name a mutant runner reports, and that test titles carry: mutant:NAME/PRECISION. */
export const mutantRunnerName = (name: string, precision: Precision): string => `mutant:${name}/${precision}`;

/** Each op of a float32 variant returns float32 values, whatever arithmetic its planted bug was written in. */
function roundedOps(ops: Partial<ReferenceOps>): Partial<ReferenceOps> {
  const out: Record<string, unknown> = {};
  for (const [k, op] of Object.entries(ops)) {
    out[k] = typeof op !== 'function' ? op : (...args: unknown[]) => {
      const y = (op as (...a: unknown[]) => unknown)(...args);
      return y instanceof Float64Array ? toFloat32Values(y) : y;
    };
  }
  return out as Partial<ReferenceOps>;
}

/** The runner of one mutant at one precision. */
export function mutantRunner(name: string, precision: Precision): Gpt2Runner {
  const m = mutantByName(name);
  const runnerName = mutantRunnerName(name, precision);
  const base = precision === 'float64' ? referenceOps : float32Ops;
  const planted = m.ops?.(base, precision === 'float64' ? id : Math.fround) ?? {};
  const ops = { ...base, ...(precision === 'float64' ? planted : roundedOps(planted)) };
  const r = precision === 'float64' ? new ReferenceRunner(runnerName, ops) : new Float32ReferenceRunner(runnerName, ops);
  return m.wrap ? m.wrap(r) : r;
}

/** The correct runner of a precision: the reference, or the naive float32 reference. */
export const correctRunner = (precision: Precision): Gpt2Runner =>
  precision === 'float64' ? new ReferenceRunner() : new Float32ReferenceRunner('reference/float32', float32Ops);

/** The runner name of the correct runner of each precision, as the report shows it. */
export const CORRECT_RUNNER: Record<Precision, string> = { float64: 'reference', float32: 'reference/float32' };


/**
 * Seeded randomness for the benchmarks and the sampler: the same numbers on every machine, and
 * GPT-2-shaped weights built at run time, so that nothing large is stored.
 */
import type { Gpt2Config, Gpt2Weights, Tensor } from '../contract';
import { float32 } from '../tensor';
import { expectedShapes, weightsFromRecord } from './checkpoint';

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** GPT-2 weights of any config, shaped like HF's initialisation: N(0, 0.02) matrices, biases N(0, 0.01), LayerNorm γ = 1 + N(0, 0.1), β = 0 + N(0, 0.01). */
export function seededGpt2Weights(config: Gpt2Config, seed = 1729): Gpt2Weights {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()); // Box–Muller
  const record: Record<string, Tensor> = {};
  for (const [name, shape] of expectedShapes(config)) {
    const t = float32(shape);
    const isNorm = /(^|\.)ln_(1|2|f)\.weight$/.test(name);
    const isBias = name.endsWith('.bias');
    for (let i = 0; i < t.data.length; i++) t.data[i] = isNorm ? 1 + 0.1 * normal() : isBias ? 0.01 * normal() : 0.02 * normal();
    record[name] = t;
  }
  return weightsFromRecord(config, record, 'seeded GPT-2 weights');
}

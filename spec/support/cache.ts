/**
 * Helpers for the KV cache's chapter: a cache read from the goldens, a cache compared layer by layer, a
 * sequence fed in several calls, and a runner whose last returned cache can be read back.
 */
import { expect } from '@jest/globals';
import type { Gpt2Runner, KvCache, Tensor } from '../../runners/contract';
import { ids } from '../../runners/tensor';
import type { GoldenCase } from './fixtures';
import { overrideMethods } from './override';

/** The golden cache `{prefix}.{i}.key|value` of a case, e.g. prefix 'next.present'. */
export function goldenCache(c: GoldenCase, prefix: string): KvCache {
  const layers = Array.from({ length: c.config.nLayer }, (_, i) => i);
  return { keys: layers.map((i) => c.get(`${prefix}.${i}.key`)), values: layers.map((i) => c.get(`${prefix}.${i}.value`)) };
}

/** Every layer's keys and values of `actual` match `expected` within the forward.present tolerance. */
export function expectCacheToMatch(actual: KvCache, expected: KvCache, where: { name: string; runner: string; case: string }): void {
  expect(actual.keys.length).toBe(expected.keys.length);
  expect(actual.values.length).toBe(expected.values.length);
  const how = (tensor: string) => ({ tensor, component: 'forward.present', runner: where.runner, case: where.case });
  expected.keys.forEach((k, i) => expect(actual.keys[i]).toMatchGolden(k, how(`${where.name}.${i}.key`)));
  expected.values.forEach((v, i) => expect(actual.values[i]).toMatchGolden(v, how(`${where.name}.${i}.value`)));
}

/** [B,T1,V], [B,T2,V], ... -> [B,T1+T2+...,V]: the logits of consecutive calls side by side along the sequence. */
export function concatPositions(parts: Tensor[]): Tensor {
  const [B] = parts[0]!.shape as [number];
  const inner = parts[0]!.shape[2]!;
  const T = parts.reduce((n, p) => n + p.shape[1]!, 0);
  const data = new (parts[0]!.data.constructor as new (n: number) => Tensor['data'])(B * T * inner);
  let at = 0;
  for (const p of parts) {
    const Tp = p.shape[1]!;
    for (let b = 0; b < B; b++) data.set(p.data.subarray(b * Tp * inner, (b + 1) * Tp * inner), (b * T + at) * inner);
    at += Tp;
  }
  return { dtype: parts[0]!.dtype, shape: [B, T, inner], data };
}

/** The sequence fed in consecutive calls, cut before each index of `cuts`: each call after the first gets the cache of the ones before. */
export async function forwardInCalls(r: Gpt2Runner, sequence: number[], cuts: number[]): Promise<{ logits: Tensor; present: KvCache }> {
  const bounds = [0, ...cuts, sequence.length];
  const logits: Tensor[] = [];
  let past: KvCache | undefined;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const out = await r.forward(ids([sequence.slice(bounds[k], bounds[k + 1])]), past);
    logits.push(out.logits);
    past = out.present;
  }
  return { logits: concatPositions(logits), present: past! };
}

/** A view of the runner whose forward() remembers the last cache it returned (the generation loop reads only forward). */
export function rememberingLastCache(r: Gpt2Runner): { runner: Gpt2Runner; last: () => KvCache | undefined } {
  let last: KvCache | undefined;
  const remembering = (step: Gpt2Runner['forward']): Gpt2Runner['forward'] => async (input, past) => {
    const out = await step(input, past);
    last = out.present;
    return out;
  };
  // Generation may step through a runner's forwardLastLogits (runners/generate.ts): its cache counts too.
  const fast = (r as Gpt2Runner & { forwardLastLogits?: Gpt2Runner['forward'] }).forwardLastLogits;
  const methods = { forward: remembering(r.forward.bind(r)), ...(typeof fast === 'function' ? { forwardLastLogits: remembering(fast.bind(r)) } : {}) };
  return { runner: overrideMethods(r, methods), last: () => last };
}

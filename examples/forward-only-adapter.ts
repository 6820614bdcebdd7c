/**
 * A gpt2-spec adapter in a few lines: it checks an implementation that offers only a whole forward pass,
 * as an exported decoder does. Every other method says "not exposed", and the spec reports it so.
 *
 *   npx gpt2-spec check --runner examples/forward-only-adapter.ts
 *
 * Replace `myForward` with your implementation: ids [B,T] (+ an optional cache) in, logits [B,T,V] and the
 * cache out. Here it is the reference runner, so that the example passes.
 */
import { NotExposedError, type Gpt2Runner, type Gpt2SpecAdapter, type Gpt2Weights, type KvCache, type Tensor } from '../runners';
import { ReferenceRunner } from '../runners/reference/runner';

function forwardOnly(): Gpt2Runner {
  const impl = new ReferenceRunner(); // your implementation goes here
  const notExposed = (what: string) => () => Promise.reject(new NotExposedError(`forward-only exposes no ${what}`));
  return {
    name: 'forward-only',
    backend: 'my implementation (float64)',
    load: (weights: Gpt2Weights) => impl.load(weights),
    forward: (ids: Tensor, past?: KvCache) => impl.forward(ids, past),
    embed: notExposed('embed'),
    layerNorm: notExposed('layerNorm'),
    attention: notExposed('attention'),
    mlp: notExposed('mlp'),
    block: notExposed('block'),
    lmHead: notExposed('lmHead'),
    dispose: () => impl.dispose(),
  };
}

const adapter: Gpt2SpecAdapter = { name: 'forward-only', runner: forwardOnly };
export default adapter;

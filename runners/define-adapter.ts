/**
 * defineAdapter: the typed way to write an adapter module. A runner may offer only the methods its
 * implementation exposes; every other method of the contract rejects with NotExposedError, which the
 * spec reports as "not exposed", in this process and through the Node host alike.
 *
 *   export default defineAdapter({ name: 'mine', runner: () => ({ name: 'mine', backend: 'my engine', load, forward }) });
 */
import type { Gpt2Runner, Gpt2SpecAdapter, Gpt2Tokenizer } from './contract';
import { NotExposedError } from './errors';

/** A runner with a name and any part of the rest of the contract. */
export type PartialRunner = Pick<Gpt2Runner, 'name'> & Partial<Omit<Gpt2Runner, 'name'>>;

export interface AdapterDefinition {
  name: string;
  runner?: () => PartialRunner | Promise<PartialRunner>;
  tokenizer?: () => Gpt2Tokenizer | Promise<Gpt2Tokenizer>;
}

/** The contract's computing methods: a missing one is not exposed. */
const COMPUTING = ['embed', 'layerNorm', 'attention', 'mlp', 'block', 'lmHead', 'forward'] as const;

export function defineAdapter(definition: AdapterDefinition): Gpt2SpecAdapter {
  const { name, runner, tokenizer } = definition;
  if (typeof name !== 'string' || name === '') throw new TypeError("defineAdapter: 'name' must be a non-empty string");
  if (runner !== undefined && typeof runner !== 'function') throw new TypeError("defineAdapter: 'runner' must be a function returning a runner");
  if (tokenizer !== undefined && typeof tokenizer !== 'function') throw new TypeError("defineAdapter: 'tokenizer' must be a function returning a tokenizer");
  return { name, ...(runner && { runner: async () => completeRunner(await runner()) }), ...(tokenizer && { tokenizer }) };
}

/**
 * The whole contract around a partial runner. Its own methods are bound to it (a class with private
 * fields keeps working); load and dispose default to doing nothing, backend to the runner's name.
 */
export function completeRunner(partial: PartialRunner): Gpt2Runner {
  if (typeof partial !== 'object' || partial === null) throw new TypeError(`defineAdapter: the runner factory returned ${String(partial)}, not an object`);
  const runnerName = String(partial.name);
  const own = <K extends keyof Gpt2Runner>(method: K, fallback: Gpt2Runner[K]): Gpt2Runner[K] => {
    const f = partial[method];
    return typeof f === 'function' ? (f as (...a: unknown[]) => unknown).bind(partial) as Gpt2Runner[K] : fallback;
  };
  const notExposed = (method: string) => () => Promise.reject(new NotExposedError(`${runnerName} does not expose ${method}()`));
  const computing = Object.fromEntries(COMPUTING.map((m) => [m, own(m, notExposed(m) as never)])) as Pick<Gpt2Runner, (typeof COMPUTING)[number]>;
  return {
    name: runnerName,
    backend: typeof partial.backend === 'string' ? partial.backend : runnerName,
    load: own('load', async () => {}),
    dispose: own('dispose', async () => {}),
    ...computing,
  };
}

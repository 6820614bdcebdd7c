/**
 * Time limits for runner calls, so that an adapter that hangs fails the component it hung in,
 * and every other component is still checked and reported.
 */
import type { Gpt2Runner } from './contract';
import { Gpt2SpecError } from './errors';

export class TimeLimitError extends Gpt2SpecError {}

/** The limit for one contract call, from GPT2_SPEC_COMPONENT_TIMEOUT_MS (default 30 s). */
export function componentTimeLimitMs(env = process.env.GPT2_SPEC_COMPONENT_TIMEOUT_MS): number {
  const ms = Number(env);
  return Number.isFinite(ms) && ms > 0 ? ms : 30_000;
}

export function withTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    // Not unref'd: a call that never settles must still end in this error, not in a silently empty event loop.
    timer = setTimeout(() => reject(new TimeLimitError(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

const LIMITED = new Set(['load', 'embed', 'layerNorm', 'attention', 'mlp', 'block', 'lmHead', 'forward', 'dispose']);

/** The same runner, with every contract method under a time limit; a method that throws synchronously rejects instead. */
export function timeLimited(runner: Gpt2Runner, ms = componentTimeLimitMs()): Gpt2Runner {
  // A runner in another process enforces its limit itself, by killing the process (runners/protocol).
  if ((runner as unknown as Record<symbol, unknown>)[Symbol.for('gpt2-spec.ownTimeLimit')] === true) return runner;
  return new Proxy(runner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !LIMITED.has(key) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = value.apply(target, args);
        } catch (e) {
          return Promise.reject(e);
        }
        return withTimeLimit(Promise.resolve(result), ms, `${target.name} ${key}()`);
      };
    },
  });
}

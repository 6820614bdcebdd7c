/** A view of a runner with some of its methods replaced; every other property reads through to the runner. */
import type { Gpt2Runner } from '../../runners/contract';

export function overrideMethods(r: Gpt2Runner, methods: Partial<Pick<Gpt2Runner, 'attention' | 'forward' | 'lmHead'>> & { forwardLastLogits?: Gpt2Runner['forward'] }): Gpt2Runner {
  return new Proxy(r, { get: (target, key) => (Object.hasOwn(methods, key) ? methods[key as keyof typeof methods] : Reflect.get(target, key)) });
}

/**
 * defineAdapter (runners/define-adapter.ts): an adapter offers the methods its implementation exposes,
 * and every other one of the contract says "not exposed" instead of being missing.
 */
import { describe, expect, it } from '@jest/globals';
import { defineAdapter, NotExposedError, type Gpt2Runner, type Tensor } from '../runners';
import { float64 } from '../runners/tensor';

const ONE = float64([1, 1, 1]);

async function runnerOf(adapter: ReturnType<typeof defineAdapter>): Promise<Gpt2Runner> {
  return adapter.runner!();
}

describe('defineAdapter', () => {
  it('fills every computing method the runner lacks with one that rejects NotExposedError, naming the method', async () => {
    const runner = await runnerOf(defineAdapter({ name: 'only-mlp', runner: () => ({ name: 'only-mlp', backend: 'b', mlp: async (x: Tensor) => x }) }));
    for (const call of [() => runner.embed(ONE), () => runner.layerNorm(ONE, 'ln_f'), () => runner.attention(ONE, 0), () => runner.block(ONE, 0), () => runner.lmHead(ONE), () => runner.forward(ONE)]) {
      await expect(call()).rejects.toBeInstanceOf(NotExposedError);
    }
    await expect(runner.forward(ONE)).rejects.toThrow('only-mlp does not expose forward()');
    await expect(runner.mlp(ONE, 0)).resolves.toBe(ONE);
  });

  it("keeps a class's own methods working on the instance, private fields included", async () => {
    class Counter {
      readonly name = 'counter';
      readonly backend = 'a class';
      #loads = 0;
      async load() {
        this.#loads++;
      }
      async embed() {
        return float64([1, 1, 1], [this.#loads]);
      }
    }
    const runner = await runnerOf(defineAdapter({ name: 'counter', runner: () => new Counter() }));
    await runner.load({} as never);
    expect(Array.from((await runner.embed(ONE)).data)).toEqual([1]);
  });

  it("makes load and dispose do nothing when missing, and gives the runner's name as its backend when it has none", async () => {
    const runner = await runnerOf(defineAdapter({ name: 'bare', runner: async () => ({ name: 'bare' }) }));
    await expect(runner.load({} as never)).resolves.toBeUndefined();
    await expect(runner.dispose()).resolves.toBeUndefined();
    expect(runner.backend).toBe('bare');
  });

  it('passes a tokenizer factory through, and leaves out a runner that was not given', () => {
    const tokenizer = () => ({ name: 't', encode: () => [], decode: () => '' });
    const adapter = defineAdapter({ name: 'tok', tokenizer });
    expect(adapter.tokenizer).toBe(tokenizer);
    expect(adapter).not.toHaveProperty('runner');
  });

  it('refuses a definition without a name, a runner that is not a function, and a factory that returns no object', async () => {
    expect(() => defineAdapter({ name: '' })).toThrow("'name' must be a non-empty string");
    expect(() => defineAdapter({ name: 'x', runner: 42 as never })).toThrow("'runner' must be a function");
    await expect(runnerOf(defineAdapter({ name: 'x', runner: () => undefined as never }))).rejects.toThrow('returned undefined, not an object');
  });
});

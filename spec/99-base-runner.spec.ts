/**
 * The plumbing every built-in runner shares (runners/base-runner.ts): a runner computes only between a
 * successful load() and dispose(), refuses bad input with the contract's typed errors before its backend
 * runs, and names the component when its backend fails.
 */
import { describe, expect, it } from '@jest/globals';
import type { Gpt2Weights } from '../runners/contract';
import { ReferenceRunner } from '../runners/reference/runner';
import { ids, tensor } from '../runners/tensor';
import { loadModel } from './support/fixtures';

/** A reference runner whose next load() fails, as a backend that cannot take a checkpoint would. */
class FailingReload extends ReferenceRunner {
  failNext = false;
  protected override async loadWeights(weights: Gpt2Weights): Promise<void> {
    if (this.failNext) throw new Error('the backend refused the weights');
    await super.loadWeights(weights);
  }
}

describe('Every built-in runner shares one set of rules', () => {
  it('computes nothing before load(), with a RunnerStateError', async () => {
    await expect(new ReferenceRunner().forward(ids([[1]]))).rejects.toMatchObject({ name: 'RunnerStateError' });
  });

  it('computes nothing after dispose(), with a RunnerStateError', async () => {
    const r = new ReferenceRunner();
    await r.load(loadModel('gpt2-mini'));
    await r.dispose();
    await expect(r.forward(ids([[1]]))).rejects.toMatchObject({ name: 'RunnerStateError' });
  });

  it('is unloaded after a load() that failed, even when an earlier load() succeeded', async () => {
    const r = new FailingReload();
    await r.load(loadModel('gpt2-mini'));
    r.failNext = true;
    await expect(r.load(loadModel('gpt2-mini'))).rejects.toMatchObject({ name: 'BackendError', message: expect.stringContaining('load') });
    await expect(r.forward(ids([[1]]))).rejects.toMatchObject({ name: 'RunnerStateError' });
  });

  it('refuses a tensor helper given a negative dimension or a token id that is not a whole number, with typed errors', () => {
    expect(() => tensor('float32', [-1])).toThrow(expect.objectContaining({ name: 'ShapeError' }));
    expect(() => ids([[1.5]])).toThrow(expect.objectContaining({ name: 'TokenIdError' }));
    expect(() => ids([[2 ** 31]])).toThrow(expect.objectContaining({ name: 'TokenIdError' }));
  });
});

// A deliberately broken adapter, for checking that `gpt2-spec check` fails the broken components alone:
// attention throws, the feed-forward network returns the wrong shape, and block 0 never answers.
import type { Tensor } from '../../../runners/contract';
import { ReferenceRunner } from '../../../runners/reference/runner';

class Broken extends ReferenceRunner {
  constructor() {
    super('broken');
  }

  override async attention(): Promise<never> {
    throw new Error('attention is broken in this adapter');
  }

  override async mlp(x: Tensor): Promise<Tensor> {
    return { dtype: 'float64', shape: [x.shape[0]!, x.shape[1]!], data: new Float64Array(x.shape[0]! * x.shape[1]!) };
  }

  override block(x: Tensor, layer: number): Promise<Tensor> {
    return layer === 0 ? new Promise<Tensor>(() => undefined) : super.block(x, layer);
  }
}

export default { name: 'broken', runner: () => new Broken() };

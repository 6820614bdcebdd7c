// An adapter with one planted bug deep in the model: block 1's feed-forward network uses the exact-erf
// GELU. `gpt2-spec compare` must name mlp.output in layer 1 as the first place it leaves tolerance.
import type { Tensor } from '../../../runners/contract';
import { ReferenceRunner, referenceOps } from '../../../runners/reference/runner';
import { mutants } from '../mutants/mutants';

class PlantedBug extends ReferenceRunner {
  private readonly erf = mutants['erf-gelu']();

  constructor() {
    super('planted-bug-layer-1', referenceOps);
  }

  override async load(weights: Parameters<ReferenceRunner['load']>[0]): Promise<void> {
    await super.load(weights);
    await this.erf.load(weights);
  }

  override mlp(x: Tensor, layer: number): Promise<Tensor> {
    return layer === 1 ? this.erf.mlp(x, layer) : super.mlp(x, layer);
  }

  override block(x: Tensor, layer: number): Promise<Tensor> {
    return layer === 1 ? this.erf.block(x, layer) : super.block(x, layer);
  }
}

export default { name: 'planted-bug-layer-1', runner: () => new PlantedBug() };

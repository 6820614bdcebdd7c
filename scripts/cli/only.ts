/**
 * `check --only PATTERN`: a case-insensitive regular expression matched against what the matrix shows:
 * its rows (building blocks such as layer_norm or attention.weights), its columns (runner names), and
 * the case ids (gpt2-mini/random-8, seed/cat-sat-on-the). A pattern that matches none of them, or is no
 * regular expression, is a usage error before anything runs.
 */
import { COMPONENT_ORDER } from '../report/model';
import { UsageError } from './args';

/** The title that opens each building block's chapter (or, for dispose, its test in every chapter). */
const CHAPTER_OF_BLOCK: Record<string, string> = {
  tokenizer: 'The tokenizer',
  embed: 'Embedding',
  validation: 'Embedding|Generation',
  layer_norm: 'LayerNorm',
  attention: 'Self-attention',
  mlp: 'Feed-forward',
  block: 'Transformer block',
  lm_head: 'LM head',
  forward: 'LM head|Generation|The pretrained',
  generation: 'Generation|The pretrained',
};

/** The spec files of each chapter: a selection of building blocks runs only theirs. */
const FILES_OF_BLOCK: Record<string, string[]> = {
  tokenizer: ['spec/01'],
  embed: ['spec/02'],
  validation: ['spec/02', 'spec/08'],
  layer_norm: ['spec/03'],
  attention: ['spec/04'],
  mlp: ['spec/05'],
  block: ['spec/06'],
  lm_head: ['spec/07'],
  forward: ['spec/07', 'spec/08', 'spec/09'],
  generation: ['spec/08', 'spec/09'],
  dispose: ['spec/0[2-9]'],
};

const filesOf = (component: string): string[] => FILES_OF_BLOCK[component] ?? FILES_OF_BLOCK[component.split('.')[0]!]!;

const chapterOf = (component: string): string => {
  if (component === 'dispose') return '.*releases what it loaded with dispose';
  return CHAPTER_OF_BLOCK[component] ?? CHAPTER_OF_BLOCK[component.split('.')[0]!]!;
};

export interface OnlySelection {
  /** jest's test-name pattern, when the selection narrows the tests. */
  testNamePattern?: string;
  /** The runners to keep, when the pattern names runners. */
  runners?: string[];
  /** The spec files to run, when the pattern names building blocks only. */
  files?: string[];
  /** What the pattern matched, for the progress line. */
  matched: string[];
}

export function selectOnly(pattern: string, candidates: { runners: string[]; caseIds: string[] }): OnlySelection {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'i');
  } catch (e) {
    throw new UsageError(`--only '${pattern}' is not a regular expression: ${(e as Error).message}`);
  }
  const blocks = COMPONENT_ORDER.filter((c) => re.test(c));
  const runners = candidates.runners.filter((r) => re.test(r));
  const cases = candidates.caseIds.filter((c) => re.test(c));
  if (blocks.length + runners.length + cases.length === 0) {
    throw new UsageError(`--only '${pattern}' selects nothing: it matches no building block (${COMPONENT_ORDER.join(', ')}), no runner (${candidates.runners.join(', ')}) and no case id`);
  }
  const names: string[] = [];
  if (blocks.length) names.push(`^(?:${[...new Set(blocks.map(chapterOf))].join('|')})`);
  if (cases.length) names.push(pattern);
  return {
    testNamePattern: names.length ? names.join('|') : undefined,
    runners: runners.length && !blocks.length && !cases.length ? runners : undefined,
    files: blocks.length && !cases.length && !runners.length ? [...new Set(blocks.flatMap(filesOf))] : undefined,
    matched: [...blocks, ...runners, ...cases.slice(0, 5), ...(cases.length > 5 ? [`${cases.length - 5} more cases`] : [])],
  };
}

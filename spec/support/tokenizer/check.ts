/**
 * Checks one golden case on one tokenizer, records the outcome for the conformance report, and
 * fails with a message that names the case and shows text, expected and actual ids.
 */
import type { Gpt2Tokenizer } from '../../../runners/contract';
import { record } from '../record';
import type { DecodeCase, EncodeCase } from './cases';
import { expectedDivergence } from './known-divergences';
import { preview } from './unicode';

export interface Outcome {
  ok: boolean;
  detail: string;
}

/** Whether two id lists are equal, id by id. */
export const sameIds = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((id, i) => id === b[i]);

function showIds(ids: readonly number[], around: number): string {
  if (ids.length <= 24) return `[${ids.join(', ')}]`;
  const from = Math.max(0, around - 8);
  return `[${from > 0 ? '…, ' : ''}${ids.slice(from, from + 16).join(', ')}, …] (${ids.length} ids)`;
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Encodes the case's text and decodes its golden ids; both must match the references. */
export function runEncodeCase(tokenizer: Gpt2Tokenizer, c: EncodeCase): Outcome {
  const problems: string[] = [];
  let actual: number[] | undefined;
  try {
    actual = tokenizer.encode(c.text, { allowedSpecial: c.allowedSpecial });
  } catch (error) {
    problems.push(`encode threw ${(error as Error).name}: ${(error as Error).message}`);
  }
  if (actual && !sameIds(actual, c.ids)) {
    const at = firstDifference(actual, c.ids);
    problems.push(`encode: expected ${showIds(c.ids, at)}\n        actual   ${showIds(actual, at)}\n        (first difference at index ${at})`);
  }
  const expectedText = c.decoded ?? c.text;
  try {
    const decoded = tokenizer.decode(c.ids);
    if (decoded !== expectedText) problems.push(`decode: expected ${preview(expectedText)}\n        actual   ${preview(decoded)}`);
  } catch (error) {
    problems.push(`decode threw ${(error as Error).name}: ${(error as Error).message}`);
  }
  const head = `${tokenizer.name} on case ${c.id} (allowedSpecial '${c.allowedSpecial}')\n  text: ${preview(c.text)}`;
  return { ok: problems.length === 0, detail: `${head}\n  ${problems.join('\n  ')}` };
}

export function runDecodeCase(tokenizer: Gpt2Tokenizer, c: DecodeCase): Outcome {
  let problem = '';
  try {
    const decoded = tokenizer.decode(c.ids);
    if (decoded !== c.text) problem = `decode: expected ${preview(c.text)}\n        actual   ${preview(decoded)}`;
  } catch (error) {
    problem = `decode threw ${(error as Error).name}: ${(error as Error).message}`;
  }
  return { ok: problem === '', detail: `${tokenizer.name} on case ${c.id}\n  ids: [${c.ids.join(', ')}]\n  ${problem}` };
}

/**
 * Asserts the outcome against what is expected of this tokenizer on this case: a match, or (for a
 * listed known divergence) a mismatch still. Records pass / fail / known-divergence either way.
 */
export function expectGolden(tokenizerName: string, caseId: string, outcome: Outcome): void {
  const divergence = expectedDivergence(tokenizerName, caseId);
  const base = { runner: tokenizerName, component: 'tokenizer', case: caseId };
  if (divergence) {
    if (outcome.ok) {
      record({ ...base, status: 'fail', reason: `listed as a known divergence but now matches: ${divergence.reason}` });
      throw new Error(`${tokenizerName} now matches the golden of ${caseId}, which spec/support/tokenizer/known-divergences.ts lists as a known divergence (${divergence.reason}). Remove it from the list.`);
    }
    record({ ...base, status: 'known-divergence', reason: divergence.reason });
    return;
  }
  record(outcome.ok ? { ...base, status: 'pass' } : { ...base, status: 'fail', reason: outcome.detail });
  if (!outcome.ok) throw new Error(outcome.detail);
}

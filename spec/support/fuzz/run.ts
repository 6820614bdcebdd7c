/**
 * Runs fuzz cases where the input enters, and sorts each outcome: refused with one line (a typed error),
 * accepted (valid input), a crash (any other exception, or a message of several lines), a hang (over
 * HANG_MS), silently accepted (invalid input that got through), or a valid input refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gpt2SpecError } from '../../../runners/errors';
import { loadCheckpoint } from '../../../runners/weights/checkpoint';
import { UsageError } from '../../../scripts/cli/args';
import { promptIds } from '../../../scripts/cli/inputs';
import { compareTensors } from '../compare';
import { tolerance } from '../fixtures';
import type { FuzzCase } from './cases';

export type Outcome = 'refused' | 'accepted' | 'crash' | 'hang' | 'silent' | 'refused-valid';

/** A case that takes longer than this counts as a hang (the slowest honest case loads a 1.5 MB checkpoint). */
export const HANG_MS = 2000;

export interface FuzzSummary {
  cases: number;
  counts: Record<Outcome, number>;
  /** The first few cases of each bad outcome, with what happened. */
  examples: { outcome: Outcome; what: string; detail: string }[];
}

/** Feeds one case to the code it is for; `scratch` is a folder for the checkpoint files. */
function feed(c: FuzzCase, scratch: string): boolean {
  switch (c.family) {
    case 'safetensors':
    case 'config':
      writeFileSync(join(scratch, 'config.json'), c.config);
      writeFileSync(join(scratch, 'model.safetensors'), c.model);
      loadCheckpoint(scratch);
      return true;
    case 'ids':
      promptIds({ ids: c.text }, undefined, 512, '');
      return true;
    case 'answer':
      return compareTensors(c.answer, c.golden, tolerance('block', (c.answer as { dtype?: 'float64' })?.dtype ?? 'float32')).pass;
  }
}

function judge(c: FuzzCase, scratch: string): { outcome: Outcome; detail: string } {
  const start = performance.now();
  let result: { outcome: Outcome; detail: string };
  try {
    const accepted = feed(c, scratch);
    if (accepted) result = c.valid ? { outcome: 'accepted', detail: '' } : { outcome: 'silent', detail: 'accepted' };
    else result = c.valid ? { outcome: 'refused-valid', detail: 'the comparison failed' } : { outcome: 'refused', detail: '' };
  } catch (e) {
    const typed = e instanceof Gpt2SpecError || e instanceof UsageError;
    const message = String((e as Error)?.message ?? e);
    if (!typed || message.includes('\n')) result = { outcome: 'crash', detail: (e as Error)?.stack ?? message };
    else result = c.valid ? { outcome: 'refused-valid', detail: message } : { outcome: 'refused', detail: message };
  }
  const ms = performance.now() - start;
  return ms > HANG_MS ? { outcome: 'hang', detail: `${ms.toFixed(0)} ms` } : result;
}

export function runFuzz(cases: Iterable<FuzzCase>, scratch: string, keepExamples = 3): FuzzSummary {
  const counts: Record<Outcome, number> = { refused: 0, accepted: 0, crash: 0, hang: 0, silent: 0, 'refused-valid': 0 };
  const examples: FuzzSummary['examples'] = [];
  let n = 0;
  for (const c of cases) {
    n++;
    const { outcome, detail } = judge(c, scratch);
    counts[outcome]++;
    const bad = outcome !== 'refused' && outcome !== 'accepted';
    if (bad && examples.filter((x) => x.outcome === outcome).length < keepExamples) examples.push({ outcome, what: `${c.family}: ${c.what}`, detail });
  }
  return { cases: n, counts, examples };
}

export function formatSummary(s: FuzzSummary): string {
  const c = s.counts;
  const lines = [
    `${s.cases} cases: ${c.refused} refused with one line, ${c.accepted} valid and accepted;`,
    `${c.crash} crashes, ${c.hang} hangs, ${c.silent} silently accepted, ${c['refused-valid']} valid inputs refused`,
    ...s.examples.map((x) => `  ${x.outcome}: ${x.what}: ${x.detail.split('\n').slice(0, 3).join(' | ')}`),
  ];
  return lines.join('\n');
}

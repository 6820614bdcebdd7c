/**
 * Results the spec records beside jest's pass/fail, so that the conformance report can say how much of
 * each tolerance was used, what a runner does not expose, and which divergences are known.
 * Each record is one JSON line appended to the file named by GPT2_SPEC_RECORD (set by the reporter);
 * without it, records are dropped and the tests behave the same.
 */
import { appendFileSync } from 'node:fs';
import type { ResultEntry } from '../../scripts/report/model';

export type { ResultStatus } from '../../scripts/report/model';
/** One result, as the report reads it. */
export type ResultRecord = ResultEntry;

export function record(entry: ResultRecord): void {
  const file = process.env.GPT2_SPEC_RECORD;
  if (!file) return;
  const line = { kind: 'result', test: currentTest(), ...entry };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** The running test's full name, when called inside a test (jest's expect state knows it). */
function currentTest(): string | undefined {
  const state = (globalThis as { expect?: { getState?: () => { currentTestName?: string } } }).expect?.getState?.();
  return state?.currentTestName;
}

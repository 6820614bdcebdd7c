/**
 * Results the spec records beside jest's pass/fail, so that the conformance report can say how much of
 * each tolerance was used, what a runner does not expose, and which divergences are known.
 * Each record is one JSON line appended to the file named by GPT2_SPEC_RECORD (set by the reporter);
 * without it, records are dropped and the tests behave the same.
 */
import { appendFileSync } from 'node:fs';

export type ResultStatus = 'pass' | 'fail' | 'not-exposed' | 'known-divergence' | 'error' | 'skipped';

export interface ResultRecord {
  runner: string;
  component: string;
  case: string;
  tensor?: string;
  status: ResultStatus;
  maxAbsError?: number;
  maxRelError?: number;
  usage?: number;
  tolerance?: { atol: number; rtol: number };
  reason?: string;
  /** The full name of the test that made the record (filled in by record()). */
  test?: string;
  /** The runner's output itself, kept for the HTML report's pictures (only for the tensors the spec marks). */
  sample?: { shape: number[]; data: number[] };
}

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

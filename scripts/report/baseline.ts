/**
 * Expected failures, as test262 and the ONNX backend tests keep them: a file that lists the failures a
 * partial implementation already has, so that its CI fails only on a new one. docs/ci.md documents the
 * format:
 *
 *   { "formatVersion": 1,
 *     "expectedFailures": [ { "runner": "my-gpt2", "component": "attention.scores", "case": "gpt2-mini/random-8", "reason": "no 1/sqrt(d) yet" } ] }
 *
 * `runner` and `component` (a matrix row) are required; `case` and `tensor` narrow the entry, and without
 * them it covers every case of that row. A listed failure is reported as `expected-fail`; a failure that
 * no entry lists still fails the run; an entry whose row now passes is reported, and fails the run
 * under --strict.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Gpt2SpecError } from '../../runners/errors';
import type { Report, ResultEntry } from './model';

export const BASELINE_FORMAT_VERSION = 1;

export interface ExpectedFailure {
  runner: string;
  component: string;
  case?: string;
  tensor?: string;
  reason?: string;
}

export interface Baseline {
  formatVersion: typeof BASELINE_FORMAT_VERSION;
  expectedFailures: ExpectedFailure[];
}

/** What became of one entry in a run: its row still fails, now passes, or did not run here (another shard, a filter). */
export type EntryOutcome = 'still-failing' | 'now-passing' | 'not-run';

/** The baseline a report was judged with, and each entry's outcome: kept in the JSON report, so that shards merge. */
export interface BaselineEntry extends ExpectedFailure {
  outcome: EntryOutcome;
  failures: number;
  passes: number;
}

export interface BaselineUse {
  file: string;
  sha256: string;
  strict: boolean;
  entries: BaselineEntry[];
}

/** A Gpt2SpecError: the command prints it as one line, exit 2. */
export class BaselineError extends Gpt2SpecError {}

const FIELDS = new Set(['runner', 'component', 'case', 'tensor', 'reason']);

/** Parses a baseline file, refusing anything that is not exactly the documented format. */
export function parseBaseline(text: string, source: string): Baseline {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BaselineError(`${source}: not JSON (${(e as Error).message})`);
  }
  const body = parsed as Partial<Baseline> | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BaselineError(`${source}: expected an object with formatVersion and expectedFailures`);
  if (body.formatVersion !== BASELINE_FORMAT_VERSION) throw new BaselineError(`${source}: formatVersion must be ${BASELINE_FORMAT_VERSION}, got ${JSON.stringify(body.formatVersion)}`);
  if (!Array.isArray(body.expectedFailures)) throw new BaselineError(`${source}: expectedFailures must be an array`);
  body.expectedFailures.forEach((entry, i) => {
    const where = `${source}: expectedFailures[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new BaselineError(`${where} is not an object`);
    for (const key of Object.keys(entry)) if (!FIELDS.has(key)) throw new BaselineError(`${where} has an unknown field "${key}" (fields: ${[...FIELDS].join(', ')})`);
    for (const key of FIELDS) {
      const value = (entry as unknown as Record<string, unknown>)[key];
      const required = key === 'runner' || key === 'component';
      if (value === undefined && !required) continue;
      if (typeof value !== 'string' || value === '') throw new BaselineError(`${where}.${key} must be a non-empty string`);
    }
  });
  return body as Baseline;
}

export function readBaseline(path: string, strict: boolean): BaselineUse {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BaselineError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const baseline = parseBaseline(text, path);
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { file: path, sha256, strict, entries: baseline.expectedFailures.map((e) => ({ ...e, outcome: 'not-run', failures: 0, passes: 0 })) };
}

const matches = (e: ExpectedFailure, r: ResultEntry) =>
  e.runner === r.runner && e.component === r.component && (e.case === undefined || e.case === r.case) && (e.tensor === undefined || e.tensor === r.tensor);

/**
 * Marks each listed failure `expected-fail` (keeping what it was in `was`), and counts each entry's
 * failures and passes. Only fail and error rows can be expected; a pass stays a pass.
 */
export function applyBaseline(results: ResultEntry[], use: BaselineUse): { results: ResultEntry[]; use: BaselineUse } {
  const entries = use.entries.map((e) => ({ ...e, failures: 0, passes: 0 }));
  const out = results.map((r) => {
    const hits = entries.filter((e) => matches(e, r));
    if (r.status === 'pass') hits.forEach((e) => e.passes++);
    if (r.status !== 'fail' && r.status !== 'error') return r;
    hits.forEach((e) => e.failures++);
    if (hits.length === 0) return r;
    const why = hits.find((e) => e.reason)?.reason;
    return { ...r, status: 'expected-fail' as const, was: r.status, ...(why ? { expectedReason: why } : {}) };
  });
  for (const e of entries) e.outcome = e.failures > 0 ? 'still-failing' : e.passes > 0 ? 'now-passing' : 'not-run';
  return { results: out, use: { ...use, entries } };
}

/** A baseline listing every failure of a report, one entry per runner, row, case and tensor: --write-baseline. */
export function baselineOf(report: Report): Baseline {
  const seen = new Set<string>();
  const expectedFailures: ExpectedFailure[] = [];
  for (const r of report.results) {
    if (r.status !== 'fail' && r.status !== 'error' && r.status !== 'expected-fail') continue;
    const entry: ExpectedFailure = { runner: r.runner, component: r.component, case: r.case, ...(r.tensor ? { tensor: r.tensor } : {}) };
    const key = JSON.stringify(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    expectedFailures.push({ ...entry, reason: firstReasonLine(r) });
  }
  return { formatVersion: BASELINE_FORMAT_VERSION, expectedFailures };
}

const firstReasonLine = (r: ResultEntry) => (r.expectedReason ?? r.reason ?? r.status).split('\n')[0]!.slice(0, 200);

/**
 * The conformance report: what one run of the spec found, per runner and building block.
 * Built from the spec's records, the runner probe and jest's test outcomes; rendered as a terminal
 * matrix, JSON (schema in docs/report-schema.md), JUnit XML and HTML.
 */

import { Gpt2SpecError } from '../../runners/errors';
import { applyBaseline, type BaselineUse } from './baseline';

/** expected-fail: a fail or error that the run's baseline lists (scripts/report/baseline.ts). */
export type ResultStatus = 'pass' | 'fail' | 'not-exposed' | 'known-divergence' | 'error' | 'skipped' | 'expected-fail';

export interface ResultEntry {
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
  /** The full name of the jest test that made the result. */
  test?: string;
  /** The runner's output itself, kept for the HTML report's pictures (only for the tensors the spec marks). */
  sample?: { shape: number[]; data: number[] };
  /** For an expected-fail: what it was (fail or error), and the baseline's reason. */
  was?: 'fail' | 'error';
  expectedReason?: string;
  /** Made by the report from a test that failed without a record, not by the spec itself. */
  derived?: true;
}

export interface RunnerEntry {
  name: string;
  backend?: string;
  /** pass: checks passed and none failed; nothing-checked: no check passed (all not exposed, or none ran). */
  status: 'pass' | 'fail' | 'unavailable' | 'nothing-checked';
  reason?: string;
  notExposed: string[];
  unsupportedModels: Record<string, string>;
  /** The end of what the runner's processes wrote to stderr in this run (runners in a process of their own). */
  stderr?: string;
  /** The building blocks with a passing check, and those with nothing but not-exposed results. */
  checked?: string[];
  notExposedBlocks?: string[];
  /** The conformance profiles the runner holds: every block and trace field (full), or forward, cache and generation. */
  profiles?: Record<ProfileName, boolean>;
  /** In a shard that checked nothing of this runner: its nothing-checked is not this shard's to judge, but the merge's. */
  idle?: true;
}

export type ProfileName = 'full' | 'forward';

/** The building blocks each conformance profile needs to pass, with no failure among them. */
export const PROFILES: Record<ProfileName, string[]> = {
  full: ['embed', 'layer_norm', 'attention.qkv', 'attention.scores', 'attention.weights', 'attention.context', 'attention.output', 'mlp.output', 'block', 'lm_head', 'forward.logits', 'forward.present', 'generation'],
  forward: ['forward.logits', 'forward.present', 'generation'],
};

/** The fixtures a run used: folder, whether shipped (and pinned), and the hashes of the manifest and its tolerance table. */
export interface FixturesEntry {
  dir: string;
  shipped: boolean;
  manifestSha256: string;
  tolerancesSha256: string;
}

export interface TestOutcome {
  fullName: string;
  title: string;
  ancestors: string[];
  file: string;
  status: 'passed' | 'failed' | 'pending' | 'skipped' | 'todo' | 'disabled' | 'focused';
  failureMessages: string[];
  durationMs?: number;
  /** A failed test whose every failure the baseline lists. */
  expectedFailure?: true;
}

export interface Report {
  schemaVersion: 1;
  generatedAt: string;
  /** The run's verdict, the one the exit code gives: fail on any failure, error, crash, or runner that checked nothing. */
  verdict: 'pass' | 'fail';
  fixtures?: FixturesEntry;
  /** The expected failures the run was judged with, and what became of each. */
  baseline?: BaselineUse;
  /** The part of the spec's files this run ran (check --shard); its verdict covers only that part. */
  shard?: Shard;
  runners: RunnerEntry[];
  tokenizers: RunnerEntry[];
  results: ResultEntry[];
  summary: Record<ResultStatus, number> & { total: number; tests: { passed: number; failed: number; expectedFailures: number; skipped: number } };
  skipped: { title: string; count: number }[];
  tests: TestOutcome[];
}

export interface ProbeState {
  id: string;
  name?: string;
  backend?: string;
  status: 'available' | 'unavailable';
  reason?: string;
  notExposed: string[];
  unsupportedModels?: Record<string, string>;
}

/** The building blocks in the order data flows through GPT-2: the report's rows. */
export const COMPONENT_ORDER = [
  'tokenizer',
  'embed',
  'validation',
  'layer_norm',
  'attention.qkv',
  'attention.scores',
  'attention.weights',
  'attention.context',
  'attention.output',
  'attention',
  'mlp.output',
  'block',
  'lm_head',
  'forward.logits',
  'forward.present',
  'generation',
  'dispose',
];

/** The building block a spec's top-level describe title speaks of, for failures that left no record (a throw, a time-out). */
const BLOCK_OF_TITLE: [RegExp, string][] = [
  [/^(The )?tokeni[sz]er/i, 'tokenizer'],
  [/^Embedding/, 'embed'],
  [/^LayerNorm/, 'layer_norm'],
  [/^Self-attention/, 'attention'],
  [/^Feed-forward/, 'mlp.output'],
  [/^Transformer block/, 'block'],
  [/^LM head/, 'lm_head'],
  [/^Generation/, 'generation'],
  [/pretrained|stand-in/i, 'generation'],
];

export const componentRank = (c: string) => {
  const i = COMPONENT_ORDER.indexOf(c);
  return i < 0 ? COMPONENT_ORDER.length : i;
};

/** The runner a test belongs to: describeEachRunner puts `[name]` at the end of the runner's describe title. */
export function runnerOfTest(t: TestOutcome): string | undefined {
  for (const a of [...t.ancestors].reverse()) {
    const m = /\[([^\]]+)\]$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

function blockOfTest(t: TestOutcome): string {
  const top = t.ancestors[0] ?? '';
  return BLOCK_OF_TITLE.find(([re]) => re.test(top))?.[1] ?? (top.split(':')[0] || 'spec');
}

/** The building block of each chapter's file, for a file that failed to run as a whole. */
const BLOCK_OF_FILE: [RegExp, string][] = [
  [/01-tokenizer/, 'tokenizer'],
  [/02-embedding/, 'embed'],
  [/03-layer-norm/, 'layer_norm'],
  [/04-self-attention/, 'attention'],
  [/05-feed-forward/, 'mlp.output'],
  [/06-transformer-block/, 'block'],
  [/07-lm-head/, 'lm_head'],
  [/0[89]-/, 'generation'],
];

export interface Shard {
  index: number;
  count: number;
}

/** `i/n`, 1 ≤ i ≤ n: the shard of check --shard (jest's own sharding, by test file). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index >= 1) || index > count) throw new ShardError(`--shard needs i/n with 1 ≤ i ≤ n (e.g. 2/4), got '${text}'`);
  return { index, count };
}

/** A Gpt2SpecError: the command prints it as one line, exit 2. */
export class ShardError extends Gpt2SpecError {}

export interface RunContext {
  stderr?: Record<string, string>;
  fixtures?: FixturesEntry;
  baseline?: BaselineUse;
  shard?: Shard;
}

export function buildReport(records: ResultEntry[], probe: ProbeState[], tests: TestOutcome[], context: RunContext = {}): Report {
  const stderr = context.stderr ?? {};
  let results = [...records];
  // A failed test that recorded no failure threw or timed out: report it as an error of its building block.
  const failedWithRecord = new Set(records.filter((r) => (r.status === 'fail' || r.status === 'error') && r.test).map((r) => r.test));
  for (const t of tests) {
    if (t.status !== 'failed' || failedWithRecord.has(t.fullName)) continue;
    const runner = runnerOfTest(t);
    if (!runner) continue;
    results.push({ runner, component: blockOfTest(t), case: t.title, status: 'error', reason: firstLine(t.failureMessages[0] ?? 'failed'), test: t.fullName, derived: true });
  }
  // A chapter that failed to run as a whole (a crash, a dead worker) is an error of its block for every runner.
  for (const t of tests.filter((x) => x.title === SUITE_FAILED)) {
    const block = BLOCK_OF_FILE.find(([re]) => re.test(t.file))?.[1];
    if (!block) continue;
    const names = block === 'tokenizer' ? ['tokenizers'] : probe.filter((s) => s.status === 'available').map((s) => s.name ?? s.id);
    const reason = `${t.file.split('/').pop()} failed to run: ${firstLine(t.failureMessages[0] ?? 'no message')}`;
    for (const runner of names) results.push({ runner, component: block, case: 'all', status: 'error', reason, test: t.fullName, derived: true });
  }
  let baseline = context.baseline;
  if (baseline) ({ results, use: baseline } = applyBaseline(results, baseline));
  // Only a baseline makes a failure expected; without one no test needs looking at.
  if (baseline) tests = tests.map((t) => (t.status === 'failed' && failuresAllExpected(t, results) ? { ...t, expectedFailure: true as const } : t));

  // A runner and a tokenizer may share a name (reference, transformers.js): the tokenizer row is the tokenizer's alone.
  const failedIn = (tokenizer: boolean) => new Set(results.filter((r) => (r.status === 'fail' || r.status === 'error') && (r.component === 'tokenizer') === tokenizer).map((r) => r.runner));
  const failedRunners = failedIn(false);
  const failedTokenizers = failedIn(true);
  const runners: RunnerEntry[] = probe.map((s) => {
    const name = s.name ?? s.id;
    const own = results.filter((r) => r.runner === name && r.component !== 'tokenizer');
    const coverage = coverageOf(own);
    const status = s.status === 'unavailable' ? 'unavailable' : failedRunners.has(name) ? 'fail' : coverage.checked!.length === 0 ? 'nothing-checked' : 'pass';
    // A shard whose chapters checked nothing of a runner (none ran, or all it ran is not exposed) says so; the merge judges it.
    const idle = context.shard !== undefined && status === 'nothing-checked';
    return {
      name,
      backend: s.backend,
      status,
      reason: idle ? `this shard (${context.shard!.index}/${context.shard!.count}) checked nothing of it: the merged report judges the whole run` : s.reason,
      ...(idle ? { idle: true as const } : {}),
      notExposed: s.notExposed,
      unsupportedModels: s.unsupportedModels ?? {},
      ...(stderr[s.id] ? { stderr: stderr[s.id] } : {}),
      ...coverage,
    };
  });
  const tokenizerNames = [...new Set(results.filter((r) => r.component === 'tokenizer').map((r) => r.runner))];
  const tokenizers: RunnerEntry[] = tokenizerNames.map((name) => ({ name, status: failedTokenizers.has(name) ? 'fail' : 'pass', notExposed: [], unsupportedModels: {} }));

  const skippedCounts = new Map<string, number>();
  // A skip line names its subject: the chapter it is in, then the test's own reason.
  const subjectOf = (t: TestOutcome) => (t.ancestors[0] ?? '').split(':')[0]!.trim();
  for (const t of tests) {
    if (t.status !== 'pending' && t.status !== 'skipped' && t.status !== 'todo') continue;
    const line = subjectOf(t) ? `${subjectOf(t)}: ${t.title}` : t.title;
    skippedCounts.set(line, (skippedCounts.get(line) ?? 0) + 1);
  }

  const count = (s: ResultStatus) => results.filter((r) => r.status === s).length;
  const failed =
    count('fail') > 0 ||
    count('error') > 0 ||
    tests.some((t) => t.status === 'failed' && !t.expectedFailure) ||
    [...runners, ...tokenizers].some((r) => r.status === 'fail' || (r.status === 'nothing-checked' && !r.idle)) ||
    // A run in which nothing passed checked nothing; a shard's share of that is the merge's to judge.
    (context.shard === undefined && !results.some((r) => r.status === 'pass')) ||
    (baseline?.strict === true && baseline.entries.some((e) => e.outcome === 'now-passing'));
  return {
    schemaVersion: 1,
    generatedAt: new Date().toISOString(),
    verdict: failed ? 'fail' : 'pass',
    ...(context.fixtures ? { fixtures: context.fixtures } : {}),
    ...(baseline ? { baseline } : {}),
    ...(context.shard ? { shard: context.shard } : {}),
    runners,
    tokenizers,
    results,
    summary: {
      pass: count('pass'),
      fail: count('fail'),
      'not-exposed': count('not-exposed'),
      'known-divergence': count('known-divergence'),
      error: count('error'),
      skipped: count('skipped'),
      'expected-fail': count('expected-fail'),
      total: results.length,
      tests: {
        passed: tests.filter((t) => t.status === 'passed').length,
        failed: tests.filter((t) => t.status === 'failed' && !t.expectedFailure).length,
        expectedFailures: tests.filter((t) => t.expectedFailure).length,
        skipped: tests.filter((t) => t.status !== 'passed' && t.status !== 'failed').length,
      },
    },
    skipped: [...skippedCounts].map(([title, n]) => ({ title, count: n })),
    tests,
  };
}

export function firstLine(message: string): string {
  // jest failure messages carry ANSI colours and a stack; the first meaningful line is the reason.
  const plain = message.replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split('\n').map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith('at ')) ?? plain;
}

/**
 * A failed test is expected when the baseline lists every failure it recorded (at least one). A test
 * stops at its first failed assertion, so that failure is the one it recorded.
 */
function failuresAllExpected(t: TestOutcome, results: ResultEntry[]): boolean {
  const own = results.filter((r) => r.test === t.fullName && (r.status === 'fail' || r.status === 'error' || r.status === 'expected-fail'));
  return own.length > 0 && own.every((r) => r.status === 'expected-fail');
}

/** Whether the run failed: the report's verdict. */
export function reportFailed(report: Report): boolean {
  return report.verdict === 'fail';
}

/** The title the reporter gives a spec file that failed to run as a whole. */
export const SUITE_FAILED = 'the suite failed to run';

/** Which building blocks a runner's results checked, which it did not expose at all, and the profiles it holds. */
function coverageOf(results: ResultEntry[]): Pick<RunnerEntry, 'checked' | 'notExposedBlocks' | 'profiles'> {
  const blocks = (status: ResultStatus) => new Set(results.filter((r) => r.status === status).map((r) => r.component));
  const passed = blocks('pass');
  const broken = new Set([...blocks('fail'), ...blocks('error')]);
  const notExposed = [...blocks('not-exposed')].filter((b) => !passed.has(b) && !broken.has(b));
  const holds = (profile: ProfileName) => PROFILES[profile].every((b) => passed.has(b) && !broken.has(b));
  const order = (xs: Iterable<string>) => [...xs].sort((a, b) => componentRank(a) - componentRank(b));
  return { checked: order(passed), notExposedBlocks: order(notExposed), profiles: { full: holds('full'), forward: holds('forward') } };
}

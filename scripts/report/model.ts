/**
 * The conformance report: what one run of the spec found, per runner and building block.
 * Built from the spec's records, the runner probe and jest's test outcomes; rendered as a terminal
 * matrix, JSON (schema in docs/report-schema.md), JUnit XML and HTML.
 */

export type ResultStatus = 'pass' | 'fail' | 'not-exposed' | 'known-divergence' | 'error' | 'skipped';

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
}

export interface RunnerEntry {
  name: string;
  backend?: string;
  status: 'pass' | 'fail' | 'unavailable';
  reason?: string;
  notExposed: string[];
  unsupportedModels: Record<string, string>;
  /** The end of what the runner's processes wrote to stderr in this run (runners in a process of their own). */
  stderr?: string;
}

export interface TestOutcome {
  fullName: string;
  title: string;
  ancestors: string[];
  file: string;
  status: 'passed' | 'failed' | 'pending' | 'skipped' | 'todo' | 'disabled' | 'focused';
  failureMessages: string[];
  durationMs?: number;
}

export interface Report {
  schemaVersion: 1;
  generatedAt: string;
  runners: RunnerEntry[];
  tokenizers: RunnerEntry[];
  results: ResultEntry[];
  summary: Record<ResultStatus, number> & { total: number; tests: { passed: number; failed: number; skipped: number } };
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

export function buildReport(records: ResultEntry[], probe: ProbeState[], tests: TestOutcome[], stderr: Record<string, string> = {}): Report {
  const results = [...records];
  // A failed test that recorded no failure threw or timed out: report it as an error of its building block.
  const failedWithRecord = new Set(records.filter((r) => (r.status === 'fail' || r.status === 'error') && r.test).map((r) => r.test));
  for (const t of tests) {
    if (t.status !== 'failed' || failedWithRecord.has(t.fullName)) continue;
    const runner = runnerOfTest(t);
    if (!runner) continue;
    results.push({ runner, component: blockOfTest(t), case: t.title, status: 'error', reason: firstLine(t.failureMessages[0] ?? 'failed'), test: t.fullName });
  }

  const failedRunners = new Set(results.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => r.runner));
  const runners: RunnerEntry[] = probe.map((s) => ({
    name: s.name ?? s.id,
    backend: s.backend,
    status: s.status === 'unavailable' ? 'unavailable' : failedRunners.has(s.name ?? s.id) ? 'fail' : 'pass',
    reason: s.reason,
    notExposed: s.notExposed,
    unsupportedModels: s.unsupportedModels ?? {},
    ...(stderr[s.id] ? { stderr: stderr[s.id] } : {}),
  }));
  const tokenizerNames = [...new Set(results.filter((r) => r.component === 'tokenizer').map((r) => r.runner))];
  const tokenizers: RunnerEntry[] = tokenizerNames.map((name) => ({ name, status: failedRunners.has(name) ? 'fail' : 'pass', notExposed: [], unsupportedModels: {} }));

  const skippedCounts = new Map<string, number>();
  for (const t of tests) if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') skippedCounts.set(t.title, (skippedCounts.get(t.title) ?? 0) + 1);

  const count = (s: ResultStatus) => results.filter((r) => r.status === s).length;
  return {
    schemaVersion: 1,
    generatedAt: new Date().toISOString(),
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
      total: results.length,
      tests: {
        passed: tests.filter((t) => t.status === 'passed').length,
        failed: tests.filter((t) => t.status === 'failed').length,
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

/** Whether the run failed: any failed result or failed test, or a runner asked for by name that could not load. */
export function reportFailed(report: Report): boolean {
  return report.summary.fail > 0 || report.summary.error > 0 || report.summary.tests.failed > 0;
}

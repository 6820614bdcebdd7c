/**
 * The kill matrix: for each mutant at each precision, the first spec row that failed it and its largest
 * tolerance usage, from the JSON report of one run of the spec over the catalogue (docs/report-schema.md).
 */
import type { Report } from '../../../scripts/report/model';
import { CORRECT_RUNNER, MUTANTS, mutantRunnerName, PRECISIONS, type Mutant, type Precision } from './catalogue';

export interface KillRow {
  mutant: Mutant;
  precision: Precision;
  /** The first failed test, in the spec's data-flow order; undefined when no test failed. */
  killedBy?: string;
  /** The quickest of the failed tests: the one spec/90 runs. */
  cheapest?: SpecRow;
  failed: number;
  /** The largest tolerance usage over every golden comparison it made (Infinity for NaN or a wrong shape). */
  usage: number;
  /** usage / the correct runner's largest usage at the same precision. */
  margin: number;
  /**
   * The bug's own effect in units of this precision's tolerances: from the float64 mutant's errors (where rounding is
   * negligible), the largest over its comparisons of min(max abs error / atol, max rel error / rtol), an upper bound.
   */
  effect: number;
  status: 'killed' | 'undetectable' | 'survived';
}

export interface KillMatrix {
  rows: KillRow[];
  correctUsage: Record<Precision, number>;
  /** Each correct runner's failed tests: there must be none. */
  correctFailures: Record<Precision, string[]>;
  smallestMargin: Record<Precision, { margin: number; mutant: string } | undefined>;
}

// A comparison with NaN or a wrong shape has usage ∞, which JSON writes as null.
const usageOf = (r: Report['results'][number]) => (r.usage === null ? Infinity : r.usage!);

const largestUsage = (report: Report, runner: string) =>
  report.results.filter((r) => r.runner === runner && r.usage !== undefined).reduce((m, r) => Math.max(m, usageOf(r)), 0);

/** Where a test's full name has its runner's tag: after the describeEachRunner title. */
export const RUNNER_TAG = '[RUNNER]';

/** A spec row: its file and its full name with the runner tag as RUNNER_TAG, which names it for every runner. */
export interface SpecRow {
  file: string;
  test: string;
  ms: number;
}

/** jest's reports come per file; the spec files are numbered in data-flow order, and tests keep their order within a file. */
function failedTests(report: Report, runner: string): SpecRow[] {
  return report.tests
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.status === 'failed' && t.fullName.includes(`[${runner}]`))
    .sort((a, b) => a.t.file.localeCompare(b.t.file) || a.i - b.i)
    .map(({ t }) => ({ file: `spec/${t.file.replace(/.*\/spec\//, '')}`, test: t.fullName.replace(`[${runner}]`, RUNNER_TAG), ms: t.durationMs ?? Infinity }));
}

const rowName = (r: SpecRow) => `${r.file.replace('spec/', '')}: ${r.test.replace(` ${RUNNER_TAG}`, '')}`;

/** See KillRow.effect; `table` is the tolerance table of the precision it is measured in. */
function effectSize(report: Report, runner: string, table: Record<string, { atol: number; rtol: number }>): number {
  let effect = 0;
  for (const r of report.results.filter((x) => x.runner === runner && x.maxAbsError !== undefined)) {
    const t = table[r.component];
    if (!t) continue;
    const abs = r.maxAbsError === null ? Infinity : r.maxAbsError!;
    const rel = r.maxRelError === null || r.maxRelError === undefined ? Infinity : r.maxRelError;
    effect = Math.max(effect, Math.min(abs / t.atol, rel / t.rtol));
  }
  return effect;
}

export function killMatrix(report: Report, tolerances: Record<Precision, Record<string, { atol: number; rtol: number }>>, names: string[] = MUTANTS.map((m) => m.name)): KillMatrix {
  const correctUsage = { float64: largestUsage(report, CORRECT_RUNNER.float64), float32: largestUsage(report, CORRECT_RUNNER.float32) };
  const correctFailures = { float64: failedTests(report, CORRECT_RUNNER.float64).map(rowName), float32: failedTests(report, CORRECT_RUNNER.float32).map(rowName) };
  const rows: KillRow[] = [];
  for (const mutant of MUTANTS.filter((m) => names.includes(m.name)))
    for (const precision of PRECISIONS) {
      const name = mutantRunnerName(mutant.name, precision);
      const failed = failedTests(report, name);
      const usage = largestUsage(report, name);
      const status = failed.length > 0 ? 'killed' : mutant.undetectable?.[precision] ? 'undetectable' : 'survived';
      const cheapest = [...failed].sort((a, b) => a.ms - b.ms)[0];
      const effect = effectSize(report, mutantRunnerName(mutant.name, 'float64'), tolerances[precision]);
      rows.push({ mutant, precision, killedBy: failed[0] && rowName(failed[0]), cheapest, failed: failed.length, usage, margin: usage / correctUsage[precision], effect, status });
    }
  const smallestMargin = Object.fromEntries(
    PRECISIONS.map((p) => {
      const killed = rows.filter((r) => r.precision === p && r.status === 'killed').sort((a, b) => a.margin - b.margin);
      return [p, killed[0] && { margin: killed[0].margin, mutant: killed[0].mutant.name }];
    }),
  ) as KillMatrix['smallestMargin'];
  return { rows, correctUsage, correctFailures, smallestMargin };
}

const fmt = (x: number) => (x === Infinity ? '∞ (NaN or shape)' : x >= 100 ? x.toExponential(2) : x.toPrecision(3));

/** The matrix as a terminal table. */
export function renderKillMatrix(m: KillMatrix): string {
  const lines = [`mutants: ${m.rows.length / PRECISIONS.length}, each in ${PRECISIONS.join(' and ')}`, ''];
  for (const r of m.rows) {
    const what = r.status === 'killed' ? `killed by ${r.killedBy}` : `${r.status === 'undetectable' ? 'undetectable' : 'SURVIVED'} (effect ≤ ${fmt(r.effect)} of a tolerance): ${r.mutant.undetectable?.[r.precision] ?? ''}`;
    lines.push(`${`${r.mutant.name}/${r.precision}`.padEnd(42)} usage ${fmt(r.usage).padEnd(17)} ${what}`);
  }
  lines.push('', ...summary(m));
  return `${lines.join('\n')}\n`;
}

function summary(m: KillMatrix): string[] {
  return PRECISIONS.map((p) => {
    const rows = m.rows.filter((r) => r.precision === p);
    const killed = rows.filter((r) => r.status === 'killed').length;
    const undetectable = rows.filter((r) => r.status === 'undetectable').length;
    const s = m.smallestMargin[p];
    return `${p}: ${killed} killed, ${undetectable} undetectable, ${rows.length - killed - undetectable} survived; the correct runner (${CORRECT_RUNNER[p]}) uses at most ${fmt(m.correctUsage[p])} of a tolerance${m.correctFailures[p].length ? ` and FAILS ${m.correctFailures[p].length} tests` : ''}; smallest margin ${s ? `${fmt(s.margin)}× (${s.mutant})` : 'none'}`;
  });
}

/** The matrix as the generated docs page. */
export function renderKillMatrixMarkdown(m: KillMatrix, command: string): string {
  const cell = (r: KillRow | undefined) =>
    !r ? '' : r.status === 'killed' ? `${fmt(r.usage)}${Number.isFinite(r.margin) ? ` (${fmt(r.margin)}×)` : ''}` : `${r.status === 'undetectable' ? 'undetectable' : '**survived**'}: effect ≤ ${fmt(r.effect)} of a tolerance, usage ${fmt(r.usage)}${r.mutant.undetectable?.[r.precision] ? `; ${r.mutant.undetectable[r.precision]}` : ''}`;
  const first = (r: KillRow | undefined) => (r?.killedBy ? `\`${r.killedBy.replace(/\|/g, '\\|')}\`` : '');
  const lines = [
    '# The mutation catalogue',
    '',
    `Generated by \`${command}\`; do not edit by hand. The mutants are in \`spec/support/mutants/catalogue.ts\`: the reference`,
    'runner with one realistic bug each, in float64 and in float32 (the naive float32 reference, `spec/support/mutants/float32.ts`,',
    'with the same bug, returning float32 tensors). Each cell gives the largest tolerance usage of any golden comparison, and in',
    "brackets the margin: that usage divided by the correct runner's largest usage at the same precision. The first row is the",
    'first spec row, in data-flow order, that failed the float64 mutant. The run covers the small-vocabulary models (gpt2-mini,',
    "gpt2-sharp); `spec/90-mutants.spec.ts` proves in every `npm run test:e2e` that each detectable mutant fails its cheapest killing row.",
    '',
    ...summary(m).map((s) => `- ${s}`),
    '',
    '| mutant | building block | bug | float64 | float32 | first row that fails it (float64) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const mutant of MUTANTS.filter((x) => m.rows.some((r) => r.mutant === x))) {
    const r64 = m.rows.find((r) => r.mutant === mutant && r.precision === 'float64');
    const r32 = m.rows.find((r) => r.mutant === mutant && r.precision === 'float32');
    lines.push(`| \`${mutant.name}\` | ${mutant.block} | ${mutant.bug} | ${cell(r64)} | ${cell(r32)} | ${first(r64) || first(r32)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The rows spec/90 runs: the cheapest killing row of each mutant at each precision. */
export function cheapestKills(m: KillMatrix): Record<string, { file: string; test: string }> {
  return Object.fromEntries(m.rows.filter((r) => r.cheapest).map((r) => [`${r.mutant.name}/${r.precision}`, { file: r.cheapest!.file, test: r.cheapest!.test }]));
}

/**
 * gpt2-spec in someone else's CI: expected failures (a baseline file), and a matrix larger than one
 * machine (shards, merged into one report and one verdict).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../runners/paths';
import { applyBaseline, baselineOf, parseBaseline, readBaseline, type BaselineUse } from '../scripts/report/baseline';
import { renderJunit } from '../scripts/report/junit';
import { MergeError, mergeReports } from '../scripts/report/merge';
import { buildReport, parseShard, type ProbeState, type Report, type ResultEntry, type TestOutcome } from '../scripts/report/model';
import { cli } from './support/cli';
import { tempDir } from './support/temp';

const planted = join(packageRoot(), 'spec/support/adapters/planted-bug-layer-1.ts');
const probe: ProbeState[] = [{ id: 'mine', name: 'mine', status: 'available', notExposed: [] }];

/** One test of one runner, as the reporter sees it, with the record it left. */
function testOf(title: string, component: string, status: 'pass' | 'fail', file = 'spec/05-feed-forward.spec.ts'): { test: TestOutcome; result: ResultEntry } {
  const fullName = `Feed-forward [mine] ${title}`;
  const test: TestOutcome = { fullName, title, ancestors: ['Feed-forward', 'x [mine]'], file, status: status === 'pass' ? 'passed' : 'failed', failureMessages: status === 'fail' ? [`${title}: outside tolerance`] : [] };
  const reason = status === 'fail' ? `${title}: outside tolerance` : undefined;
  return { test, result: { runner: 'mine', component, case: title, tensor: `${title}.t`, status, test: fullName, reason } };
}

function run(parts: ReturnType<typeof testOf>[], baseline?: BaselineUse, shard?: { index: number; count: number }): Report {
  return buildReport(parts.map((p) => p.result), probe, parts.map((p) => p.test), { baseline, shard });
}

const use = (entries: object[], strict = false): BaselineUse => ({ file: 'baseline.json', sha256: 'x', strict, entries: entries.map((e) => ({ ...(e as { runner: string; component: string }), outcome: 'not-run', failures: 0, passes: 0 })) });

describe('Expected failures: a baseline file lets a partial implementation gate its CI on new failures only', () => {
  const ok = testOf('case-a', 'mlp.output', 'pass');
  const bad = testOf('case-b', 'mlp.output', 'fail');

  it('a failure the baseline lists is reported as expected-fail, keeping what it was, and the verdict is PASS', () => {
    const report = run([ok, bad], use([{ runner: 'mine', component: 'mlp.output', case: 'case-b' }]));
    const row = report.results.find((r) => r.case === 'case-b')!;
    expect(row.status).toBe('expected-fail');
    expect(row.was).toBe('fail');
    expect(report.verdict).toBe('pass');
  });

  it('a failure the baseline does not list still fails the run', () => {
    const other = testOf('case-c', 'mlp.output', 'fail');
    const report = run([ok, bad, other], use([{ runner: 'mine', component: 'mlp.output', case: 'case-b' }]));
    expect(report.results.find((r) => r.case === 'case-c')!.status).toBe('fail');
    expect(report.verdict).toBe('fail');
  });

  it('an entry names its runner: the same row of another runner is not covered', () => {
    const report = run([ok, bad], use([{ runner: 'someone-else', component: 'mlp.output' }]));
    expect(report.verdict).toBe('fail');
  });

  it('an entry without a case covers every case of its row', () => {
    const report = run([ok, bad, testOf('case-c', 'mlp.output', 'fail')], use([{ runner: 'mine', component: 'mlp.output' }]));
    expect(report.summary['expected-fail']).toBe(2);
    expect(report.verdict).toBe('pass');
  });

  it('a listed failure that now passes is reported, and fails the run only under --strict', () => {
    const entries = [{ runner: 'mine', component: 'mlp.output', case: 'case-a' }];
    const lenient = run([ok], use(entries));
    expect(lenient.baseline!.entries[0]!.outcome).toBe('now-passing');
    expect(lenient.verdict).toBe('pass');
    expect(run([ok], use(entries, true)).verdict).toBe('fail');
  });

  it('an entry that matched nothing is "not run here", not "now passing" (another shard, or a filter)', () => {
    const report = run([ok], use([{ runner: 'mine', component: 'embed' }], true));
    expect(report.baseline!.entries[0]!.outcome).toBe('not-run');
    expect(report.verdict).toBe('pass');
  });

  it('a baseline cannot turn a run that checked nothing into a pass', () => {
    const report = run([bad], use([{ runner: 'mine', component: 'mlp.output' }]));
    expect(report.runners[0]!.status).toBe('nothing-checked');
    expect(report.verdict).toBe('fail');
  });

  it('JUnit shows an expected failure as skipped, with why, so that CI dashboards stay green on it', () => {
    const xml = renderJunit(run([ok, bad], use([{ runner: 'mine', component: 'mlp.output' }])));
    expect(xml).toContain('failures="0"');
    expect(xml).toContain('<skipped message="expected failure (baseline): case-b: outside tolerance"/>');
  });

  it("JUnit carries each runner process's stderr, escaped, in system-err", () => {
    const report = buildReport([ok.result], probe, [ok.test], { stderr: { mine: 'loaded <weights> & warmed up\n' } });
    expect(renderJunit(report)).toContain('<system-err>--- mine ---\nloaded &lt;weights&gt; &amp; warmed up\n</system-err>');
  });

  it('--write-baseline lists every failure once, by runner, row, case and tensor', () => {
    const written = baselineOf(run([ok, bad, bad]));
    expect(written.expectedFailures).toEqual([{ runner: 'mine', component: 'mlp.output', case: 'case-b', tensor: 'case-b.t', reason: 'case-b: outside tolerance' }]);
  });

  it('only a fail or an error can be expected: a pass the baseline names stays a pass', () => {
    const { results } = applyBaseline([ok.result], use([{ runner: 'mine', component: 'mlp.output' }]));
    expect(results[0]!.status).toBe('pass');
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['the wrong format version', '{"formatVersion":2,"expectedFailures":[]}', /formatVersion must be 1/],
    ['no list', '{"formatVersion":1}', /expectedFailures must be an array/],
    ['an entry without its row', '{"formatVersion":1,"expectedFailures":[{"runner":"x"}]}', /expectedFailures\[0\]\.component must be a non-empty string/],
    ['an unknown field (a typo must not widen an entry)', '{"formatVersion":1,"expectedFailures":[{"runner":"x","component":"embed","cases":"y"}]}', /unknown field "cases"/],
  ])('a malformed baseline is refused, naming the problem: %s', (_what, text, message) => {
    expect(() => parseBaseline(text, 'b.json')).toThrow(message);
  });
});

describe('Shards: the CI system runs the spec in parts, and `report merge` judges the whole', () => {
  const embed = testOf('case-e', 'embed', 'pass', 'spec/02-embedding.spec.ts');
  const mlp = testOf('case-m', 'mlp.output', 'pass');

  it('i/n is parsed and checked: 1 ≤ i ≤ n', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '1/0', '1', 'a/b', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard needs i\/n/);
  });

  it("a shard that checked nothing of a runner (none of its chapters, or only what it does not expose) does not fail for it; the merge judges it", () => {
    const empty = run([], undefined, { index: 2, count: 2 });
    expect(empty.runners[0]!.idle).toBe(true);
    expect(empty.runners[0]!.status).toBe('nothing-checked');
    expect(empty.verdict).toBe('pass');
    const hidden = { ...testOf('case-g', 'generation', 'pass'), result: { ...testOf('case-g', 'generation', 'pass').result, status: 'not-exposed' as const } };
    const withOther = buildReport([hidden.result, { ...embed.result, runner: 'other' }], [...probe, { id: 'other', name: 'other', status: 'available', notExposed: [] }], [hidden.test, embed.test], { shard: { index: 1, count: 2 } });
    expect(withOther.runners.find((r) => r.name === 'mine')!.idle).toBe(true);
    expect(withOther.verdict).toBe('pass');
  });

  it("the merged report holds every shard's results and tests, and one verdict", () => {
    const a = { path: 'a.json', report: run([embed], undefined, { index: 1, count: 2 }) };
    const b = { path: 'b.json', report: run([mlp], undefined, { index: 2, count: 2 }) };
    const merged = mergeReports([a, b]);
    expect(merged.results.map((r) => r.component).sort()).toEqual(['embed', 'mlp.output']);
    expect(merged.tests).toHaveLength(2);
    expect(merged.shard).toBeUndefined();
    expect(merged.verdict).toBe('pass');
  });

  it('a failure in any shard fails the merged verdict', () => {
    const a = { path: 'a.json', report: run([embed], undefined, { index: 1, count: 2 }) };
    const b = { path: 'b.json', report: run([testOf('case-m', 'mlp.output', 'fail')], undefined, { index: 2, count: 2 }) };
    expect(mergeReports([a, b]).verdict).toBe('fail');
  });

  it('a runner idle in every shard is nothing-checked in the merge, and fails it', () => {
    const a = { path: 'a.json', report: run([], undefined, { index: 1, count: 2 }) };
    const b = { path: 'b.json', report: run([], undefined, { index: 2, count: 2 }) };
    expect(mergeReports([a, b]).verdict).toBe('fail');
  });

  it('the baseline is judged over the whole run: an entry "not run" in one shard and failing in another still fails', () => {
    const entries = [{ runner: 'mine', component: 'mlp.output' }];
    const bad = testOf('case-m', 'mlp.output', 'fail');
    const a = { path: 'a.json', report: run([embed], use(entries), { index: 1, count: 2 }) };
    const b = { path: 'b.json', report: run([bad], use(entries), { index: 2, count: 2 }) };
    const merged = mergeReports([a, b]);
    expect(merged.baseline!.entries[0]!.outcome).toBe('still-failing');
    expect(merged.verdict).toBe('pass');
  });

  it.each([
    ['a missing shard', [[1, 3], [2, 3]], /shard 3\/3 missing/],
    ['a shard given twice', [[1, 2], [1, 2]], /shard 1\/2 is given twice/],
    ['shards of different splits', [[1, 2], [2, 3]], /is shard 2\/3, but a0.json is of 2/],
  ])('reports that are not the whole of one run are refused: %s', (_what, shards, message) => {
    const parts = (shards as number[][]).map(([index, count], i) => ({ path: `a${i}.json`, report: run([testOf(`c${i}`, 'embed', 'pass', `spec/0${i}.spec.ts`)], undefined, { index: index!, count: count! }) }));
    expect(() => mergeReports(parts)).toThrow(message);
  });

  it('two runs of the same part are refused: their tests overlap', () => {
    const a = { path: 'a.json', report: run([embed]) };
    const b = { path: 'b.json', report: run([embed]) };
    expect(() => mergeReports([a, b])).toThrow(MergeError);
  });

  it('reports checked against different fixtures are refused', () => {
    const fixtures = (sha: string) => ({ dir: 'f', shipped: true, manifestSha256: sha, tolerancesSha256: 't' });
    const a = { path: 'a.json', report: { ...run([embed]), fixtures: fixtures('aaa') } };
    const b = { path: 'b.json', report: { ...run([mlp]), fixtures: fixtures('bbb') } };
    expect(() => mergeReports([a, b])).toThrow(/different fixtures/);
  });
});

describe('The command line: check --baseline / --write-baseline / --strict / --shard, and report merge', () => {
  const dir = tempDir('gpt2-spec-ci-');
  const baseline = join(dir, 'baseline.json');

  // One planted bug (block 1's MLP uses the erf GELU): its failures written as a baseline, then judged with it.
  const written = cli(['check', '--runner', planted, '--only', 'mlp', '--write-baseline', baseline]);
  const judged = cli(['check', '--runner', planted, '--only', 'mlp', '--baseline', baseline]);

  it('--write-baseline writes the run’s failures; the run itself still fails (exit 1)', () => {
    expect(written.code).toBe(1);
    expect(readBaseline(baseline, false).entries.length).toBeGreaterThan(0);
  });

  it('with that baseline the same run passes (exit 0), and says how many failures were expected', () => {
    expect(judged.stdout).toMatch(/Baseline .*: (\d+) expected failures? listed; \1 still fail, 0 now pass/);
    expect(judged.stdout).toContain('Verdict: PASS');
    expect(judged.code).toBe(0);
  });

  it('without one entry of it, the failure that entry covered fails the run again (exit 1)', () => {
    const text = JSON.parse(readFileSync(baseline, 'utf8')) as { expectedFailures: unknown[] };
    text.expectedFailures.pop();
    const smaller = join(dir, 'smaller.json');
    writeFileSync(smaller, JSON.stringify(text));
    const r = cli(['check', '--runner', planted, '--only', 'mlp', '--baseline', smaller]);
    expect(r.stdout).toContain('Verdict: FAIL');
    expect(r.code).toBe(1);
  });

  it('a malformed baseline, --strict alone, or a bad --shard is one line and exit 2, before anything runs', () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"formatVersion":1,"expectedFailures":[{"runner":"x"}]}');
    for (const args of [['--baseline', broken], ['--strict'], ['--shard', '3/2']]) {
      const r = cli(['check', '--runner', planted, ...args]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
    }
  });

  it('the shards of a run, merged, give the verdict of the run: FAIL, exit 1, every failure kept', () => {
    const shards = [1, 2].map((i) => join(dir, `shard-${i}.json`));
    const runs = shards.map((json, i) => cli(['check', '--runner', planted, '--only', 'mlp|embed', '--shard', `${i + 1}/2`, '--json', json]));
    for (const r of runs) expect(r.stdout).toMatch(/Shard \d\/2: this verdict covers this shard's chapters only/);
    const merged = cli(['report', 'merge', ...shards, '--json', join(dir, 'merged.json'), '--junit', join(dir, 'merged.xml')]);
    expect(merged.stdout).toContain('Verdict: FAIL');
    expect(merged.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as Report;
    expect(new Set(report.results.map((r) => r.component))).toEqual(new Set(['embed', 'validation', 'mlp.output']));
  });

  it('report merge refuses an incomplete set of shards with one line and exit 2', () => {
    const r = cli(['report', 'merge', join(dir, 'shard-1.json')]);
    expect(r.stderr).toMatch(/shard 2\/2 missing/);
    expect(r.code).toBe(2);
  });
});

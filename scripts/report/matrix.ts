/** The conformance matrix for the terminal: building blocks as rows, runners as columns. */
import { componentRank, type Report, type ResultEntry, type RunnerEntry } from './model';
import { firstLine, shown } from './shown';

/** One cell: pass with the share of tolerance used, fail with the max error, not exposed, known divergence, or error. */
export function cellText(results: ResultEntry[]): string {
  if (results.length === 0) return '-';
  const by = (s: ResultEntry['status']) => results.filter((r) => r.status === s);
  const errors = by('error');
  const fails = by('fail');
  if (fails.length > 0) {
    const worst = Math.max(...fails.map((r) => r.maxAbsError ?? NaN).filter((e) => Number.isFinite(e)));
    return `FAIL ${fails.length}/${results.length}${Number.isFinite(worst) ? ` max err ${worst.toExponential(1)}` : ''}`;
  }
  if (errors.length > 0) return `ERROR ${errors.length}`;
  const parts: string[] = [];
  if (by('expected-fail').length) parts.push(`expected fail ${by('expected-fail').length}`);
  const passes = by('pass');
  if (passes.length) {
    const usages = passes.map((r) => r.usage).filter((u): u is number => typeof u === 'number' && Number.isFinite(u));
    parts.push(usages.length ? `pass ${formatPercent(Math.max(...usages))}` : 'pass');
  }
  if (by('known-divergence').length) parts.push(`known divergence ${by('known-divergence').length}`);
  if (by('not-exposed').length) parts.push('not exposed');
  return parts.join(', ');
}

/** The baseline's part: which listed failures still fail, which now pass (they fail a --strict run), which did not run here. */
function baselineLines(report: Report): string[] {
  const b = report.baseline!;
  const of = (o: string) => b.entries.filter((e) => e.outcome === o);
  const name = (e: (typeof b.entries)[number]) => `${shown(e.runner)} ${e.component}${e.case ? ` ${e.case}` : ''}${e.tensor ? ` ${e.tensor}` : ''}`;
  const lines = [`Baseline ${shown(b.file)}: ${b.entries.length} expected failure${b.entries.length === 1 ? '' : 's'} listed; ${of('still-failing').length} still fail, ${of('now-passing').length} now pass, ${of('not-run').length} not run here${b.strict ? ' (--strict)' : ''}`];
  for (const e of of('now-passing')) lines.push(`  now passing${b.strict ? ' (fails the run under --strict)' : ''}: ${name(e)}: remove it from the baseline`);
  for (const e of of('not-run')) lines.push(`  not run here: ${name(e)}`);
  return lines;
}

export function formatPercent(usage: number): string {
  const p = usage * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
}

const statusWord = (r: RunnerEntry) => (r.status === 'nothing-checked' ? 'NOTHING CHECKED' : r.status.toUpperCase());

/** How much of the spec a runner was checked on: blocks checked, blocks not exposed, profiles held. */
function coverageLine(r: RunnerEntry): string {
  const held = Object.entries(r.profiles ?? {}).filter(([, ok]) => ok).map(([p]) => p);
  const exposed = r.notExposedBlocks?.length ? `, ${r.notExposedBlocks.length} not exposed` : '';
  const n = r.checked!.length;
  return `${n} building block${n === 1 ? '' : 's'} checked${exposed}; profiles: ${held.length ? held.join(', ') : 'none'}`;
}

/**
 * A failure on one line: a comparison's whole reason (tolerance, max errors, usage, the worst index with got
 * against golden) with its lines joined and the tensor's name, already on the line, left out.
 */
function failureDetail(p: ResultEntry): string {
  let reason = (p.reason ?? '').trim();
  if (p.tensor && reason.startsWith(`${p.tensor}: `)) reason = reason.slice(p.tensor.length + 2);
  const oneLine = p.maxAbsError === undefined ? reason.split('\n')[0]! : reason.split('\n').map((l) => l.trim()).join('; ');
  return shown(oneLine).slice(0, 400);
}

/** The runner's stderr lines the console shows; the JSON report has more. */
const STDERR_LINES = 3;

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length));

export function renderMatrix(report: Report, files: { json?: string } = {}): string {
  const out: string[] = ['', 'gpt2-spec conformance', ''];
  if (report.fixtures) {
    const f = report.fixtures;
    out.push(`Fixtures: ${f.shipped ? 'the shipped ones' : shown(f.dir)} (manifest sha256 ${f.manifestSha256.slice(0, 12)}…, tolerances ${f.tolerancesSha256.slice(0, 12)}…)`, '');
  }
  out.push('Runners:');
  for (const r of report.runners) {
    out.push(`  ${pad(shown(r.name), 16)}${r.status === 'unavailable' ? `unavailable: ${firstLine(r.reason)}` : `${statusWord(r)}  ${shown(r.backend)}`}`);
    if (r.checked) out.push(`  ${pad('', 16)}${coverageLine(r)}`);
    if (r.notExposed.length) out.push(`  ${pad('', 16)}not exposed: ${r.notExposed.join(', ')}`);
    for (const [model, why] of Object.entries(r.unsupportedModels)) out.push(`  ${pad('', 16)}not run on ${model}: ${firstLine(why)}`);
    const stderr = (r.stderr ?? '').trimEnd().split('\n').filter(Boolean).slice(-STDERR_LINES);
    if (stderr.length) out.push(`  ${pad('', 16)}stderr ends:`, ...stderr.map((l) => `  ${pad('', 16)}| ${shown(l).slice(0, 160)}`));
  }
  for (const t of report.tokenizers) out.push(`  ${pad(shown(t.name), 16)}${t.status.toUpperCase()}  tokenizer`);

  // Runners in selection order, then tokenizers, then anything else that recorded a result.
  const columns = [...new Set([...report.runners.map((r) => r.name), ...report.tokenizers.map((t) => t.name), ...report.results.map((r) => r.runner)])].filter((name) =>
    report.results.some((r) => r.runner === name),
  );
  const components = [...new Set(report.results.map((r) => r.component))].sort((a, b) => componentRank(a) - componentRank(b) || a.localeCompare(b));
  if (columns.length > 0) {
    const cells = components.map((c) => columns.map((r) => cellText(report.results.filter((x) => x.component === c && x.runner === r))));
    const widths = columns.map((name, j) => Math.max(shown(name).length, ...cells.map((row) => row[j]!.length)) + 2);
    out.push('', pad('building block', 20) + columns.map((name, j) => pad(shown(name), widths[j]!)).join(''));
    components.forEach((c, i) => out.push(pad(c, 20) + cells[i]!.map((cell, j) => pad(cell, widths[j]!)).join('')));
    out.push('', 'pass N% = the largest share of the tolerance used (a correct float32 runner stays under 10%).');
  }
  const divergences = report.results.filter((r) => r.status === 'known-divergence');
  if (divergences.length) {
    out.push('', `Known divergences (${divergences.length}):`);
    for (const d of divergences) out.push(`  ${shown(d.runner)} ${d.case}: ${firstLine(d.reason)}`);
  }
  const problems = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
  if (problems.length) {
    // At most a few lines per runner and building block, in data-flow order, so that every broken block shows.
    out.push('', `Failures (${problems.length}):`);
    const groups = new Map<string, ResultEntry[]>();
    for (const p of [...problems].sort((a, b) => componentRank(a.component) - componentRank(b.component))) {
      const key = `${shown(p.runner)} ${p.component}`;
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const [key, group] of groups) {
      for (const p of group.slice(0, 3)) out.push(`  ${key} ${p.case}${p.tensor ? ` ${p.tensor}` : ''}: ${failureDetail(p)}`);
      if (group.length > 3) out.push(`  ${key}: ... and ${group.length - 3} more (${files.json ? `all of them in ${files.json}` : 'add --json FILE for all of them'})`);
    }
  }
  if (report.baseline) out.push('', ...baselineLines(report));
  if (report.skipped.length) {
    out.push('', `Skipped (${report.skipped.reduce((n, s) => n + s.count, 0)}), each with its reason:`);
    for (const s of report.skipped) out.push(`  ${s.count > 1 ? `${s.count}× ` : ''}${shown(s.title)}`);
  }
  const s = report.summary;
  const expected = report.baseline ? `, ${s['expected-fail']} expected fail` : '';
  out.push('', `Results: ${s.pass} pass, ${s.fail} fail, ${s.error} error${expected}, ${s['not-exposed']} not exposed, ${s['known-divergence']} known divergence`);
  if (report.shard) out.push(`Shard ${report.shard.index}/${report.shard.count}: this verdict covers this shard's chapters only; \`gpt2-spec report merge\` gives the whole run's.`);
  out.push(`Verdict: ${report.verdict.toUpperCase()}`);
  return `${out.join('\n')}\n`;
}

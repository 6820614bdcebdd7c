/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) that a
 * reader of a GPT-2 tutorial can follow: what was checked, the conformance matrix, each building
 * block's error against its tolerance, one case's tokens and attention weights, and what went wrong.
 * Results are aggregated, never listed one by one, so that a full run stays well under 2 MB.
 */
import { renderCaseSections, SVG_DEFS, type SampledResult } from './html-attention';
import { perCaseTable, usageBars } from './html-bars';
import { isError, loadFixtureAccess, loadTokenDecoder, type HtmlSources } from './html-sources';
import { CSS } from './html-style';
import { COMPONENT_DESCRIPTION, esc, groupBy, shorten, STATUS_LABEL, STATUS_MARK, STATUS_ORDER, statusClass, slug, worstStatus } from './html-util';
import { cellText } from './matrix';
import { componentRank, firstLine, reportFailed, runnerOfTest, type Report, type ResultEntry, type RunnerEntry } from './model';
import { shown } from './shown';

export type { HtmlSources } from './html-sources';

/** Failures per runner and building block: this many in view, this many more folded away; the JSON report has them all. */
const SHOWN_PER_GROUP = 3;
const FOLDED_PER_GROUP = 20;
/** What a runner process wrote to stderr, folded away, with its control characters shown. */
function stderrBlock(stderr: string | undefined): string {
  if (!stderr) return '';
  return `<details><summary>stderr</summary><pre class="reason">${esc(shown(stderr))}</pre></details>`;
}

/** A reason longer than this is cut (the JSON report has it whole). */
const MAX_REASON = 1500;
/** The blocks whose output is ids, compared exactly rather than within a tolerance. */
const EXACT_COMPONENTS = new Set(['tokenizer', 'generation']);

/**
 * Renders the page. The golden fixtures and GPT-2's tokenizer are loaded here unless given in
 * `sources` (the tests give their own); when one cannot be loaded the page says so and goes on.
 */
export function renderHtml(report: Report, sources: Partial<HtmlSources> = {}): string {
  const src: HtmlSources = {
    fixtures: sources.fixtures ?? loadFixtureAccess(),
    tokenizer: sources.tokenizer ?? loadTokenDecoder(),
  };
  const results = report.results as SampledResult[];
  const columns = columnsOf(report);
  const components = [...new Set(results.map((r) => r.component))].sort((a, b) => componentRank(a) - componentRank(b) || a.localeCompare(b));
  const cases = renderCaseSections(results, src);

  const body = [
    header(report, src),
    section('matrix', 'Which building blocks each runner gets right', matrix(report, columns, components)),
    section('errors', 'How much of each tolerance the runners used', errorBars(results, columns, components)),
    section('tokens', 'How the case’s text becomes tokens', cases.tokenization),
    section('attention', 'What each attention head looks at', cases.attention),
    section('problems', 'What failed, what differs on purpose, and what was skipped', problems(report)),
    `<footer>Written by <code>gpt2-spec check</code>. The JSON report (<code>--json</code>) holds every result; its schema is in docs/report-schema.md.</footer>`,
  ].join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gpt2-spec conformance report</title>
<style>${CSS}</style>
</head>
<body>
${SVG_DEFS}
<main>
${body}
</main>
</body>
</html>
`;
}


/** The matrix's columns: the runners in selection order, then the tokenizers, then anything else that recorded a result. */
function columnsOf(report: Report): string[] {
  return [...new Set([...report.runners.map((r) => r.name), ...report.tokenizers.map((t) => t.name), ...report.results.map((r) => r.runner)])];
}

const section = (id: string, title: string, content: string) => `<section id="${id}">\n<h2>${esc(title)}</h2>\n${content}\n</section>`;

function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function header(report: Report, src: HtmlSources): string {
  const s = report.summary;
  const failed = reportFailed(report);
  const nothing = report.results.length === 0 && report.tests.length === 0;
  const verdict = nothing
    ? '<div class="verdict bad">Nothing was checked.</div>'
    : failed
      ? `<div class="verdict bad">✗ Something does not conform: ${esc(problemsInWords(report))}.</div>`
      : `<div class="verdict ok">✓ Everything checked conforms${s['known-divergence'] ? `, apart from ${s['known-divergence']} known divergence${s['known-divergence'] === 1 ? '' : 's'}` : ''}.</div>`;
  const counts = [
    [`${s.pass} pass`, 'pass'],
    [`${s.fail} fail`, 'fail'],
    [`${s.error} error`, 'error'],
    [`${s['not-exposed']} not exposed`, 'not-exposed'],
    [`${s['known-divergence']} known divergence`, 'known-divergence'],
  ]
    .map(([text, st]) => `<li class="st-${st}">${STATUS_MARK[st as keyof typeof STATUS_MARK]} ${esc(text)}</li>`)
    .join('');
  const tests = `<li>jest: ${s.tests.passed} tests passed, ${s.tests.failed} failed, ${s.tests.skipped} skipped</li>`;

  const fx = src.fixtures;
  const fixtures = isError(fx)
    ? `<p class="note">The golden fixtures could not be read for the pictures: ${esc(fx.error)}</p>`
    : `<p><b>Fixtures:</b> <code>${esc(fx.dir)}</code>${fx.madeBy ? `, computed by ${esc(fx.madeBy)}` : ''}; models ${fx.models.map((m) => esc(m)).join('; ')}.</p>`;

  return `<header>
<h1>gpt2-spec conformance report</h1>
<div class="small">Run of ${esc(formatDate(report.generatedAt))} · ${report.runners.length} runner${report.runners.length === 1 ? '' : 's'}, ${report.tokenizers.length} tokenizer${report.tokenizers.length === 1 ? '' : 's'} · ${s.total} results</div>
${verdict}
<ul class="counts">${counts}${tests}</ul>
<nav class="toc"><a href="#matrix">Matrix</a><a href="#errors">Error vs tolerance</a><a href="#tokens">Tokens</a><a href="#attention">Attention</a><a href="#problems">Failures and skips</a></nav>
<div class="explain"><p><b>How to read this page.</b> GPT-2 turns text into token ids, looks up a vector for each token, passes the vectors through a stack of transformer blocks (layer norm, self-attention, feed-forward) and ends with a score for every possible next token. The spec checks each of these building blocks on its own: every runner gets exactly the inputs that a float64 run of Hugging Face <i>transformers</i> got, and its output (the "golden" one is the reference) must agree within a tolerance, |runner − golden| ≤ atol + rtol·|golden|. A percentage is the largest share of that tolerance a runner used anywhere: 100% is the limit, a correct float32 runner stays under 10%, and a float64 runner far below. Read the matrix top to bottom, as the data flows: the first red row is usually where a bug starts, and the rows below it inherit it.</p></div>
<h3>What was checked</h3>
${runnerTable(report)}
${fixtures}
</header>`;
}

function problemsInWords(report: Report): string {
  const s = report.summary;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const parts: string[] = [];
  if (s.fail) parts.push(plural(s.fail, 'comparison failed', 'comparisons failed'));
  if (s.error) parts.push(plural(s.error, 'check ended in an error', 'checks ended in an error'));
  const orphans = report.tests.filter((t) => t.status === 'failed' && !runnerOfTest(t)).length;
  if (orphans) parts.push(plural(orphans, 'test file failed to run', 'test files failed to run'));
  const otherTests = s.tests.failed - orphans;
  if (parts.length === 0 && otherTests > 0) parts.push(plural(otherTests, 'test failed', 'tests failed'));
  return parts.join(', ') || 'see the failures below';
}

function runnerTable(report: Report): string {
  const rows = [
    ...report.runners.map((r) => runnerRow(r, 'model runner')),
    ...report.tokenizers.map((t) => runnerRow(t, 'tokenizer')),
  ];
  if (rows.length === 0) return '<p class="note">No runner or tokenizer was selected.</p>';
  return `<table class="runners"><tr><th>name</th><th>kind</th><th>backend</th><th>status</th><th>notes</th></tr>${rows.join('')}</table>`;
}

function runnerRow(r: RunnerEntry, kind: string): string {
  const status = r.status === 'unavailable' ? 'not-exposed' : r.status === 'nothing-checked' ? 'fail' : r.status;
  const label = { unavailable: '∅ unavailable', pass: '✓ pass', fail: '✗ fail', 'nothing-checked': '✗ nothing checked' }[r.status];
  const notes: string[] = [];
  if (r.reason) notes.push(r.reason);
  if (r.checked) notes.push(`checked: ${r.checked.length ? r.checked.join(', ') : 'nothing'}`);
  const held = Object.entries(r.profiles ?? {}).filter(([, ok]) => ok).map(([p]) => p);
  if (r.profiles) notes.push(`profiles: ${held.length ? held.join(', ') : 'none'}`);
  if (r.notExposed.length) notes.push(`does not expose ${r.notExposed.join(', ')}`);
  for (const [model, why] of Object.entries(r.unsupportedModels)) notes.push(`not run on ${model}: ${why}`);
  return `<tr><td><code>${esc(r.name)}</code></td><td>${esc(kind)}</td><td>${esc(r.backend ?? '')}</td><td><span class="badge ${statusClass(status)}">${esc(label)}</span></td><td class="small">${notes.map((n) => esc(n)).join('<br>')}${stderrBlock(r.stderr)}</td></tr>`;
}

function matrix(report: Report, columns: string[], components: string[]): string {
  if (columns.length === 0 || components.length === 0) return '<p class="note">No results were recorded, so there is no matrix.</p>';
  const byCell = groupBy(report.results, (r) => `${r.component}\u0000${r.runner}`);
  const kind = new Map<string, RunnerEntry>([...report.tokenizers, ...report.runners].map((r) => [r.name, r]));
  const head = `<thead><tr><th>building block<br><span class="sub">in data-flow order</span></th>${columns
    .map((c) => {
      const r = kind.get(c);
      const sub = r?.status === 'unavailable' ? 'unavailable' : (r?.backend ?? (report.tokenizers.some((t) => t.name === c) ? 'tokenizer' : ''));
      return `<th><code>${esc(c)}</code>${sub ? `<br><span class="sub">${esc(shorten(sub, 34))}</span>` : ''}</th>`;
    })
    .join('')}</tr></thead>`;
  const rows = components.map((comp) => {
    const cells = columns.map((col) => {
      const rs = byCell.get(`${comp}\u0000${col}`) ?? [];
      const st = worstStatus(rs);
      if (!st) return '<td class="st-none" title="not checked">–</td>';
      const tally = STATUS_ORDER.map((s) => [s, rs.filter((r) => r.status === s).length] as const)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${STATUS_LABEL[s]}`)
        .join(', ');
      return `<td class="${statusClass(st)}" title="${esc(`${rs.length} result${rs.length === 1 ? '' : 's'}: ${tally}`)}">${STATUS_MARK[st]} ${esc(cellText(rs))}</td>`;
    });
    const desc = COMPONENT_DESCRIPTION[comp];
    return `<tr><th class="comp"><a href="#bars-${slug(comp)}"><code>${esc(comp)}</code></a>${desc ? `<span class="sub">${esc(desc)}</span>` : ''}</th>${cells.join('')}</tr>`;
  });
  const legend = `<div class="legend">${(['pass', 'fail', 'error', 'known-divergence', 'not-exposed'] as const)
    .map((s) => `<span class="${statusClass(s)}">${STATUS_MARK[s]} ${STATUS_LABEL[s]}</span>`)
    .join('')}<span class="st-none">– not checked</span></div>`;
  return `<p>Each cell sums up every comparison of one building block by one runner. <b>pass N%</b>: all within tolerance, using at most N% of it; <b>FAIL</b>: how many comparisons failed, and the largest error; <b>not exposed</b>: the runner does not offer that block on its own (it is still checked through the blocks it does offer); <b>known divergence</b>: a documented difference, listed below.</p>
${legend}<div class="scroll"><table class="matrix">${head}<tbody>${rows.join('')}</tbody></table></div>`;
}

function errorBars(results: readonly ResultEntry[], columns: string[], components: string[]): string {
  const withUsage = components.filter((c) => results.some((r) => r.component === c && typeof r.usage === 'number'));
  const exact = components.filter((c) => !withUsage.includes(c));
  const parts: string[] = [
    `<p>For each building block, each runner's bar is the largest share of the tolerance it used on any case, on a log scale: every step to the right is ten times more error. The dashed blue line at <b>10%</b> is the float32 budget (a correct float32 implementation stays left of it); the red line at <b>100%</b> is the tolerance, and a bar past it is a failure. Hover over a bar for the case and the absolute error.</p>`,
  ];
  if (withUsage.length === 0) parts.push('<p class="note">No result in this run has a numeric error, so there are no bars.</p>');
  for (const c of withUsage) {
    const rs = results.filter((r) => r.component === c);
    const desc = COMPONENT_DESCRIPTION[c];
    parts.push(`<div class="comp-card" id="bars-${slug(c)}"><h3><code>${esc(c)}</code>${desc ? ` <span class="sub">${esc(desc)}</span>` : ''}</h3>${usageBars(c, columns, rs)}${perCaseTable(c, columns, rs)}</div>`);
  }
  const list = (cs: string[]) => cs.map((c) => `<code id="bars-${slug(c)}">${esc(c)}</code>`).join(', ');
  const ids = exact.filter((c) => EXACT_COMPONENTS.has(c));
  const others = exact.filter((c) => !EXACT_COMPONENTS.has(c));
  if (ids.length) parts.push(`<p class="small">${list(ids)}: compared exactly (the ids must be equal), so no bars; the cases are below.</p>`);
  if (others.length) parts.push(`<p class="small">${list(others)}: no numeric error was recorded in this run (not exposed, or an error before any comparison), so no bars; the cases are below.</p>`);
  for (const c of exact) parts.push(`<div class="comp-card">${perCaseTable(c, columns, results.filter((r) => r.component === c)).replace('<summary>Per case', `<summary>${esc(c)}, per case`)}</div>`);
  return parts.join('\n');
}

const where = (r: ResultEntry) => [r.runner, r.component, r.case, r.tensor].filter(Boolean).map((x) => `<code>${esc(x)}</code>`).join(' · ');

function problems(report: Report): string {
  const out: string[] = [];
  const bad = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
  out.push(`<h3>Failures and errors (${bad.length})</h3>`);
  if (bad.length === 0) out.push('<p>None: every comparison that ran was within its tolerance.</p>');
  else {
    // Grouped by runner and building block in data-flow order, so that every broken block shows: a few of each
    // in view, some more folded away, the rest left to the JSON report.
    const item = (r: ResultEntry) => `<li><span class="badge ${statusClass(r.status)}">${STATUS_MARK[r.status]} ${esc(STATUS_LABEL[r.status])}</span> ${where(r)}<span class="reason">${esc(shorten(r.reason ?? '(no reason recorded)', MAX_REASON))}</span></li>`;
    const groups = [...groupBy(bad, (r) => `${r.runner}\u0000${r.component}`)].sort(([, a], [, b]) => componentRank(a[0]!.component) - componentRank(b[0]!.component));
    for (const [, rs] of groups) {
      const folded = rs.slice(SHOWN_PER_GROUP, SHOWN_PER_GROUP + FOLDED_PER_GROUP);
      const left = rs.length - SHOWN_PER_GROUP - folded.length;
      const rest = folded.length ? `<details><summary>${folded.length} more${left > 0 ? ` (and ${left} in the JSON report)` : ''}</summary><ul class="problems">${folded.map(item).join('')}</ul></details>` : '';
      out.push(`<div class="problem-group"><b><code>${esc(rs[0]!.runner)}</code> · <code>${esc(rs[0]!.component)}</code>: ${rs.length} ${rs.length === 1 ? 'problem' : 'problems'}</b><ul class="problems">${rs.slice(0, SHOWN_PER_GROUP).map(item).join('')}</ul>${rest}</div>`);
    }
  }

  // Failed tests that belong to no runner (a test file that could not run) left no result: list them here.
  const orphans = report.tests.filter((t) => t.status === 'failed' && !runnerOfTest(t));
  if (orphans.length) {
    const groups = groupBy(orphans, (t) => `${t.title}\u0000${firstLine(t.failureMessages[0] ?? 'failed')}`);
    const items = [...groups].map(([, ts]) => {
      const files = ts.map((t) => t.file.split(/[\\/]/).pop() ?? t.file);
      return `<li><span class="badge st-error">! ${esc(ts[0]!.title)}</span> ${files.map((f) => `<code>${esc(f)}</code>`).join(', ')}<span class="reason">${esc(firstLine(ts[0]!.failureMessages[0] ?? 'failed'))}</span></li>`;
    });
    out.push(`<h3>Tests that failed outside any runner (${orphans.length})</h3><ul class="problems">${items.join('')}</ul>`);
  }

  const divergences = report.results.filter((r) => r.status === 'known-divergence');
  out.push(`<h3>Known divergences (${divergences.length})</h3>`);
  if (divergences.length === 0) out.push('<p>None.</p>');
  else {
    out.push('<p>Documented differences that the spec expects and does not count as failures: a runner or tokenizer that knowingly behaves differently on some inputs.</p>');
    const groups = groupBy(divergences, (r) => `${r.runner}\u0000${r.component}\u0000${r.reason ?? ''}`);
    const items = [...groups].map(([, rs]) => {
      const r = rs[0]!;
      const cases = rs.map((x) => x.case);
      const shown = cases.slice(0, 12).map((c) => `<code>${esc(c)}</code>`).join(', ') + (cases.length > 12 ? `, … (${cases.length - 12} more)` : '');
      return `<li><span class="badge st-known-divergence">≈ ${rs.length} case${rs.length === 1 ? '' : 's'}</span> <code>${esc(r.runner)}</code> · <code>${esc(r.component)}</code>: ${shown}<span class="reason">${esc(r.reason ?? '(no reason recorded)')}</span></li>`;
    });
    out.push(`<ul class="problems">${items.join('')}</ul>`);
  }

  const skippedTotal = report.skipped.reduce((n, s) => n + s.count, 0);
  out.push(`<h3>Skipped tests (${skippedTotal})</h3>`);
  if (skippedTotal === 0) out.push('<p>None.</p>');
  else {
    out.push('<p>Each skipped test says why in its title.</p>');
    out.push(`<ul class="problems">${report.skipped.map((s) => `<li>${s.count > 1 ? `<span class="badge st-skipped">${s.count}×</span> ` : ''}${esc(s.title)}</li>`).join('')}</ul>`);
  }
  return out.join('\n');
}

/**
 * Error against tolerance, per building block: for each runner a bar of the largest share of the
 * tolerance it used, on a log scale, with markers at 10% (what a correct float32 runner stays under)
 * and at 100% (the tolerance itself); below it, per case, the same number in a collapsible table.
 */
import { formatPercent } from './matrix';
import type { ResultEntry } from './model';
import { esc, groupBy, maxUsage, sci, slug, STATUS_LABEL, STATUS_MARK, statusClass, worstStatus } from './html-util';

/** The scale: 10^LOW .. 10^HIGH of the tolerance, i.e. 0.00001% .. 1000%. */
const LOW = -7;
const HIGH = 1;
const LABEL_W = 150;
const BAR_W = 560;
const VALUE_W = 310;
const ROW_H = 22;
const TOP = 30;
const AXIS_H = 24;

const xOf = (u: number) => ((Math.min(HIGH, Math.max(LOW, Math.log10(u))) - LOW) / (HIGH - LOW)) * BAR_W;

function tickLabel(e: number): string {
  const p = 10 ** (e + 2);
  return `${p >= 1 ? p.toFixed(0) : p.toFixed(-e - 2)}%`;
}

/** A share of the tolerance with two significant digits however small, e.g. 0.00017%. */
function precisePercent(u: number): string {
  const p = u * 100;
  return p >= 0.01 ? formatPercent(u) : `${Number(p.toPrecision(2))}%`;
}

const tolText = (t: ResultEntry['tolerance']) => (t ? `atol ${sci(t.atol)}, rtol ${sci(t.rtol)}` : 'no tolerance');

/** One component's bars: a row per runner. */
export function usageBars(component: string, runners: string[], results: readonly ResultEntry[]): string {
  const rows = runners.map((runner) => ({ runner, mine: results.filter((r) => r.runner === runner) })).filter((r) => r.mine.length > 0);
  const height = TOP + rows.length * ROW_H + AXIS_H;
  const width = LABEL_W + BAR_W + VALUE_W;
  const p: string[] = [];
  p.push(`<svg class="bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`share of the tolerance used by each runner on ${component}, log scale`)}">`);
  // Decade grid and axis.
  for (let e = LOW; e <= HIGH; e++) {
    const x = LABEL_W + xOf(10 ** e);
    p.push(`<line x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${TOP + rows.length * ROW_H}" class="grid"/>`);
    p.push(`<text x="${x}" y="${height - 8}" class="axis" text-anchor="middle">${tickLabel(e)}</text>`);
  }
  // The two markers.
  const x10 = LABEL_W + xOf(0.1);
  const x100 = LABEL_W + xOf(1);
  p.push(`<line x1="${x10}" y1="${TOP - 8}" x2="${x10}" y2="${TOP + rows.length * ROW_H + 2}" class="mark10"/>`);
  p.push(`<text x="${x10 - 4}" y="${TOP - 12}" class="marklab" text-anchor="end">10%: float32 budget</text>`);
  p.push(`<line x1="${x100}" y1="${TOP - 8}" x2="${x100}" y2="${TOP + rows.length * ROW_H + 2}" class="mark100"/>`);
  p.push(`<text x="${x100 + 4}" y="${TOP - 12}" class="marklab tol">100%: tolerance</text>`);
  rows.forEach(({ runner, mine }, i) => {
    const y = TOP + i * ROW_H;
    p.push(`<text x="${LABEL_W - 8}" y="${y + 15}" class="rlab" text-anchor="end">${esc(runner)}</text>`);
    const worst = maxUsage(mine);
    const status = worstStatus(mine);
    let value: string;
    if (worst && worst.usage! > 0) {
      const u = worst.usage!;
      const w = Math.max(2, xOf(u));
      const cls = u > 1 ? 'bar-fail' : u > 0.1 ? 'bar-warn' : 'bar-ok';
      const tip = `${runner}: ${precisePercent(u)} of the tolerance at most, on ${worst.case}${worst.tensor ? ` (${worst.tensor})` : ''}; max |error| ${sci(worst.maxAbsError)}; ${tolText(worst.tolerance)}`;
      p.push(`<rect x="${LABEL_W}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_H - 8}" class="${cls}"><title>${esc(tip)}</title></rect>`);
      const below = Math.log10(u) < LOW ? '< ' : Math.log10(u) > HIGH ? '> ' : '';
      value = `${below}${precisePercent(u)}${u > 1 ? ' ✗ over tolerance' : ''} · max err ${sci(worst.maxAbsError)}`;
    } else if (worst) {
      value = 'exact: 0% used';
      p.push(`<rect x="${LABEL_W}" y="${y + 7}" width="2" height="${ROW_H - 14}" class="bar-ok"/>`);
    } else {
      value = status ? `${STATUS_MARK[status]} ${STATUS_LABEL[status]}` : '–';
    }
    p.push(`<text x="${LABEL_W + BAR_W + 8}" y="${y + 15}" class="val">${esc(value)}</text>`);
  });
  p.push('</svg>');
  return p.join('');
}

/** The case a result belongs to in the per-case table; the tokenizer's many cases are grouped by category. */
function caseGroup(component: string, c: string, manyCases: boolean): string {
  if (!manyCases) return c;
  const slash = c.indexOf('/');
  return slash > 0 ? `${c.slice(0, slash)}/…` : c;
}

/** A table of cases (rows) by runners (columns) for one component, in a <details> so that it stays out of the way. */
export function perCaseTable(component: string, runners: string[], results: readonly ResultEntry[]): string {
  const distinct = new Set(results.map((r) => r.case)).size;
  const many = distinct > 40;
  const groups = groupBy(results, (r) => caseGroup(component, r.case, many));
  const cols = runners.filter((r) => results.some((x) => x.runner === r));
  const head = `<tr><th>case${many ? ' (grouped by category)' : ''}</th><th>tensors</th>${cols.map((r) => `<th>${esc(r)}</th>`).join('')}</tr>`;
  const body = [...groups].map(([group, rs]) => {
    const tensors = [...new Set(rs.map((r) => r.tensor).filter((t): t is string => !!t))];
    const cells = cols.map((runner) => {
      const mine = rs.filter((r) => r.runner === runner);
      const s = worstStatus(mine);
      if (!s) return '<td class="st-none">–</td>';
      const u = maxUsage(mine);
      const n = many ? ` (${mine.filter((r) => r.status === s).length}/${mine.length})` : '';
      const text = s === 'pass' && u ? `${STATUS_MARK[s]} ${formatPercent(u.usage!)}` : s === 'fail' ? `${STATUS_MARK[s]} fail${u ? ` ${formatPercent(u.usage!)}` : ''}` : `${STATUS_MARK[s]} ${STATUS_LABEL[s]}`;
      return `<td class="${statusClass(s)}">${esc(text + n)}</td>`;
    });
    const tensorText = tensors.length > 3 ? `${tensors.slice(0, 3).join(', ')}, … (${tensors.length})` : tensors.join(', ');
    return `<tr><td><code>${esc(group)}</code></td><td class="small">${esc(tensorText)}</td>${cells.join('')}</tr>`;
  });
  return `<details class="cases" id="cases-${slug(component)}"><summary>Per case: ${distinct} case${distinct === 1 ? '' : 's'}${many ? `, in ${groups.size} categories` : ''}</summary><div class="scroll"><table class="cases-table">${head}${body.join('')}</table></div></details>`;
}

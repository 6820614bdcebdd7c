/**
 * The report's pictures of one case: its tokenization (coloured token spans with their ids) and the
 * attention weights of every head, the golden ones beside each runner's, as heatmaps.
 */
import { esc, sci, shorten, visibleText } from './html-util';
import type { FixtureAccess, GoldenView, HtmlSources, TensorLike, TokenDecoder } from './html-sources';
import { isError } from './html-sources';
import type { ResultEntry } from './model';

export type Sample = { shape: number[]; data: number[] };
export type SampledResult = ResultEntry & { sample?: Sample };

const WEIGHTS = /^h\.(\d+)\.attn\.weights$/;
/** The most tokens a heatmap shows (a longer case is cropped to its first tokens). */
const MAX_TOKENS = 16;
/** Heatmap cells drawn in all, at most; layers past the first are drawn only while under it. */
const CELL_BUDGET = 12_000;

interface AttentionCase {
  id: string;
  /** runner -> layer -> sample */
  byRunner: Map<string, Map<number, Sample>>;
  layers: number[];
  /** Runners that kept attention weights of another case. */
  elsewhere: string[];
}

/** The case whose attention weights the most runners kept (normally gpt2-tiny/cat-sat-on-the). */
export function attentionCase(results: readonly SampledResult[]): AttentionCase | undefined {
  const cases = new Map<string, Map<string, Map<number, Sample>>>();
  for (const r of results) {
    const m = r.tensor ? WEIGHTS.exec(r.tensor) : null;
    if (!m || !r.sample || !Array.isArray(r.sample.shape) || r.sample.shape.length !== 4) continue;
    let byRunner = cases.get(r.case);
    if (!byRunner) cases.set(r.case, (byRunner = new Map()));
    let layers = byRunner.get(r.runner);
    if (!layers) byRunner.set(r.runner, (layers = new Map()));
    if (!layers.has(Number(m[1]))) layers.set(Number(m[1]), r.sample);
  }
  let best: [string, Map<string, Map<number, Sample>>] | undefined;
  for (const entry of cases) if (!best || entry[1].size > best[1].size) best = entry;
  if (!best) return undefined;
  const [id, byRunner] = best;
  const layers = [...new Set([...byRunner.values()].flatMap((l) => [...l.keys()]))].sort((a, b) => a - b);
  const elsewhere = [...new Set([...cases].filter(([c]) => c !== id).flatMap(([, r]) => [...r.keys()]))].filter((r) => !byRunner.has(r));
  return { id, byRunner, layers, elsewhere };
}

// ------------------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------------------

interface Tokens {
  /** Ids per batch row. */
  ids: number[][];
  /** Each token's text, per row, when the case has a text and the tokenizer loaded. */
  texts?: string[][];
  notes: string[];
}

function rowsOf(t: TensorLike): number[][] {
  const [b, n] = t.shape.length === 2 ? [t.shape[0]!, t.shape[1]!] : [1, t.data.length];
  return Array.from({ length: b }, (_, i) => Array.from({ length: n }, (_, j) => Number(t.data[i * n + j])));
}

function caseTokens(golden: GoldenView | undefined, tokenizer: TokenDecoder | { error: string }): Tokens {
  const notes: string[] = [];
  const idsTensor = golden?.get('input_ids');
  if (!idsTensor) return { ids: [], notes: golden ? ['The golden case has no input_ids.'] : [] };
  const ids = rowsOf(idsTensor);
  const caseTexts = golden?.texts ?? (golden?.text !== undefined ? [golden.text] : undefined);
  if (!caseTexts) {
    notes.push('This case is made of seeded random ids, not of a text, so its tokens have no text: they are shown by id.');
    return { ids, notes };
  }
  if (isError(tokenizer)) {
    notes.push(`GPT-2's tokenizer could not be loaded, so the tokens are shown by id only (${tokenizer.error}).`);
    return { ids, notes };
  }
  try {
    const texts = ids.map((row) => row.map((id) => tokenizer.decode([id])));
    caseTexts.forEach((text, b) => {
      const again = tokenizer.encode(text);
      const same = again.length === ids[b]?.length && again.every((id, j) => id === ids[b]![j]);
      if (!same) notes.push(`The reference tokenizer encodes “${text}” as [${again.join(', ')}], not as the golden ids [${(ids[b] ?? []).join(', ')}].`);
    });
    return { ids, texts, notes };
  } catch (e) {
    notes.push(`GPT-2's tokenizer failed on this case, so the tokens are shown by id only (${e instanceof Error ? e.message : String(e)}).`);
    return { ids, notes };
  }
}

const SPAN_COLOURS = ['#ffd8a8', '#c3fae8', '#d0bfff', '#ffc9c9', '#a5d8ff', '#d8f5a2', '#fcc2d7', '#ffec99'];

function tokenSpans(tokens: Tokens, texts: string[] | undefined): string {
  if (tokens.ids.length === 0) return '<p class="note">The case\'s token ids could not be read, so its tokenization is not drawn.</p>';
  const rows = tokens.ids.map((row, b) => {
    const spans = row
      .map((id, j) => {
        const text = tokens.texts?.[b]?.[j];
        const shown = text === undefined ? `#${id}` : visibleText(text) || '∅';
        return `<span class="tok" style="background:${SPAN_COLOURS[j % SPAN_COLOURS.length]}"><span class="tok-text">${esc(shown)}</span><span class="tok-id">${esc(id)}</span></span>`;
      })
      .join('');
    const text = texts?.[b];
    const lead = text !== undefined ? `<div class="tok-source">“${esc(text)}” → ${row.length} token${row.length === 1 ? '' : 's'}</div>` : `<div class="tok-source">row ${b}: ${row.length} ids</div>`;
    return `<div class="tok-row">${lead}<div class="tok-spans">${spans}</div></div>`;
  });
  return rows.join('');
}

// ------------------------------------------------------------------------------------------------
// Heatmaps
// ------------------------------------------------------------------------------------------------

const RAMP: [number, number, number][] = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

/** A weight in [0, 1] as a colour from white to dark blue. */
export function weightColour(v: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [RAMP[i]!, RAMP[i + 1]!];
  const c = a.map((u, k) => Math.round(u + (b[k]! - u) * f));
  return `#${c.map((u) => u.toString(16).padStart(2, '0')).join('')}`;
}

/** One head's T×T weights of batch row 0, or undefined when the tensor is too small for it. */
function headMatrix(t: TensorLike, head: number, n: number): number[][] | undefined {
  const [, H, T, T2] = t.shape as number[];
  if (H === undefined || T === undefined || T2 !== T || head >= H || t.data.length < H * T * T) return undefined;
  const base = head * T * T;
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Number(t.data[base + i * T + j])));
}

interface HeatmapOptions {
  labels: string[];
  title: string;
}

function heatmapSvg(m: number[][], o: HeatmapOptions): string {
  const n = m.length;
  const cell = Math.max(10, Math.min(30, Math.floor(150 / n)));
  const showValues = n <= 6;
  const labels = o.labels.map((l) => shorten(l, 8));
  const longest = Math.max(1, ...labels.map((l) => [...l].length));
  const font = n <= 8 ? 11 : 9;
  const left = Math.ceil(longest * font * 0.62) + 6;
  const top = Math.ceil(longest * font * 0.45) + 10;
  // Room on the right for the last column label, which leans over to the right.
  const width = left + n * cell + Math.max(4, Math.ceil(longest * font * 0.5) - cell / 2);
  const height = top + n * cell + 2;
  const leaks = futureWeights(m);
  const parts: string[] = [];
  parts.push(`<svg class="hm" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(o.title)}"><title>${esc(o.title)}</title>`);
  // Column labels (the keys) along the top, slanted; row labels (the queries) on the left.
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(`<text class="hm-lab" font-size="${font}" transform="translate(${x + 2},${top - 4}) rotate(-40)">${esc(l)}</text>`);
  });
  labels.forEach((l, i) => {
    parts.push(`<text class="hm-lab" font-size="${font}" text-anchor="end" x="${left - 4}" y="${top + i * cell + cell / 2 + font * 0.35}">${esc(l)}</text>`);
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = left + j * cell;
      const y = top + i * cell;
      const v = m[i]![j]!;
      if (j > i && v === 0) {
        // Exactly 0 above the diagonal: masked, drawn as one hatched staircase below when every such cell is.
        if (leaks.length > 0) parts.push(`<rect class="masked" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="url(#gs-masked)"/>`);
        continue;
      }
      const leak = j > i;
      const tip = n <= 12 || leak ? `<title>${esc(`${o.labels[i]} → ${o.labels[j]}: ${v.toFixed(4)}${leak ? ' — a later token, which should have weight exactly 0' : ''}`)}</title>` : '';
      const outline = leak ? ' class="leak" stroke="#d1242f" stroke-width="2"' : '';
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${weightColour(v)}"${outline}>${tip}</rect>`);
      if (showValues) {
        parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 3}" font-size="8" text-anchor="middle" fill="${v > 0.55 ? '#fff' : '#123'}">${v.toFixed(2).replace(/^0\./, '.')}</text>`);
      }
    }
  }
  if (n > 1 && leaks.length === 0) {
    // The cells above the diagonal (key after query) as one staircase: (1,0) → (n,0) → (n,n-1) → (n-1,n-1) → (n-1,n-2) → … → (1,1), in cells.
    const pts: [number, number][] = [[1, 0], [n, 0], [n, n - 1]];
    for (let k = n - 1; k >= 1; k--) pts.push([k, k], [k, k - 1]);
    const d = pts.map(([cx, cy], k) => `${k === 0 ? 'M' : 'L'}${left + cx * cell} ${top + cy * cell}`).join('');
    parts.push(`<path class="masked" d="${d}Z" fill="url(#gs-masked)"><title>masked: a token may not look at later tokens</title></path>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${n * cell}" height="${n * cell}" fill="none" stroke="#8a94a0" stroke-width="1"/></svg>`);
  if (leaks.length > 0) {
    const largest = Math.max(...leaks.map(Math.abs));
    parts.push(`<div class="leak-note">${leaks.length} weight${leaks.length === 1 ? '' : 's'} above the diagonal not 0 (largest ${esc(sci(largest))}): this runner's tokens look at later tokens</div>`);
  }
  return parts.join('');
}

/** The weights above the diagonal (a query's later keys) that are not exactly 0: a broken causal mask. */
function futureWeights(m: number[][]): number[] {
  return m.flatMap((row, i) => row.filter((v, j) => j > i && v !== 0));
}

/** The largest |row sum − 1| over rows 0..n-1 of every head (batch row 0). */
function rowSumDeviation(t: TensorLike): number {
  const [, H, T] = t.shape as number[];
  let worst = 0;
  if (H === undefined || T === undefined) return NaN;
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      let s = 0;
      for (let j = 0; j < T; j++) s += Number(t.data[(h * T + i) * T + j]);
      worst = Math.max(worst, Math.abs(s - 1));
    }
  }
  return worst;
}

/** max |runner − golden| over batch row 0, or a reason why they cannot be compared. */
function maxDiff(a: TensorLike, g: TensorLike): number | string {
  const [, H, T] = g.shape as number[];
  const [, Ha, Ta] = a.shape as number[];
  if (H !== Ha || T !== Ta || H === undefined || T === undefined) return `shape [${a.shape.join(', ')}], golden [${g.shape.join(', ')}]`;
  let worst = 0;
  for (let k = 0; k < H * T * T; k++) worst = Math.max(worst, Math.abs(Number(a.data[k]) - Number(g.data[k])));
  return worst;
}

function legend(): string {
  const stops = [0, 0.25, 0.5, 0.75, 1].map((v) => `${weightColour(v)} ${v * 100}%`).join(', ');
  return `<div class="hm-legend"><span>weight 0</span><span class="ramp" style="background:linear-gradient(90deg, ${stops})"></span><span>1</span>
<span class="masked-swatch"><svg width="22" height="14" aria-hidden="true"><rect width="22" height="14" fill="url(#gs-masked)" stroke="#8a94a0"/></svg> masked: a later token, which a token may not look at (its weight is exactly 0)</span>
<span class="masked-swatch"><svg width="22" height="14" aria-hidden="true"><rect width="22" height="14" fill="#c6dbef" stroke="#d1242f" stroke-width="2"/></svg> a later token with a weight that is not 0 (a broken mask), drawn in its colour</span></div>`;
}

function layerTable(ac: AttentionCase, layer: number, golden: TensorLike | undefined, labels: string[], n: number): string {
  const runners = [...ac.byRunner.keys()];
  const someSample = [...ac.byRunner.values()].map((l) => l.get(layer)).find((s) => s);
  const heads = (golden ?? someSample)?.shape[1] ?? 0;
  const diffNote = (r: string) => {
    const s = ac.byRunner.get(r)!.get(layer);
    if (!s || !golden) return '';
    const d = maxDiff(s, golden);
    return `<br><span class="sub">${typeof d === 'number' ? `max |Δ| ${esc(sci(d))}` : esc(d)}</span>`;
  };
  const head = ['<tr><th class="axes">rows: query token<br>columns: key token</th>', `<th class="hm-src golden">golden<br><span class="sub">HF transformers, float64</span></th>`, ...runners.map((r) => `<th class="hm-src">${esc(r)}${diffNote(r)}</th>`), '</tr>'].join('');
  const rows: string[] = [];
  for (let h = 0; h < heads; h++) {
    const cells = [`<th class="hm-head">head ${h}</th>`];
    const g = golden && headMatrix(golden, h, n);
    cells.push(`<td class="golden">${g ? heatmapSvg(g, { labels, title: `golden attention weights, layer ${layer}, head ${h}` }) : '<span class="note">no golden</span>'}</td>`);
    for (const r of runners) {
      const s = ac.byRunner.get(r)!.get(layer);
      const m = s && headMatrix(s, h, n);
      if (!s || !m) {
        cells.push(`<td><span class="note">${s ? 'unexpected shape' : 'not kept'}</span></td>`);
        continue;
      }
      cells.push(`<td>${heatmapSvg(m, { labels, title: `${r}'s attention weights, layer ${layer}, head ${h}` })}</td>`);
    }
    rows.push(`<tr>${cells.join('')}</tr>`);
  }
  return `<div class="scroll"><table class="hm-table">${head}${rows.join('')}</table></div>`;
}

export interface CaseSection {
  tokenization: string;
  attention: string;
}

/** The tokenization and attention sections' bodies. */
export function renderCaseSections(results: readonly SampledResult[], sources: HtmlSources): CaseSection {
  const ac = attentionCase(results);
  const fixtures: FixtureAccess | undefined = isError(sources.fixtures) ? undefined : sources.fixtures;
  const fixtureNote = isError(sources.fixtures) ? `The golden fixtures could not be read (${sources.fixtures.error}).` : undefined;
  const caseId = ac?.id ?? fixtures?.forwardCases.find((id) => id.startsWith('gpt2-tiny/')) ?? fixtures?.forwardCases[0];

  let golden: GoldenView | undefined;
  let goldenNote = fixtureNote;
  if (fixtures && caseId) {
    try {
      golden = fixtures.openCase(caseId);
      if (!golden) goldenNote = `The fixtures have no case ${caseId}.`;
    } catch (e) {
      goldenNote = `The golden case ${caseId} could not be read (${e instanceof Error ? e.message : String(e)}).`;
    }
  }
  const tokens = caseTokens(golden, sources.tokenizer);
  const caseTexts = golden?.texts ?? (golden?.text !== undefined ? [golden.text] : undefined);
  const notes = (extra: (string | undefined)[]) =>
    extra
      .filter((x): x is string => !!x)
      .map((x) => `<p class="note">${esc(x)}</p>`)
      .join('');

  // Tokenization.
  let tokenization: string;
  if (!caseId) tokenization = notes([goldenNote ?? 'There is no case to draw.']);
  else {
    tokenization = [
      `<p>Case <code>${esc(caseId)}</code>${golden?.description ? `: ${esc(golden.description.replace(/[.\s]+$/, ''))}` : ''}.${caseTexts ? ' The tokenizer cuts the text into tokens, each a piece of a word with its leading space (shown as ␣), and looks up each token\'s id in GPT-2\'s vocabulary of 50 257; the model only ever sees the ids.' : ''}</p>`,
      golden ? tokenSpans(tokens, caseTexts) : '',
      notes([goldenNote, ...tokens.notes]),
    ].join('');
  }

  // Attention.
  if (!ac) {
    const attention = `<p class="note">No runner kept its attention weights in this run (the self-attention spec keeps them for each runner's first forward case; a run limited with --only, or one without the self-attention chapter, has none), so there are no heatmaps.</p>`;
    return { tokenization, attention };
  }
  const goldenTensor = (layer: number) => golden?.get(`h.${layer}.attn.weights`);
  const any = goldenTensor(ac.layers[0]!) ?? [...ac.byRunner.values()].map((l) => l.get(ac.layers[0]!)).find((s) => s)!;
  const T = any.shape[2] ?? 0;
  const n = Math.min(T, MAX_TOKENS);
  const row0 = tokens.ids[0];
  const labels = Array.from({ length: n }, (_, j) => {
    const text = tokens.texts?.[0]?.[j];
    if (text !== undefined) return visibleText(text) || '∅';
    return row0?.[j] !== undefined ? `#${row0[j]}` : `t${j}`;
  });
  const sources_ = 1 + ac.byRunner.size;
  const heads = any.shape[1] ?? 1;
  const perLayer = sources_ * heads * n * n;
  const drawn = ac.layers.filter((_, k) => k === 0 || (k + 1) * perLayer <= CELL_BUDGET);

  const parts: string[] = [];
  parts.push(
    `<p>Attention lets each token gather information from the tokens before it. For each head, row <i>i</i> is the query token and column <i>j</i> a key token; the colour is how much token <i>i</i> attends to token <i>j</i>. The weights come from a softmax, so <b>every row sums to 1</b>; a token may not look at later tokens, so the cells above the diagonal must be exactly 0: they are hatched where they are, and a weight there that is not 0 is drawn in its colour, outlined in red and counted under the heatmap. Case <code>${esc(ac.id)}</code>${(any.shape[0] ?? 1) > 1 ? ', batch row 0' : ''}; the golden weights on the left, each runner's beside them: a correct runner's picture is indistinguishable from the golden one.</p>`,
  );
  const g0 = goldenTensor(ac.layers[0]!);
  if (g0) parts.push(`<p class="small">Row sums of the golden weights: 1 within ${esc(sci(rowSumDeviation(g0)))}.</p>`);
  parts.push(legend());
  parts.push(notes([!g0 ? `${goldenNote ?? 'The golden weights are missing'}; only the runners' weights are drawn.` : undefined, T > n ? `Only the first ${n} of the case's ${T} tokens are drawn.` : undefined, ac.elsewhere.length ? `Not drawn: ${ac.elsewhere.join(', ')} kept the weights of another case.` : undefined]));
  drawn.forEach((layer, k) => {
    const table = layerTable(ac, layer, goldenTensor(layer), labels, n);
    if (k === 0) parts.push(`<h3>Layer ${layer}</h3>${table}`);
    else parts.push(`<details class="layer"><summary>Layer ${layer}</summary>${table}</details>`);
  });
  if (drawn.length < ac.layers.length) parts.push(notes([`Layers ${ac.layers.filter((l) => !drawn.includes(l)).join(', ')} are not drawn, to keep the page small.`]));
  return { tokenization, attention: parts.join('\n') };
}

/** The hatch pattern of masked cells, defined once for the whole page. */
export const SVG_DEFS =
  '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><pattern id="gs-masked" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b9c0c9" stroke-width="2"/></pattern></defs></svg>';

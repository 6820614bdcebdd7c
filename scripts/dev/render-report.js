#!/usr/bin/env node
// Renders the HTML report from a JSON report (gpt2-spec check --json), without running the spec again:
//   node scripts/dev/render-report.js REPORT.json OUT.html
// Used by screenshot-report.sh when it is given a .json file; handy while working on scripts/report/html.ts.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

require('esbuild-register/dist/node').register({ target: 'node20' });
const { renderHtml } = require(join(__dirname, '../report/html.ts'));

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node scripts/dev/render-report.js REPORT.json OUT.html\n');
  process.exit(2);
}
const started = Date.now();
const html = renderHtml(JSON.parse(readFileSync(input, 'utf8')));
writeFileSync(output, html);
process.stdout.write(`${output}: ${(html.length / 1024).toFixed(0)} KiB in ${Date.now() - started} ms\n`);

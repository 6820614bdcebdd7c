/** JUnit XML for CI systems: one testsuite per spec file, one testcase per test, the runner in the name. */
import { basename } from 'node:path';
import type { Report, TestOutcome } from './model';

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const firstFailureLine = (t: TestOutcome) => plain(t.failureMessages[0] ?? '').split('\n')[0] ?? '';

export function renderJunit(report: Report): string {
  const byFile = new Map<string, TestOutcome[]>();
  for (const t of report.tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  const suites = [...byFile].map(([file, tests]) => {
    const failures = tests.filter((t) => t.status === 'failed' && !t.expectedFailure).length;
    const skipped = tests.filter((t) => (t.status !== 'passed' && t.status !== 'failed') || t.expectedFailure).length;
    const time = tests.reduce((s, t) => s + (t.durationMs ?? 0), 0) / 1000;
    const cases = tests.map((t) => {
      const name = `${escape(t.ancestors.slice(1).concat(t.title).join(' › '))}`;
      const open = `    <testcase classname="${escape(t.ancestors[0] ?? basename(file))}" name="${name}" time="${((t.durationMs ?? 0) / 1000).toFixed(3)}"`;
      // An expected failure (the baseline lists it) is neither a pass nor a new failure: CI shows it as skipped, with why.
      if (t.expectedFailure) return `${open}>\n      <skipped message="expected failure (baseline): ${escape(firstFailureLine(t))}"/>\n    </testcase>`;
      if (t.status === 'failed') {
        const message = escape(plain(t.failureMessages.join('\n')));
        return `${open}>\n      <failure message="${escape(firstFailureLine(t))}">${message}</failure>\n    </testcase>`;
      }
      if (t.status !== 'passed') return `${open}>\n      <skipped message="${escape(t.title)}"/>\n    </testcase>`;
      return `${open}/>`;
    });
    return `  <testsuite name="${escape(basename(file))}" tests="${tests.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  // What each runner process wrote to stderr, as JUnit's own place for it, so that CI shows it beside the failures.
  const stderr = report.runners.filter((r) => r.stderr);
  if (stderr.length) {
    const text = stderr.map((r) => `--- ${r.name} ---\n${plain(r.stderr!)}`).join('\n');
    suites.push(`  <testsuite name="runner stderr" tests="0" failures="0" skipped="0" time="0">\n    <system-err>${escape(text)}</system-err>\n  </testsuite>`);
  }
  const s = report.summary.tests;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="gpt2-spec" tests="${s.passed + s.failed + s.expectedFailures + s.skipped}" failures="${s.failed}" skipped="${s.skipped + s.expectedFailures}">\n${suites.join('\n')}\n</testsuites>\n`;
}

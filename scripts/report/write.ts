/** Builds the report at the end of a jest run, prints the matrix, and writes the files asked for. */
import { writeFileSync } from 'node:fs';
import { runnerStderr } from '../../runners/protocol/stderr-log';
import { renderHtml } from './html';
import { renderJunit } from './junit';
import { renderMatrix } from './matrix';
import { baselineOf, readBaseline } from './baseline';
import { buildReport, parseShard, type FixturesEntry, type ProbeState, type Report, type ResultEntry, type TestOutcome } from './model';

export function writeReports(records: ResultEntry[], probe: ProbeState[], tests: TestOutcome[], env: NodeJS.ProcessEnv): void {
  const fixtures = env.GPT2_SPEC_FIXTURE_IDENTITY ? (JSON.parse(env.GPT2_SPEC_FIXTURE_IDENTITY) as FixturesEntry) : undefined;
  const baseline = env.GPT2_SPEC_BASELINE ? readBaseline(env.GPT2_SPEC_BASELINE, env.GPT2_SPEC_BASELINE_STRICT === '1') : undefined;
  const shard = env.GPT2_SPEC_SHARD ? parseShard(env.GPT2_SPEC_SHARD) : undefined;
  const report = buildReport(records, probe, selectedTests(tests, env.GPT2_SPEC_TEST_NAME_PATTERN), { stderr: runnerStderr(), fixtures, baseline, shard });
  writeReportFiles(report, env);
}

/** Prints the matrix and writes every file the environment asks for: a run's report, or a merged one. */
export function writeReportFiles(report: Report, env: NodeJS.ProcessEnv): void {
  if (env.GPT2_SPEC_QUIET !== '1') process.stdout.write(renderMatrix(report, { json: env.GPT2_SPEC_REPORT_JSON }));
  if (env.GPT2_SPEC_REPORT_JSON) writeFileSync(env.GPT2_SPEC_REPORT_JSON, `${JSON.stringify(report, null, 2)}\n`);
  if (env.GPT2_SPEC_REPORT_JUNIT) writeFileSync(env.GPT2_SPEC_REPORT_JUNIT, renderJunit(report));
  if (env.GPT2_SPEC_REPORT_HTML) writeFileSync(env.GPT2_SPEC_REPORT_HTML, renderHtml(report));
  // The command's exit code is this verdict: it reads it back from here.
  if (env.GPT2_SPEC_WRITE_BASELINE) writeFileSync(env.GPT2_SPEC_WRITE_BASELINE, `${JSON.stringify(baselineOf(report), null, 2)}\n`);
  // With the number of failed tests it judged expected, so that check can tell them from failures it never saw.
  if (env.GPT2_SPEC_VERDICT_FILE) writeFileSync(env.GPT2_SPEC_VERDICT_FILE, JSON.stringify({ verdict: report.verdict, expectedFailedTests: report.summary.tests.expectedFailures }));
}

/** The tests a filtered run meant to run: those --only left out are not "skipped" in the report. */
function selectedTests(tests: TestOutcome[], pattern: string | undefined): TestOutcome[] {
  if (!pattern) return tests;
  const re = new RegExp(pattern, 'i');
  return tests.filter((t) => t.status !== 'pending' && t.status !== 'skipped' ? true : re.test(t.fullName));
}

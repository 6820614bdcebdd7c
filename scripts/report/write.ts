/** Builds the report at the end of a jest run, prints the matrix, and writes the files asked for. */
import { writeFileSync } from 'node:fs';
import { runnerStderr } from '../../runners/protocol/stderr-log';
import { renderHtml } from './html';
import { renderJunit } from './junit';
import { renderMatrix } from './matrix';
import { buildReport, type ProbeState, type ResultEntry, type TestOutcome } from './model';

export function writeReports(records: ResultEntry[], probe: ProbeState[], tests: TestOutcome[], env: NodeJS.ProcessEnv): void {
  const report = buildReport(records, probe, tests, runnerStderr());
  if (env.GPT2_SPEC_QUIET !== '1') process.stdout.write(renderMatrix(report));
  if (env.GPT2_SPEC_REPORT_JSON) writeFileSync(env.GPT2_SPEC_REPORT_JSON, `${JSON.stringify(report, null, 2)}\n`);
  if (env.GPT2_SPEC_REPORT_JUNIT) writeFileSync(env.GPT2_SPEC_REPORT_JUNIT, renderJunit(report));
  if (env.GPT2_SPEC_REPORT_HTML) writeFileSync(env.GPT2_SPEC_REPORT_HTML, renderHtml(report));
}

/** `gpt2-spec report merge`: the shards' JSON reports as one report, one matrix and one verdict. */
import { resolve } from 'node:path';
import { readBaseline } from '../report/baseline';
import { mergeReports, readReport } from '../report/merge';
import { writeReportFiles } from '../report/write';
import { checkWritable, formatHelp, parseArgs, str, UsageError, type FlagSpec } from './args';

const FLAGS: FlagSpec[] = [
  { name: 'json', type: 'string', value: 'FILE', help: 'write the merged JSON report' },
  { name: 'junit', type: 'string', value: 'FILE', help: 'write the merged JUnit XML report' },
  { name: 'html', type: 'string', value: 'FILE', help: 'write the merged HTML report' },
  { name: 'baseline', type: 'string', value: 'FILE', help: "judge the merged run with these expected failures (default: the one the shards used)" },
  { name: 'strict', type: 'boolean', help: 'with --baseline: an expected failure that now passes fails the run' },
];

export const reportHelp = () =>
  formatHelp(
    'gpt2-spec report merge REPORT.json... [options]',
    "Merges the --json reports of one run's shards (check --shard i/n) into one report, printing the matrix and the\nwhole run's verdict. Every shard must be there, each once, checked against the same fixtures.\nExit status: 0 when the merged verdict is PASS, 1 when it is FAIL, 2 on a usage error or reports that do not merge.",
    FLAGS,
  );

export async function report(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'merge') throw new UsageError(sub ? `unknown report command '${sub}': the one there is is 'merge'` : "report needs a command: 'gpt2-spec report merge A.json B.json ...'");
  const { flags, positional } = parseArgs(rest, FLAGS, 'gpt2-spec report merge');
  if (positional.length === 0) throw new UsageError('report merge needs the JSON reports to merge');
  const outputs = { json: str(flags, 'json'), junit: str(flags, 'junit'), html: str(flags, 'html') };
  for (const [flag, path] of Object.entries(outputs)) if (path) checkWritable(path, flag);
  const strict = flags.strict === true;
  const baselineFile = str(flags, 'baseline');
  if (strict && !baselineFile) throw new UsageError('--strict needs --baseline FILE');
  // A MergeError or BaselineError is one line and exit 2 (main.ts prints every Gpt2SpecError so).
  const baseline = baselineFile ? readBaseline(resolve(baselineFile), strict) : undefined;
  const merged = mergeReports(positional.map((p) => readReport(resolve(p))), { baseline });
  writeReportFiles(merged, {
    GPT2_SPEC_REPORT_JSON: outputs.json && resolve(outputs.json),
    GPT2_SPEC_REPORT_JUNIT: outputs.junit && resolve(outputs.junit),
    GPT2_SPEC_REPORT_HTML: outputs.html && resolve(outputs.html),
  });
  return merged.verdict === 'pass' ? 0 : 1;
}

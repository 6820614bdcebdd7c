/**
 * `gpt2-spec mutants`: runs the spec over the mutation catalogue (spec/support/mutants/catalogue.ts), every
 * mutant in float64 and in float32 next to the correct runner of each precision, and prints the kill matrix.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { correctAdapter, fixturesWith, mutantAdapter, SMALL_MODELS } from '../../spec/support/mutants/adapters';
import { mutantByName, mutantNames, PRECISIONS } from '../../spec/support/mutants/catalogue';
import { cheapestKills, killMatrix, renderKillMatrix, renderKillMatrixMarkdown } from '../../spec/support/mutants/kill-matrix';
import { loadManifest } from '../../spec/support/fixtures';
import type { Report } from '../report/model';
import { formatHelp, list, parseArgs, str, UsageError, type FlagSpec } from './args';
import { specRunArgv } from './jest-config';

const FLAGS: FlagSpec[] = [
  { name: 'mutant', type: 'string', repeat: true, value: 'NAME', help: 'only this mutant (default: the whole catalogue)' },
  { name: 'model', type: 'string', repeat: true, value: 'NAME', help: `only the cases of this fixture model (default: ${SMALL_MODELS.join(', ')}, the small-vocabulary ones)` },
  { name: 'markdown', type: 'string', value: 'FILE', help: 'write the matrix as a markdown page (docs/mutants.md is made so)' },
  { name: 'kills', type: 'string', value: 'FILE', help: "write each mutant's cheapest killing row as JSON (spec/90 runs the rows of spec/support/mutants/cheapest-kills.json)" },
  { name: 'json', type: 'string', value: 'FILE', help: 'write the JSON report of the run (schema: docs/report-schema.md)' },
  { name: 'from-report', type: 'string', value: 'FILE', help: 'make the matrix from the JSON report of an earlier run instead of running the spec' },
];

export const mutantsHelp = () =>
  formatHelp(
    'gpt2-spec mutants [options]',
    'Runs the spec on every mutant of the catalogue (the reference with one planted bug), in float64 and float32, and prints\n' +
      'the kill matrix: the first row that caught each mutant, its largest tolerance usage, and its margin over the correct runner.\n' +
      'Exit status: 0 when every detectable mutant was killed and the correct runners passed, 1 otherwise, 2 on a usage error.',
    FLAGS,
  );

export async function mutants(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS, 'gpt2-spec mutants');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}' (mutants are given with --mutant)`);
  const names = list(flags, 'mutant').length ? list(flags, 'mutant') : mutantNames();
  names.forEach((n) => {
    try {
      mutantByName(n);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  const dir = mkdtempSync(join(tmpdir(), 'gpt2-spec-mutants-'));
  try {
    const models = list(flags, 'model').length ? list(flags, 'model') : SMALL_MODELS;
    const adapters = [...PRECISIONS.map((p) => correctAdapter(dir, p)), ...names.flatMap((n) => PRECISIONS.map((p) => mutantAdapter(dir, n, p)))];
    const json = str(flags, 'json') ? resolve(str(flags, 'json')!) : join(dir, 'report.json');
    let fixtures: string;
    try {
      fixtures = fixturesWith(models, dir);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    Object.assign(process.env, { GPT2_SPEC_RUNNERS: adapters.join(','), GPT2_SPEC_FIXTURES: fixtures, GPT2_SPEC_REPORT_JSON: json, GPT2_SPEC_QUIET: '1' });
    const earlier = str(flags, 'from-report');
    if (!earlier) await runSpec();
    const matrix = killMatrix(JSON.parse(readFileSync(earlier ?? json, 'utf8')) as Report, loadManifest().tolerances, names);
    process.stdout.write(renderKillMatrix(matrix));
    const kills = str(flags, 'kills');
    if (kills) writeFileSync(kills, `${JSON.stringify(cheapestKills(matrix), null, 2)}\n`);
    const markdown = str(flags, 'markdown');
    if (markdown) writeFileSync(markdown, renderKillMatrixMarkdown(matrix, `gpt2-spec mutants --markdown ${markdown}`));
    const bad = matrix.rows.some((r) => r.status === 'survived') || PRECISIONS.some((p) => matrix.correctFailures[p].length > 0);
    return bad ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The spec's numeric chapters over the runners of GPT2_SPEC_RUNNERS, quietly: the report goes to GPT2_SPEC_REPORT_JSON. */
async function runSpec(): Promise<void> {
  const root = packageRoot();
  // jest is loaded here, not at start-up, so that the other commands start fast.
  const { runCLI } = require('jest') as typeof import('jest');
  await runCLI(specRunArgv(root, { testPathPatterns: ['spec/0[2-8]'] }) as Parameters<typeof runCLI>[0], [root]);
}

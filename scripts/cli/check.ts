/**
 * `gpt2-spec check`: runs the spec (the jest suites themselves) against the selected runners and
 * tokenizers, prints the conformance matrix, and writes the reports asked for.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { BROWSER_PREFIX, COMMAND_PREFIX } from '../../runners/protocol/commands';
import { builtinRunners, looksLikePath, runnerSource, selectedRunnerIds } from '../../runners/registry';
import { builtinTokenizers, loadTokenizer, tokenizerSource } from '../../runners/tokenizers';
import { probeRunners, STATE_ENV, writeRunnerStates } from '../../spec/support/probe';
import { verifiedFixtures } from '../../spec/support/fixture-integrity';
import { loadManifest } from '../../spec/support/fixtures';
import { loadEncodeCases } from '../../spec/support/tokenizer/cases';
import { selectOnly } from './only';
import { readBaseline } from '../report/baseline';
import { parseShard } from '../report/model';
import { checkWritable, formatHelp, list, parseArgs, str, num, UsageError, type FlagSpec, type Flags } from './args';
import { BROWSER_FLAGS, browserRunners, withBrowserDefault } from './browser';
import { specRunArgv } from './jest-config';

const FLAGS: FlagSpec[] = [
  { name: 'runner', type: 'string', repeat: true, value: 'NAME|PATH', help: `a built-in runner (${Object.keys(builtinRunners).join(', ')}) or an adapter module; default: every built-in runner` },
  { name: 'tokenizer', type: 'string', repeat: true, value: 'NAME|PATH', help: 'a built-in tokenizer or an adapter module; default: every built-in tokenizer' },
  { name: 'fixtures', type: 'string', value: 'DIR', help: 'the fixtures folder (default: the shipped fixtures)' },
  { name: 'only', type: 'string', value: 'PATTERN', help: 'only what matches this case-insensitive regular expression: building blocks (the matrix rows, e.g. layer_norm, attention.weights), runner names, or case ids (e.g. gpt2-mini/random-8)' },
  { name: 'json', type: 'string', value: 'FILE', help: 'write the JSON report (schema: docs/report-schema.md)' },
  { name: 'junit', type: 'string', value: 'FILE', help: 'write a JUnit XML report' },
  { name: 'html', type: 'string', value: 'FILE', help: 'write a self-contained HTML report' },
  { name: 'timeout', type: 'number', value: 'SECONDS', help: 'the time limit for one runner call (default 30)' },
  { name: 'memory-limit', type: 'number', value: 'MIB', help: 'the resident memory limit of a runner process (default 4096)' },
  { name: 'baseline', type: 'string', value: 'FILE', help: 'expected failures (docs/ci.md): the failures it lists are reported as expected, any other fails the run' },
  { name: 'strict', type: 'boolean', help: 'with --baseline: an expected failure that now passes fails the run too' },
  { name: 'write-baseline', type: 'string', value: 'FILE', help: "write this run's failures as a baseline file" },
  { name: 'shard', type: 'string', value: 'I/N', help: "run the I-th of N parts of the spec's files (merge the parts' --json reports with `gpt2-spec report merge`)" },
  ...BROWSER_FLAGS,
];

export const checkHelp = () =>
  formatHelp(
    'gpt2-spec check [options]',
    'Checks runners and tokenizers against the golden fixtures: every building block of GPT-2, in data-flow order.\nExit status: 0 when nothing failed, 1 when something failed, 2 on a usage or set-up error.',
    FLAGS,
  );

/** The spec files to run: the numeric building blocks for runners, the tokenizer chapter for tokenizers. */
function specPatterns(explicitRunners: boolean, explicitTokenizers: boolean): string[] {
  const patterns: string[] = [];
  if (explicitRunners || !explicitTokenizers) patterns.push('spec/0[2-9]');
  if (explicitTokenizers || !explicitRunners) patterns.push('spec/01');
  return patterns;
}

export async function check(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(withBrowserDefault(argv), FLAGS, 'gpt2-spec check');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}' (runners are given with --runner)`);
  const runners = browserRunners(flags, list(flags, 'runner').map(absoluteIfPath));
  const tokenizers = list(flags, 'tokenizer').map(absoluteIfPath);
  // Unknown names and missing adapter files are refused now (an AdapterError: exit 2), before jest starts.
  runners.forEach(runnerSource);
  tokenizers.forEach(tokenizerSource);
  const fixtures = resolve(str(flags, 'fixtures') ?? join(packageRoot(), 'fixtures'));
  if (!existsSync(join(fixtures, 'manifest.json'))) throw new UsageError(`${fixtures}: no fixtures here (manifest.json is missing)`);
  process.env.GPT2_SPEC_FIXTURES = fixtures;
  // A FixtureError here is one line and exit 2, before anything runs.
  verifiedFixtures();
  const timeout = num(flags, 'timeout');
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout needs a number of seconds > 0');
  const memoryLimit = num(flags, 'memory-limit');
  if (memoryLimit !== undefined && !(memoryLimit > 0)) throw new UsageError('--memory-limit needs a number of MiB > 0');

  const baseline = baselineFlags(flags);
  const shard = str(flags, 'shard');
  if (shard !== undefined) parseShard(shard); // a ShardError: one line, exit 2
  const outputs = { json: str(flags, 'json'), junit: str(flags, 'junit'), html: str(flags, 'html'), 'write-baseline': str(flags, 'write-baseline') };
  // Checked now, not after the whole run.
  for (const [flag, path] of Object.entries(outputs)) if (path) checkWritable(path, flag);
  const only = str(flags, 'only');
  const selection = only === undefined ? undefined : selectOnly(only, { runners: runners.length ? runners : defaultRunnerNames(), caseIds: caseIds() });
  const selectedRunners = selection?.runners ?? runners;
  const verdictFile = join(mkdtempSync(join(tmpdir(), 'gpt2-spec-verdict-')), 'verdict');

  const env: Record<string, string | undefined> = {
    GPT2_SPEC_RUNNERS: selectedRunners.join(','),
    GPT2_SPEC_NO_RUNNERS: tokenizers.length > 0 && runners.length === 0 ? '1' : undefined,
    GPT2_SPEC_TOKENIZERS: tokenizers.join(','),
    GPT2_SPEC_FIXTURES: fixtures,
    GPT2_SPEC_REPORT_JSON: outputs.json && resolve(outputs.json),
    GPT2_SPEC_REPORT_JUNIT: outputs.junit && resolve(outputs.junit),
    GPT2_SPEC_REPORT_HTML: outputs.html && resolve(outputs.html),
    GPT2_SPEC_COMPONENT_TIMEOUT_MS: timeout === undefined ? undefined : String(timeout * 1000),
    GPT2_SPEC_MEMORY_LIMIT_MIB: memoryLimit === undefined ? process.env.GPT2_SPEC_MEMORY_LIMIT_MIB : String(memoryLimit),
    GPT2_SPEC_VERDICT_FILE: verdictFile,
    GPT2_SPEC_TEST_NAME_PATTERN: selection?.testNamePattern,
    GPT2_SPEC_BASELINE: baseline.file,
    GPT2_SPEC_BASELINE_STRICT: baseline.strict ? '1' : undefined,
    GPT2_SPEC_WRITE_BASELINE: outputs['write-baseline'] && resolve(outputs['write-baseline']),
    GPT2_SPEC_SHARD: shard,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v) process.env[k] = v;
    else delete process.env[k];
  }

  await preflight(tokenizers);

  const root = packageRoot();
  // jest is loaded here, not at start-up, so that the other commands start fast.
  const { runCLI } = require('jest') as typeof import('jest');
  try {
    const argv = specRunArgv(root, { testPathPatterns: selection?.files ?? specPatterns(selectedRunners.length > 0, tokenizers.length > 0), testNamePattern: selection?.testNamePattern, shard });
    const { results } = await runCLI(argv as Parameters<typeof runCLI>[0], [root]);
    if (results.numTotalTests === 0) {
      const why = shard ? ` in shard ${shard} (there are fewer spec files than shards, or --only left this shard none)` : only ? ` --only ${only}` : '';
      process.stderr.write(`gpt2-spec check: no test matched${why}\n`);
      return 2;
    }
    // The exit code is the printed verdict; a jest failure the report could not see still fails the run, and says so.
    const written = existsSync(verdictFile) ? (JSON.parse(readFileSync(verdictFile, 'utf8')) as { verdict: string; expectedFailedTests: number }) : undefined;
    if (written === undefined) {
      process.stderr.write('gpt2-spec check: the run ended without a verdict (the report was not written): FAIL\n');
      return 1;
    }
    // jest counts the baseline's expected failures as failed tests; anything beyond them the report never saw.
    const unseen = results.numRuntimeErrorTestSuites > 0 || results.numFailedTests !== written.expectedFailedTests || (!results.success && results.numFailedTests === 0);
    if (written.verdict === 'pass' && unseen) {
      process.stderr.write(`gpt2-spec check: jest reported a failure outside the spec's tests (${results.numRuntimeErrorTestSuites} suites failed to run, ${results.numFailedTests} tests failed): FAIL\n`);
      return 1;
    }
    return written.verdict === 'pass' ? 0 : 1;
  } finally {
    rmSync(dirname(verdictFile), { recursive: true, force: true });
  }
}

/** --baseline FILE (read and checked now: a malformed one is exit 2 before anything runs) and --strict. */
function baselineFlags(flags: Flags): { file?: string; strict: boolean } {
  const file = str(flags, 'baseline');
  const strict = flags.strict === true;
  if (strict && file === undefined) throw new UsageError('--strict needs --baseline FILE');
  if (file !== undefined) readBaseline(resolve(file), strict); // a BaselineError: one line, exit 2
  return { file: file && resolve(file), strict };
}

/** The probe's errors that are the adapter's own mistakes (a build error, a factory or a load that throws), not its crashes. */
const CRASHES = new Set(['RunnerCrashError', 'RunnerBrokenError', 'TimeLimitError', 'MemoryLimitError', 'ProtocolError']);

/**
 * Probes the runners here, before jest, in the run's own folder: an adapter that cannot be built, or whose
 * factory or load throws, is one line and exit 2; one that crashes is the run's to report. The jest
 * run reuses this probe (spec/support/global-setup.ts). A tokenizer adapter is started once, the same way.
 */
async function preflight(tokenizers: string[]): Promise<void> {
  const run = mkdtempSync(join(tmpdir(), 'gpt2-spec-run-'));
  process.env.GPT2_SPEC_TMP = run;
  const states = await probeRunners();
  const mistakes = states.filter((s) => s.explicit && s.status === 'unavailable' && !CRASHES.has(s.reasonName ?? ''));
  for (const name of tokenizers.filter((t) => !Object.hasOwn(builtinTokenizers, t))) {
    const outcome = await loadTokenizer(name);
    if ('reason' in outcome && !CRASHES.has(outcome.reason.split(':')[0]!)) mistakes.push({ id: name, reason: outcome.reason } as (typeof states)[number]);
  }
  if (mistakes.length > 0) {
    rmSync(run, { recursive: true, force: true });
    throw new UsageError(mistakes.map((s) => `${s.id}: ${s.reason}`).join('; '));
  }
  const statePath = join(mkdtempSync(join(tmpdir(), 'gpt2-spec-')), 'runners.json');
  writeRunnerStates(statePath, states);
  process.env[STATE_ENV] = statePath;
  process.env.GPT2_SPEC_PROBED = '1';
}

const defaultRunnerNames = () => selectedRunnerIds('').ids;

function caseIds(): string[] {
  const forward = loadManifest().cases.map((c) => `${c.model}/${c.name}`);
  const tokenizer = loadEncodeCases().map((c) => c.id);
  return [...forward, ...tokenizer];
}

/** A built-in name stays a name (some have dots, e.g. transformers.js); a path is made absolute for jest's workers. */
function absoluteIfPath(nameOrPath: string): string {
  const builtin = Object.hasOwn(builtinRunners, nameOrPath) || Object.hasOwn(builtinTokenizers, nameOrPath);
  // A command line stays as it is: its words are the command's, relative to where check was started.
  if (builtin || nameOrPath.startsWith(COMMAND_PREFIX)) return nameOrPath;
  if (nameOrPath.startsWith(BROWSER_PREFIX)) return BROWSER_PREFIX + resolve(nameOrPath.slice(BROWSER_PREFIX.length));
  return looksLikePath(nameOrPath) ? resolve(nameOrPath) : nameOrPath;
}

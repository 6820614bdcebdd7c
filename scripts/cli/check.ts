/**
 * `gpt2-spec check`: runs the spec (the jest suites themselves) against the selected runners and
 * tokenizers, prints the conformance matrix, and writes the reports asked for.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { builtinRunners, looksLikePath, runnerSource } from '../../runners/registry';
import { builtinTokenizers, tokenizerSource } from '../../runners/tokenizers';
import { formatHelp, list, parseArgs, str, num, UsageError, type FlagSpec } from './args';
import { jestConfig, jestProjectConfig } from './jest-config';

const FLAGS: FlagSpec[] = [
  { name: 'runner', type: 'string', repeat: true, value: 'NAME|PATH', help: `a built-in runner (${Object.keys(builtinRunners).join(', ')}) or an adapter module; default: every built-in runner` },
  { name: 'tokenizer', type: 'string', repeat: true, value: 'NAME|PATH', help: 'a built-in tokenizer or an adapter module; default: every built-in tokenizer' },
  { name: 'fixtures', type: 'string', value: 'DIR', help: 'the fixtures folder (default: the shipped fixtures)' },
  { name: 'only', type: 'string', value: 'PATTERN', help: 'only the tests whose names match this regular expression (case-insensitive), e.g. attention' },
  { name: 'json', type: 'string', value: 'FILE', help: 'write the JSON report (schema: docs/report-schema.md)' },
  { name: 'junit', type: 'string', value: 'FILE', help: 'write a JUnit XML report' },
  { name: 'html', type: 'string', value: 'FILE', help: 'write a self-contained HTML report' },
  { name: 'timeout', type: 'number', value: 'SECONDS', help: 'the time limit for one runner call (default 30)' },
  { name: 'memory-limit', type: 'number', value: 'MIB', help: 'the resident memory limit of a runner process (default 4096)' },
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
  const { flags, positional } = parseArgs(argv, FLAGS, 'gpt2-spec check');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}' (runners are given with --runner)`);
  const runners = list(flags, 'runner').map(absoluteIfPath);
  const tokenizers = list(flags, 'tokenizer').map(absoluteIfPath);
  // Unknown names and missing adapter files are refused now (an AdapterError: exit 2), before jest starts.
  runners.forEach(runnerSource);
  tokenizers.forEach(tokenizerSource);
  const fixtures = resolve(str(flags, 'fixtures') ?? join(packageRoot(), 'fixtures'));
  if (!existsSync(join(fixtures, 'manifest.json'))) throw new UsageError(`${fixtures}: no fixtures here (manifest.json is missing)`);
  const timeout = num(flags, 'timeout');
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout needs a number of seconds > 0');
  const memoryLimit = num(flags, 'memory-limit');
  if (memoryLimit !== undefined && !(memoryLimit > 0)) throw new UsageError('--memory-limit needs a number of MiB > 0');

  const env: Record<string, string | undefined> = {
    GPT2_SPEC_RUNNERS: runners.join(','),
    GPT2_SPEC_TOKENIZERS: tokenizers.join(','),
    GPT2_SPEC_FIXTURES: fixtures,
    GPT2_SPEC_REPORT_JSON: str(flags, 'json') && resolve(str(flags, 'json')!),
    GPT2_SPEC_REPORT_JUNIT: str(flags, 'junit') && resolve(str(flags, 'junit')!),
    GPT2_SPEC_REPORT_HTML: str(flags, 'html') && resolve(str(flags, 'html')!),
    GPT2_SPEC_COMPONENT_TIMEOUT_MS: timeout === undefined ? undefined : String(timeout * 1000),
    GPT2_SPEC_MEMORY_LIMIT_MIB: memoryLimit === undefined ? process.env.GPT2_SPEC_MEMORY_LIMIT_MIB : String(memoryLimit),
  };
  for (const [k, v] of Object.entries(env)) {
    if (v) process.env[k] = v;
    else delete process.env[k];
  }

  const root = packageRoot();
  // jest is loaded here, not at start-up, so that the other commands start fast.
  const { runCLI } = require('jest') as typeof import('jest');
  const only = str(flags, 'only');
  const { results } = await runCLI(
    {
      _: [],
      $0: 'gpt2-spec',
      ci: true,
      silent: true,
      testPathPatterns: specPatterns(runners.length > 0, tokenizers.length > 0),
      testNamePattern: only,
      reporters: [join(root, 'spec/support/progress-reporter.js'), join(root, 'spec/support/conformance-reporter.js')],
      rootDir: root,
      // The configuration as an object, not the package's jest.config.ts: no TypeScript config is parsed where the package is installed.
      config: JSON.stringify(jestProjectConfig(root)),
      maxWorkers: jestConfig(root).maxWorkers,
    } as Parameters<typeof runCLI>[0],
    [root],
  );
  if (results.numTotalTests === 0) {
    process.stderr.write(`gpt2-spec check: no test matched${only ? ` --only ${only}` : ''}\n`);
    return 2;
  }
  return results.success ? 0 : 1;
}

/** A built-in name stays a name (some have dots, e.g. transformers.js); a path is made absolute for jest's workers. */
function absoluteIfPath(nameOrPath: string): string {
  const builtin = Object.hasOwn(builtinRunners, nameOrPath) || Object.hasOwn(builtinTokenizers, nameOrPath);
  return !builtin && looksLikePath(nameOrPath) ? resolve(nameOrPath) : nameOrPath;
}

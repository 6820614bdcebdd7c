/**
 * Runs the gpt2-spec command as a run of its own, and returns what it said: the command bundled from the
 * TypeScript sources (bundle.ts), as `npm run build` bundles dist/cli.js, so no build is needed first.
 */
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../../runners/paths';
import { bundled } from './bundle';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function cli(args: string[], opts: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, GPT2_SPEC_CLI_MAIN: '1', ...opts.env };
  // The child is a run of its own: it must not write into this run's records or read its probe.
  delete env.GPT2_SPEC_RECORD;
  delete env.GPT2_SPEC_STATE;
  const main = bundled('scripts/cli/main.ts');
  const started = Date.now();
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd: opts.cwd ?? packageRoot(),
    env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 1 << 28, // tokenize's JSON of a few MB of text
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

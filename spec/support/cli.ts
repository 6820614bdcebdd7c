/**
 * Runs the gpt2-spec command as a run of its own, and returns what it said. The command is bundled from
 * the TypeScript sources once per test worker, as `npm run build` bundles dist/cli.js (esbuild, a fraction
 * of a second), so every edit is seen and no build is needed first; each child then starts as the installed
 * command does, instead of compiling the sources again under esbuild-register.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { bundledScript } from '../../runners/protocol/commands';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let built: string | undefined;

/** The command's bundle, in the build cache beside the runner host's: a bundle finds host.js and sync-worker.js in its own folder. */
export function builtCli(): string {
  if (built) return built;
  const host = bundledScript('host');
  bundledScript('sync-worker');
  const dir = join(host, '..');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'cli.js');
  const fresh = join(dir, `cli-${process.pid}.js`);
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ entryPoints: [join(packageRoot(), 'scripts/cli/main.ts')], outfile: fresh, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'silent' });
  // Built afresh by each worker and renamed into place, as bundledScript does: concurrent builds of the same sources agree.
  renameSync(fresh, out);
  return (built = out);
}

export function cli(args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, GPT2_SPEC_CLI_MAIN: '1', ...opts.env };
  // The child is a run of its own: it must not write into this run's records or read its probe.
  delete env.GPT2_SPEC_RECORD;
  delete env.GPT2_SPEC_STATE;
  const main = builtCli();
  const started = Date.now();
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd: opts.cwd ?? packageRoot(),
    env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

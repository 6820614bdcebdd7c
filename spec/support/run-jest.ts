/** Runs the spec in a child jest process and returns its JSON results: how the spec is checked against itself. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { tempDir } from './temp';

export interface JestAssertion {
  fullName: string;
  status: 'passed' | 'failed' | 'pending' | 'skipped' | 'todo';
  failureMessages: string[];
}

export interface JestRun {
  exitCode: number | null;
  files: { name: string; assertionResults: JestAssertion[] }[];
  stderr: string;
}

const root = packageRoot();

export function runJest(files: string[], env: Record<string, string>, testNamePattern?: string): JestRun {
  const out = join(tempDir('gpt2-spec-inner-'), 'results.json');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The child gets its own probe state and record file, not ours.
  delete childEnv.GPT2_SPEC_STATE;
  delete childEnv.GPT2_SPEC_RECORD;
  const child = spawnSync(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '--ci', '--silent', '--maxWorkers=1', '--json', `--outputFile=${out}`, ...(testNamePattern ? ['-t', testNamePattern] : []), ...files], {
    cwd: root,
    env: childEnv,
    encoding: 'utf8',
    // Under the callers' own limit (spec/90's beforeAll allows 180 s), so that a slow machine gets this message, not a jest timeout.
    timeout: 170_000,
  });
  if (!existsSync(out)) throw new Error(`the child jest run wrote no results (exit ${child.status}, signal ${child.signal}):\n${child.stderr}`);
  const json = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { name: string; assertionResults: JestAssertion[] }[] };
  return { exitCode: child.status, files: json.testResults, stderr: child.stderr };
}

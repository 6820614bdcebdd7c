/**
 * Implementations in other languages, over the runner protocol: a numpy GPT-2 (examples/python), an
 * adapter over Hugging Face's GPT2LMHeadModel where a Python with torch is found, and the framing in C
 * (examples/c). Each is checked by the same `gpt2-spec check` a user runs.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../runners/paths';
import { cli } from './support/cli';
import { tempDir } from './support/temp';

const root = packageRoot();
const numpyGpt2 = `cmd:python3 ${join(root, 'examples/python/numpy_gpt2.py')}`;
const venvPython = join(root, '.venv/bin/python');
const hasCc = spawnSync('cc', ['--version']).status === 0;
// Installed, by their package metadata: importing torch alone takes seconds. A broken install then fails the case, loudly.
const hasTorch = existsSync(venvPython) && spawnSync(venvPython, ['-c', "from importlib.metadata import version; version('torch'); version('transformers')"], { timeout: 60_000 }).status === 0;

interface ReportRow {
  runner: string;
  component: string;
  status: string;
}

/** check's JSON report of a run, beside its exit code and output. */
function checked(args: string[], env: NodeJS.ProcessEnv = {}) {
  const json = join(tempDir('gpt2-spec-languages-'), 'report.json');
  const r = cli(['check', ...args, '--json', json], { env, timeoutMs: 240_000 });
  const report = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; results: ReportRow[]; runners: { name: string; profiles?: Record<string, boolean> }[] }) : undefined;
  return { ...r, report };
}

/** A runner file that runs the numpy GPT-2 with one planted bug. */
function numpyWithBug(bug: string): string {
  const file = join(tempDir('gpt2-spec-bug-'), `${bug}.runner.json`);
  writeFileSync(file, JSON.stringify({ command: ['python3', join(root, 'examples/python/numpy_gpt2.py')], env: { GPT2_NUMPY_BUG: bug } }));
  return file;
}

const failedRows = (rows: ReportRow[]) => [...new Set(rows.filter((x) => x.status === 'fail' || x.status === 'error').map((x) => x.component))];

describe('Implementations in other languages, over the runner protocol', () => {
  describe('a GPT-2 in numpy (examples/python/numpy_gpt2.py)', () => {
    it('passes the whole spec, with the full conformance profile', () => {
      const r = checked(['--runner', numpyGpt2]);
      expect(r.report?.verdict).toBe('pass');
      expect(r.report?.runners[0]?.profiles).toEqual({ full: true, forward: true });
      expect(r.code).toBe(0);
    });

    it.each([
      ['no-scale', 'attention.scores'],
      ['gelu-erf', 'mlp.output'],
    ])('fails at %s\'s row, %s, when one line of it is wrong', (bug, row) => {
      const r = checked(['--runner', numpyWithBug(bug), '--only', row.split('.')[0]!]);
      expect(r.code).toBe(1);
      expect(failedRows(r.report!.results)[0]).toBe(row);
    });
  });

  describe("an adapter over Hugging Face's GPT2LMHeadModel (examples/python/hf_gpt2.py)", () => {
    if (!hasTorch) {
      it.skip('is not checked here: there is no .venv with torch and transformers (npm run fixtures:venv builds one)', () => undefined);
      return;
    }
    it.each([['float64', ''], ['float32', ' --float32']])('passes the LM head and forward-pass chapter in %s', (_precision, flag) => {
      const r = checked(['--runner', `cmd:${venvPython} ${join(root, 'examples/python/hf_gpt2.py')}${flag}`, '--only', 'lm_head']);
      expect(failedRows(r.report?.results ?? [])).toEqual([]);
      expect(r.code).toBe(0);
    });
  });

  describe('the framing in C (examples/c/runner.c)', () => {
    if (!hasCc) {
      it.skip('is not checked here: there is no C compiler (cc) on the PATH', () => undefined);
      return;
    }
    it('builds with the C compiler alone, and its embedding passes while the rest is not exposed', () => {
      const binary = join(tempDir('gpt2-spec-c-'), 'runner');
      const cc = spawnSync('cc', ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', binary, join(root, 'examples/c/runner.c')], { encoding: 'utf8' });
      expect(cc.stderr).toBe('');
      const r = checked(['--runner', `cmd:${binary}`, '--only', 'embed']);
      expect(r.report?.results.filter((x) => x.component === 'embed').every((x) => x.status === 'pass')).toBe(true);
      expect(r.code).toBe(0);
    });
  });
});

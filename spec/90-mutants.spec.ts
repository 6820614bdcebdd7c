/**
 * The spec can fail. Each mutant runner is the reference with one planted bug; the spec of the
 * building block it breaks must fail it, by name, while the same spec passes the reference.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { mutantTargets, type MutantName } from './support/mutants/mutants';
import { runJest, type JestRun } from './support/run-jest';

const names = Object.keys(mutantTargets) as MutantName[];
const targets = [...new Set(Object.values(mutantTargets))];
const adapters = names.map((m) => join('spec/support/mutants', `${m}.ts`));

describe('The spec catches planted bugs', () => {
  let run: JestRun;
  const failedIn = (file: string, runner: string) =>
    run.files.filter((f) => f.name.endsWith(file)).flatMap((f) => f.assertionResults).filter((a) => a.status === 'failed' && a.fullName.includes(`[${runner}]`));
  const passedIn = (file: string, runner: string) =>
    run.files.filter((f) => f.name.endsWith(file)).flatMap((f) => f.assertionResults).filter((a) => a.status === 'passed' && a.fullName.includes(`[${runner}]`));

  // One child run: the reference and all the mutants, over the spec files of the building blocks they break,
  // on the small-vocabulary model's cases (each bug shows on every case; these are the quick ones).
  beforeAll(() => {
    run = runJest(targets, { GPT2_SPEC_RUNNERS: ['reference', ...adapters].join(',') }, 'gpt2-mini/');
  }, 180_000);

  it('runs the spec files of the broken building blocks over the reference and every mutant', () => {
    expect(run.files.map((f) => f.name).sort()).toEqual(targets.map((t) => join(process.cwd(), t)).sort());
  });

  for (const m of names) {
    it(`fails the mutant "${m}" on its own building block (${mutantTargets[m].replace('spec/', '')})`, () => {
      expect(run).toBeDefined();
      const failures = failedIn(mutantTargets[m], `mutant:${m}`);
      expect(failures.length).toBeGreaterThan(0);
      // A comparison that failed, or a typed error of the contract: not just any crash.
      expect(failures.map((f) => f.failureMessages.join('\n')).join('\n')).toMatch(/outside tolerance|differs from the golden|(TokenId|SequenceTooLong|CacheShape|Shape)Error/);
    });
  }

  it('passes the unmutated reference on the same spec files', () => {
    expect(run).toBeDefined();
    for (const file of targets) {
      expect(failedIn(file, 'reference')).toEqual([]);
      expect(passedIn(file, 'reference').length).toBeGreaterThan(0);
    }
  });
});

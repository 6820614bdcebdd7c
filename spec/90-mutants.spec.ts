/**
 * The spec can fail. Each mutant of the catalogue (spec/support/mutants/catalogue.ts) is the reference with one
 * realistic bug, in float64 and in float32; the spec must fail every one it can detect, by a comparison, while the
 * same rows pass the correct runner of each precision. One child run, each mutant on its cheapest killing row
 * (cheapest-kills.json, written by `gpt2-spec mutants --kills`); the whole kill matrix is docs/mutants.md.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { correctAdapter, fixturesWith, mutantAdapter, SMALL_MODELS } from './support/mutants/adapters';
import { CORRECT_RUNNER, MUTANTS, mutantRunnerName, PRECISIONS } from './support/mutants/catalogue';
import { RUNNER_TAG } from './support/mutants/kill-matrix';
import { runJest, type JestAssertion, type JestRun } from './support/run-jest';
import { tempDir } from './support/temp';

const kills = JSON.parse(readFileSync(join(__dirname, 'support/mutants/cheapest-kills.json'), 'utf8')) as Record<string, { file: string; test: string }>;
const detectable = MUTANTS.flatMap((m) => PRECISIONS.filter((p) => !m.undetectable?.[p]).map((p) => ({ m, p, row: kills[`${m.name}/${p}`] })));
const planned = detectable.filter((x) => x.row !== undefined).map((x) => ({ ...x, row: x.row! }));

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const nameFor = (test: string, runner: string) => test.replace(RUNNER_TAG, `[${runner}]`);
const patternFor = (test: string, runner: string) => escape(nameFor(test, runner));

// What a mutant must fail by: a comparison with a golden or an invariant the spec states, never a crash of its own.
const BY_A_CHECK = /outside tolerance|differs from the golden|ids match|position \d+: got|Property failed|not a probability|exactly 0|sum to|(TokenId|SequenceTooLong|CacheShape|Shape)Error|Expected/;

describe('The spec catches realistic bugs: the mutation catalogue', () => {
  it('knows the cheapest killing row of every detectable mutant at both precisions (gpt2-spec mutants --kills spec/support/mutants/cheapest-kills.json)', () => {
    expect(detectable.filter((x) => !x.row).map((x) => `${x.m.name}/${x.p}`)).toEqual([]);
    expect(MUTANTS.length).toBeGreaterThanOrEqual(30);
  });

  let run: JestRun;
  const tests = () => run.files.flatMap((f) => f.assertionResults);
  const outcome = (test: string, runner: string): JestAssertion | undefined => tests().find((a) => a.fullName === nameFor(test, runner));
  const rows = [...new Set(planned.map((x) => x.row.test))];

  beforeAll(() => {
    const dir = tempDir('gpt2-spec-mutants-');
    const runners = [...PRECISIONS.map((p) => correctAdapter(dir, p)), ...planned.map((x) => mutantAdapter(dir, x.m.name, x.p))];
    const pattern = [
      ...planned.map((x) => patternFor(x.row.test, mutantRunnerName(x.m.name, x.p))),
      ...rows.flatMap((t) => PRECISIONS.map((p) => patternFor(t, CORRECT_RUNNER[p]))),
    ].join('|');
    const files = [...new Set(planned.map((x) => x.row.file))];
    run = runJest(files, { GPT2_SPEC_RUNNERS: runners.join(','), GPT2_SPEC_FIXTURES: fixturesWith(SMALL_MODELS, dir) }, `^(${pattern})$`);
  }, 180_000);

  for (const { m, p, row } of planned) {
    it(`fails ${m.name} in ${p} (${m.bug}) on ${row.file.replace('spec/', '')}`, () => {
      const a = outcome(row.test, mutantRunnerName(m.name, p));
      expect(a?.status).toBe('failed');
      expect(a!.failureMessages.join('\n')).toMatch(BY_A_CHECK);
    });
  }

  it('passes the correct runner of each precision on every one of those rows', () => {
    const notPassed = rows.flatMap((t) => PRECISIONS.map((p) => CORRECT_RUNNER[p]).filter((r) => outcome(t, r)?.status !== 'passed').map((r) => nameFor(t, r)));
    expect(notPassed).toEqual([]);
  });
});

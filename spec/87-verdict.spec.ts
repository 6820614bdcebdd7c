/**
 * The verdict is worth what it guarantees: PASS and exit 0 only for a run that checked something, on
 * fixtures that are the ones they claim to be, with every failure, crash and filter accounted for.
 */
import { describe, expect, it } from '@jest/globals';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../runners/paths';
import { buildReport, SUITE_FAILED, type ProbeState } from '../scripts/report/model';
import { cli } from './support/cli';
import { verifiedFixtures } from './support/fixture-integrity';
import { forgetManifest } from './support/fixtures';
import { tempDir } from './support/temp';

const root = packageRoot();
const adapter = (name: string) => join(root, 'spec/support/adapters', `${name}.ts`);

/** A copy of the shipped fixtures, to be spoiled by a test. */
function fixturesCopy(): string {
  const dir = join(tempDir('gpt2-spec-fixtures-'), 'fixtures');
  cpSync(join(root, 'fixtures'), dir, { recursive: true });
  return dir;
}

/** Runs a function with GPT2_SPEC_FIXTURES pointing at `dir`, and the manifest cache cleared around it. */
function withFixtures<T>(dir: string, fn: () => T): T {
  const before = process.env.GPT2_SPEC_FIXTURES;
  process.env.GPT2_SPEC_FIXTURES = dir;
  forgetManifest();
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.GPT2_SPEC_FIXTURES;
    else process.env.GPT2_SPEC_FIXTURES = before;
    forgetManifest();
  }
}

describe('The verdict', () => {
  describe('is given only on fixtures that are the ones they claim to be', () => {
    it('refuses to run, exit 2, when one byte of a golden case differs from its sha256, and names the file', () => {
      const dir = fixturesCopy();
      const file = join(dir, 'cases/gpt2-tiny/cat-sat-on-the.safetensors');
      const bytes = readFileSync(file);
      bytes[bytes.length - 3]! ^= 0x01; // a mantissa bit of the last value
      writeFileSync(file, bytes);
      const r = cli(['check', '--runner', 'reference', '--fixtures', dir, '--only', 'embed']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cat-sat-on-the\.safetensors: its sha256 is not the manifest's/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });

    it("refuses the shipped folder's manifest once a tolerance in it is changed, though every file still matches it", () => {
      const dir = fixturesCopy();
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const shippedSha = verifiedFixtures().manifestSha256;
      manifest.tolerances.float64['mlp.output'].atol = 1e9;
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
      const check = () => withFixtures(dir, () => verifiedFixtures({ dir, manifestSha256: shippedSha }));
      expect(check).toThrow(/is not the manifest this package ships/);
    });

    it('accepts a folder of its own with its own manifest, and the report names it with its hashes', () => {
      const dir = fixturesCopy();
      const r = cli(['check', '--runner', 'reference', '--fixtures', dir, '--only', 'embed']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Fixtures: ${dir} (manifest sha256 `);
    });
  });

  describe('counts what was checked', () => {
    it('calls a runner that exposes nothing "nothing checked", and exits 1', () => {
      const r = cli(['check', '--runner', adapter('exposes-nothing'), '--only', 'embed|layer_norm']);
      expect(r.stdout).toMatch(/exposes-nothing\s+NOTHING CHECKED/);
      expect(r.stdout).toMatch(/^Verdict: FAIL$/m);
      expect(r.code).toBe(1);
    });

    it('shows how many building blocks a passing runner was checked on, and the profiles it holds', () => {
      const r = cli(['check', '--runner', 'reference', '--only', 'gpt2-mini/random-8']);
      expect(r.stdout).toMatch(/reference\s+PASS/);
      expect(r.stdout).toMatch(/\d+ building blocks checked; profiles: full, forward/);
      expect(r.code).toBe(0);
    });

    it('turns a chapter that failed to run as a whole into an error row of its block for every runner', () => {
      const probe: ProbeState[] = [{ id: 'reference', name: 'reference', status: 'available', notExposed: [] }];
      const crashed = { fullName: 'x', title: SUITE_FAILED, ancestors: [], file: '/spec/05-feed-forward.spec.ts', status: 'failed' as const, failureMessages: ['worker died'] };
      const passed = { runner: 'reference', component: 'embed', case: 'c', status: 'pass' as const };
      const report = buildReport([passed], probe, [crashed]);
      expect(report.results).toContainEqual(expect.objectContaining({ runner: 'reference', component: 'mlp.output', status: 'error' }));
      expect(report.runners[0]!.status).toBe('fail');
      expect(report.verdict).toBe('fail');
    });
  });

  describe('keeps input validation in a row of its own', () => {
    it('fails only "validation" for a correct runner that refuses bad ids with its own RangeError', () => {
      const json = join(tempDir('gpt2-spec-validation-'), 'report.json');
      const r = cli(['check', '--runner', adapter('refuses-with-range-error'), '--only', 'embed', '--json', json]);
      const results = (JSON.parse(readFileSync(json, 'utf8')) as { results: { component: string; status: string; reason?: string }[] }).results;
      const failed = results.filter((x) => x.status !== 'pass');
      expect([...new Set(failed.map((x) => x.component))]).toEqual(['validation']);
      expect(failed[0]!.reason).toMatch(/must be refused with a TokenIdError, but it refused with RangeError/);
      expect(r.code).toBe(1);
    });
  });

  describe('filters by what the matrix shows, and refuses a filter that selects nothing', () => {
    it('runs the LayerNorm chapter alone for --only layer_norm, a matrix row name', () => {
      const r = cli(['check', '--runner', 'reference', '--only', 'layer_norm']);
      expect(r.stdout).toMatch(/^layer_norm\s+pass/m);
      expect(r.stdout).not.toMatch(/^mlp\.output/m);
      expect(r.code).toBe(0);
    });

    it.each([
      ['nothing-matches-this', /selects nothing/],
      ['(unclosed', /is not a regular expression/],
    ])('exits 2 before running for --only %s', (pattern, message) => {
      const r = cli(['check', '--runner', 'reference', '--only', pattern]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });

    it('checks an output path before the run, not after it', () => {
      const r = cli(['check', '--runner', 'reference', '--json', '/nonexistent-folder/report.json']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--json \/nonexistent-folder\/report\.json: cannot be written/);
      // Before: no progress line and no matrix, so no spec file ran.
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/running \d+ spec file/);
    });
  });

  describe('of compare counts the runners that ran', () => {
    const tiny = ['compare', '--weights', join(root, 'fixtures/models/gpt2-tiny'), '--ids', '[464, 3797]'];

    it('lists a runner that cannot run the checkpoint as unavailable, and lets the others decide: exit 0', () => {
      const r = cli([...tiny, '--runner', 'onnx-external', '--runner', 'onnx']);
      expect(r.stdout).toMatch(/^onnx-external: unavailable: NotExposedError/m);
      expect(r.stdout).toMatch(/^onnx: within tolerance at every step/m);
      expect(r.code).toBe(0);
    });

    it('exits 2 when no runner could run the checkpoint', () => {
      const r = cli([...tiny, '--runner', 'onnx-external']);
      expect(r.stderr).toMatch(/no runner could run this checkpoint/);
      expect(r.code).toBe(2);
    });

    it('calls a runner that exposes nothing "nothing compared", and exits 1', () => {
      const r = cli([...tiny, '--runner', adapter('exposes-nothing')]);
      expect(r.stdout).toMatch(/^exposes-nothing: nothing compared/m);
      expect(r.code).toBe(1);
    });

    it('reports a throw that is not an Error as such, and still compares the next runner', () => {
      const r = cli([...tiny, '--runner', adapter('throws-non-error'), '--runner', 'onnx']);
      expect(r.stdout).toMatch(/^throws-non-error: first leaves tolerance at embed \(embed\.output\): threw NonErrorThrown: threw a non-Error value: \{"message":42\}/m);
      expect(r.stdout).toMatch(/^onnx: within tolerance/m);
      expect(r.code).toBe(1);
    });
  });

  it('prints its version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`gpt2-spec ${(require('../package.json') as { version: string }).version}\n`);
  });
});

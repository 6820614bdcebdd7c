/**
 * The gpt2-spec command: every command answers --help, refuses bad usage with one line and exit 2,
 * and does its job. It runs from the TypeScript sources here, so no build is needed first.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../runners/paths';
import { cases, openCase } from './support/fixtures';
import { rowsOf } from './support/goldens';
import { bundled } from './support/bundle';
import { cli as runCli } from './support/cli';
import { mutantAdapter } from './support/mutants/adapters';
import { tempDir } from './support/temp';
import type { Report } from '../scripts/report/model';

const root = packageRoot();
const cli = (args: string[], input?: string) => runCli(args, { input });

describe('The gpt2-spec command', () => {
  describe('explains itself and refuses bad usage with one clear line', () => {
    it('lists its commands with --help', () => {
      const r = cli(['--help']);
      expect(r.code).toBe(0);
      for (const command of ['check', 'compare', 'generate', 'tokenize', 'detokenize', 'fixtures']) expect(r.stdout).toContain(command);
    });

    it.each(['check', 'compare', 'generate', 'tokenize', 'detokenize', 'fixtures'])('answers "%s --help" with its usage', (command) => {
      const r = cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: gpt2-spec ${command}`));
    });

    it('exits 2 on an unknown command, an unknown flag, a missing file and a checkpoint that does not load', () => {
      const cases: [string[], RegExp][] = [
        [['bogus'], /unknown command 'bogus'/],
        [['check', '--bogus'], /unknown flag --bogus/],
        [['check', '--runner', './no-such-adapter.ts'], /does not exist/],
        [['check', '--runner', 'no-such-runner'], /unknown runner 'no-such-runner'/],
        [['check', '--runner', 'constructor'], /unknown runner 'constructor'/],
        [['generate', '--model', 'gpt2-mini', '--ids', JSON.stringify(Array.from({ length: 70 }, (_, i) => i))], /no room to continue within n_positions/],
        [['compare', '--weights', '/nonexistent/gpt2'], /the checkpoint does not load: .*no such checkpoint directory/],
        [['generate', '--model', 'gpt2-mini'], /--prompt/],
        [['detokenize', '[1, -2]'], /whole numbers/],
      ];
      for (const [args, message] of cases) {
        const r = cli(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
      }
    });
  });

  describe('tokenizes', () => {
    it('prints the ids of a text as a JSON array, and the text of the ids', () => {
      expect(cli(['tokenize', 'cat sat on the']).stdout.trim()).toBe('[9246,3332,319,262]');
      expect(cli(['detokenize', '[9246,3332,319,262]']).stdout).toBe('cat sat on the');
    });

    it('reads standard input when no argument is given', () => {
      expect(cli(['tokenize'], 'cat sat on the').stdout.trim()).toBe('[9246,3332,319,262]');
    });

    it('refuses an id outside the vocabulary with exit 2', () => {
      const r = cli(['detokenize', '[50257]']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/50257/);
    });

    it('ends with 141 and nothing on stderr when its reader closes the pipe early (| head), never 0', () => {
      const dir = tempDir('gpt2-spec-pipe-');
      writeFileSync(join(dir, 'text'), 'cat sat on the mat. '.repeat(200_000)); // 4 MB: more ids than the pipe holds
      const command = `"${process.execPath}" "${bundled('scripts/cli/main.ts')}" tokenize < "${join(dir, 'text')}" 2> "${join(dir, 'err')}" | head -c 10 > /dev/null; echo "\${PIPESTATUS[0]}"`;
      const status = spawnSync('bash', ['-c', command], { env: { ...process.env, GPT2_SPEC_CLI_MAIN: '1' }, encoding: 'utf8' }).stdout.trim();
      expect({ status, stderr: readFileSync(join(dir, 'err'), 'utf8') }).toEqual({ status: '141', stderr: '' });
    });
  });

  it('takes a built-in name with a dot in it (transformers.js) as a name, not as a file', () => {
    const r = cli(['check', '--runner', 'transformers.js', '--tokenizer', 'transformers.js', '--only', 'gpt2-mini/random-8|seed/cat-sat-on-the']);
    expect(r.stderr).not.toMatch(/does not exist/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/transformers\.js\s+PASS/);
  }, 60_000);

  it('checks tokenizers alone with --tokenizer: no runner is probed, and none is "nothing checked"', () => {
    const out = join(tempDir('gpt2-spec-cli-'), 'tokenizers.json');
    const r = cli(['check', '--tokenizer', 'reference', '--only', 'seed/cat-sat-on-the', '--json', out]);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.runners).toEqual([]);
    expect(report.tokenizers.map((t) => [t.name, t.status])).toEqual([['reference', 'pass']]);
    expect(r.code).toBe(0);
  }, 60_000);

  it('verifies the fixtures against their sha256', () => {
    const r = cli(['fixtures', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/(\d+) of \1 fixture files match/);
  });

  it('generates the golden greedy continuation of a fixture model, token by token', () => {
    const c = cases('forward', 'gpt2-mini').map(openCase).find((x) => x.has('generate.output_ids'))!;
    const [prompt] = rowsOf(c.get('input_ids'));
    const [golden] = rowsOf(c.get('generate.output_ids'));
    const r = cli(['generate', '--model', 'gpt2-mini', '--ids', JSON.stringify(prompt), '--max-new-tokens', String(golden!.length - prompt!.length)]);
    expect(r.code).toBe(0);
    // Without a tokenizer for this model's own vocabulary, each step prints its ids as it comes.
    const printed = r.stdout.trim().split(/\s+/).flatMap((s) => JSON.parse(s) as number[]);
    expect(printed).toEqual(golden);
  });

  it('localises a planted bug in compare: the first component and layer out of tolerance', () => {
    const r = cli(['compare', '--weights', 'fixtures/models/gpt2-mini', '--ids', '[1, 2, 3, 4, 5]', '--runner', 'spec/support/adapters/planted-bug-layer-1.ts', '--runner', 'reference']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/planted-bug-layer-1: first leaves tolerance at mlp\.output in layer 1/);
    expect(r.stdout).toMatch(/reference: within tolerance at every step/);
    expect(r.stderr).toMatch(/\[\d+\/\d+\] h\.0\.mlp\.output: ok/);
  });

  it('walks the KV cache in compare: a prefill and cached calls, a multi-token one among them, naming the first that leaves tolerance', () => {
    const dir = tempDir('gpt2-spec-cli-');
    const restart = mutantAdapter(dir, 'positions-ignore-past', 'float64');
    const reorder = mutantAdapter(dir, 'cache-new-before-past', 'float64');
    const r = cli(['compare', '--weights', 'fixtures/models/gpt2-mini', '--ids', '[1, 2, 3, 4, 5, 6]', '--runner', restart, '--runner', reorder]);
    expect(r.code).toBe(1);
    // Every component is right without a cache; the positions go wrong at the first cached call.
    expect(r.stdout).toMatch(/positions-ignore-past\/float64: first leaves tolerance at forward\.logits \(cached call 1 of tokens 2\.\.2: logits/);
    // A single-token call sees every key, so its logits are right; the cache it returns is not.
    expect(r.stdout).toMatch(/cache-new-before-past\/float64: first leaves tolerance at forward\.present \(cached call 1 of tokens 2\.\.2: the cache it returns/);
    expect(r.stderr).toMatch(/cached call 3 of tokens 4\.\.5: logits: OUTSIDE/);
  });

  it('fails a broken adapter in check, naming the broken components and still reporting the others', () => {
    const out = join(tempDir('gpt2-spec-cli-'), 'report.json');
    const r = cli(['check', '--runner', 'spec/support/adapters/broken.ts', '--timeout', '2', '--only', 'random-8', '--json', out]);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { results: { component: string; status: string }[] };
    const statuses = (component: string) => new Set(report.results.filter((x) => x.component === component).map((x) => x.status));
    expect(statuses('embed')).toEqual(new Set(['pass']));
    expect(statuses('layer_norm')).toEqual(new Set(['pass']));
    expect(statuses('attention')).toEqual(new Set(['error']));
    expect(statuses('mlp.output')).toEqual(new Set(['fail']));
    expect(statuses('block').has('error')).toBe(true);
    expect(r.stdout).toMatch(/attention\s+ERROR/);
    expect(r.stdout).toMatch(/did not finish within 2 s/);
  }, 120_000);
});

/**
 * The fuzz suite: seeded malformed checkpoints (byte flips and structural edits of a fixture's
 * model.safetensors), config files, token-id lists and runner answers, each fed where it enters.
 * Prints a summary, and exits 1 unless there are 0 crashes, 0 hangs and 0 silent accepts.
 *
 *   node -r esbuild-register scripts/fuzz.ts [--cases 10000] [--seed 1]
 *
 * spec/89-fuzz.spec.ts runs a small subset of the same cases in npm test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzCases } from '../spec/support/fuzz/cases';
import { formatSummary, runFuzz } from '../spec/support/fuzz/run';
import { num, parseArgs, UsageError, type FlagSpec } from './cli/args';

const FLAGS: FlagSpec[] = [
  { name: 'cases', type: 'number', value: 'N', help: 'how many cases (default 10000)' },
  { name: 'seed', type: 'number', value: 'S', help: 'the seed (default 1)' },
];

function main(argv: string[]): number {
  const { flags } = parseArgs(argv, FLAGS, 'fuzz');
  const count = num(flags, 'cases') ?? 10000;
  const seed = num(flags, 'seed') ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new UsageError('--cases needs a whole number ≥ 1');
  const scratch = mkdtempSync(join(tmpdir(), 'gpt2-spec-fuzz-'));
  try {
    const start = performance.now();
    const summary = runFuzz(fuzzCases(count, seed), scratch);
    process.stdout.write(`${formatSummary(summary)}\n(seed ${seed}, ${((performance.now() - start) / 1000).toFixed(1)} s)\n`);
    const { crash, hang, silent } = summary.counts;
    return crash + hang + silent === 0 ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`fuzz: ${(e as Error).message}\n`);
  process.exitCode = 2;
}

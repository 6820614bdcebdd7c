/**
 * Peak memory of loading a GPT-2-sized checkpoint and running one forward pass, on seeded checkpoints of
 * the real models' shapes written at run time into a temp folder and deleted straight after.
 *
 *   flock /tmp/gpt2-spec-heavy.lock node -r esbuild-register scripts/bench-memory.ts --shape gpt2-xl [--dtype F32|F16|BF16] [--runner reference|onnx]
 *
 * Each measurement runs in a fresh child process, so that its peak RSS (process.resourceUsage().maxRSS)
 * is its own. The figure to read is the peak over the float32 weights (parameters × 4 bytes); docs/checkpoints.md
 * records the results.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpt2Config } from '../runners/contract';
import { runnerSource } from '../runners/registry';
import { ids } from '../runners/tensor';
import { loadCheckpoint } from '../runners/weights/checkpoint';
import { GPT2_SHAPES, parameterCount, writeSeededCheckpoint, type StoredDType } from '../runners/weights/seeded-checkpoint';
import { formatHelp, parseArgs, str, UsageError, type FlagSpec } from './cli/args';

const FLAGS: FlagSpec[] = [
  { name: 'shape', type: 'string', value: Object.keys(GPT2_SHAPES).join('|'), help: 'the model shape to write (default gpt2-medium)' },
  { name: 'dtype', type: 'string', value: 'F32|F16|BF16', help: 'the dtype the checkpoint stores (default F32)' },
  { name: 'runner', type: 'string', value: 'NAME', help: 'the runner to load it into (default reference)' },
  { name: 'child', type: 'string', value: 'DIR', help: 'internal: measure one load and forward of DIR in this process' },
];

const GiB = 2 ** 30;

/** In the child: load, one forward of four tokens, and report what it cost. */
async function measure(dir: string, runnerName: string): Promise<void> {
  const start = performance.now();
  const weights = loadCheckpoint(dir);
  const runner = await runnerSource(runnerName).create();
  await runner.load(weights);
  const loaded = performance.now();
  const { logits } = await runner.forward(ids([[464, 3290, 3332, 319]]));
  const done = performance.now();
  if (!logits.data.every(Number.isFinite)) throw new Error('the forward pass gave non-finite logits');
  await runner.dispose();
  const report = { maxRssBytes: process.resourceUsage().maxRSS * 1024, loadSeconds: (loaded - start) / 1000, forwardSeconds: (done - loaded) / 1000 };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, FLAGS, 'bench-memory');
  const runnerName = str(flags, 'runner') ?? 'reference';
  const child = str(flags, 'child');
  if (child) return measure(child, runnerName);
  const shapeName = str(flags, 'shape') ?? 'gpt2-medium';
  const config: Gpt2Config | undefined = GPT2_SHAPES[shapeName];
  if (!config) throw new UsageError(`unknown shape '${shapeName}' (${Object.keys(GPT2_SHAPES).join(', ')})`);
  const dtype = (str(flags, 'dtype') ?? 'F32') as StoredDType;
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new UsageError('--dtype is F32, F16 or BF16');

  const dir = mkdtempSync(join(tmpdir(), 'gpt2-spec-bench-memory-'));
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => (cleanUp(), process.exit(130)));
  try {
    const writeStart = performance.now();
    const fileBytes = writeSeededCheckpoint(dir, config, dtype);
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const run = spawnSync(process.execPath, ['-r', 'esbuild-register', __filename, '--child', dir, '--runner', runnerName], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (run.status !== 0) throw new Error(`the measuring process failed (exit ${run.status ?? run.signal})`);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { maxRssBytes: number; loadSeconds: number; forwardSeconds: number };
    const float32Bytes = parameterCount(config) * 4;
    const line = [
      `${shapeName} ${dtype} on ${runnerName}:`,
      `file ${(fileBytes / GiB).toFixed(2)} GiB (written in ${writeSeconds.toFixed(0)} s),`,
      `float32 weights ${(float32Bytes / GiB).toFixed(2)} GiB,`,
      `peak RSS ${(r.maxRssBytes / GiB).toFixed(2)} GiB = ${(r.maxRssBytes / float32Bytes).toFixed(2)}× the float32 weights;`,
      `load ${r.loadSeconds.toFixed(1)} s, forward of 4 tokens ${r.forwardSeconds.toFixed(1)} s`,
    ];
    process.stdout.write(`${line.join(' ')}\n`);
  } finally {
    cleanUp();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench-memory: ${(e as Error).message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});

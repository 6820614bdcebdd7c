/**
 * The onnx-external runner's forward() on an exported decoder file (default: the fixture export of
 * gpt2-mini, fixtures/onnx/gpt2-mini.onnx), with the weights' config from a checkpoint folder:
 *   node -r esbuild-register scripts/bench/onnx-external.ts [--model FILE] [--weights DIR] [--threads N] [--runs N] [--prompt T]
 * Prints the median (and min, max) of `runs` forwards of a T-token prompt from an empty past, and of as
 * many cached one-token steps after it, each after one untimed warm-up call. Run it under the heavy lock.
 */
import { join } from 'node:path';
import { createExternalOnnxRunner } from '../../runners/onnx';
import { fixturesRoot } from '../../runners/paths';
import { int32 } from '../../runners/tensor';
import { loadCheckpoint } from '../../runners/weights/checkpoint';
import { coldThenWarm, median } from './timing';

const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function main(): Promise<void> {
  const weights = loadCheckpoint(flag('weights') ?? join(fixturesRoot(), 'models', 'gpt2-mini'));
  const runs = Number(flag('runs') ?? 200);
  const T = Number(flag('prompt') ?? 32);
  const threads = flag('threads') === undefined ? undefined : Number(flag('threads'));
  const runner = createExternalOnnxRunner(flag('model'), { threads });
  await runner.load(weights);
  const V = weights.config.vocabSize;
  const prompt = int32([1, T], Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V));
  const first = await runner.forward(prompt);
  const step = int32([1, 1], [17 % V]);
  const stats = (ms: number[]) => `median ${median(ms).toFixed(3)} ms (min ${Math.min(...ms).toFixed(3)}, max ${Math.max(...ms).toFixed(3)})`;
  const prefill = await coldThenWarm(() => runner.forward(prompt), runs);
  const cached = await coldThenWarm(() => runner.forward(step, first.present), runs);
  process.stdout.write(
    [
      `${runner.backend}; ${runs} runs each`,
      `  prompt T = ${T} from an empty past: ${stats(prefill.warmMs)}`,
      `  one cached step after it:       ${stats(cached.warmMs)}`,
      '',
    ].join('\n'),
  );
  await runner.dispose();
}

void main();

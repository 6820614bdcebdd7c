/**
 * Benchmarks the TensorFlow.js runner on GPT-2 small's shape (12 layers, D 768, 12 heads, vocab 50257,
 * 1024 positions) with seeded random weights built here at run time (nothing is stored or downloaded):
 * one T-token forward (cold, then warm), the LM head alone, and greedy decoding with the KV cache.
 *
 *   node -r esbuild-register scripts/bench-tfjs.ts [--backend node-gpu|node|wasm|cpu] [--size gpt2|small]
 *       [--tokens 128] [--new 32] [--repeat 3] [--naive-lm-head]
 *
 * Without --backend, the runner's own choice runs (GPT2_TFJS_BACKEND, or the best backend here).
 * The cpu backend takes ~40 s per GPT-2-small forward, so on cpu the default size is `small`
 * (2 layers, D 256, 4 heads, the full vocabulary); pass --size gpt2 to insist.
 * --naive-lm-head also times matMul(x, wte, false, true), the product the transposed copy avoids.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Gpt2Config, Tensor } from '../runners/contract';
import { generateGreedy } from '../runners/generate';
import { ids } from '../runners/tensor';
import { createTfjsRunner, type TfjsBackendChoice } from '../runners/tfjs';
import { seededGpt2Weights, seededRandom } from '../runners/weights/seeded';
import { coldThenWarm, median, msSince } from './bench/timing';

const SIZES: Record<'gpt2' | 'small', Gpt2Config> = {
  gpt2: { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEpsilon: 1e-5 },
  small: { vocabSize: 50257, nPositions: 1024, nEmbd: 256, nLayer: 2, nHead: 4, layerNormEpsilon: 1e-5 },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const flag = (name: string) => process.argv.includes(`--${name}`);



const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

async function main(): Promise<void> {
  const backend = arg('backend') as TfjsBackendChoice | undefined;
  const runner = await createTfjsRunner(backend ? { backend } : {});
  const onCpu = runner.engineBackend === 'cpu';
  const sizeName = (arg('size') ?? (onCpu ? 'small' : 'gpt2')) as keyof typeof SIZES;
  const config = SIZES[sizeName];
  if (!config) throw new Error(`--size must be gpt2 or small`);
  const T = Number(arg('tokens') ?? 128);
  const newTokens = Number(arg('new') ?? 32);
  const repeat = Number(arg('repeat') ?? 3);

  console.log(`backend: ${runner.backend}`);
  console.log(`model: ${sizeName === 'gpt2' ? 'GPT-2 small shape' : 'a small shape'} (${config.nLayer} layers, D ${config.nEmbd}, ${config.nHead} heads, vocab ${config.vocabSize}, ${config.nPositions} positions), seeded random weights`);
  if (onCpu && sizeName !== 'gpt2') console.log('note: the cpu backend runs a GPT-2-small forward in ~40 s; this is the small shape (--size gpt2 to insist)');

  let t0 = performance.now();
  const weights = seededGpt2Weights(config);
  const buildMs = msSince(t0);
  t0 = performance.now();
  await runner.load(weights);
  console.log(`weights: built in ${fmt(buildMs)}, loaded in ${fmt(msSince(t0))}; ${tf.memory().numTensors} tensors held`);

  const random = seededRandom(7);
  const prompt = ids([Array.from({ length: T }, () => Math.floor(random() * config.vocabSize))]);
  const baseline = tf.memory().numTensors;

  const { coldMs: cold, warmMs: warm } = await coldThenWarm(() => runner.forward(prompt), repeat);
  console.log(`forward, T=${T}: first ${fmt(cold)} (one-time setup: on wasm, XNNPACK packs each weight matrix), then median ${fmt(median(warm))} of ${repeat} [${warm.map(fmt).join(', ')}]`);

  const x = (await runner.embed(prompt)) as Tensor;
  const lm: number[] = [];
  for (let i = 0; i < repeat; i++) {
    t0 = performance.now();
    await runner.lmHead(x);
    lm.push(msSince(t0));
  }
  console.log(`lmHead alone, T=${T}: median ${fmt(median(lm))} [${lm.map(fmt).join(', ')}]`);

  if (flag('naive-lm-head')) {
    const wte = tf.tensor2d(weights.get('wte.weight').data as Float32Array, weights.get('wte.weight').shape as [number, number]);
    const rows = tf.tensor2d(x.data as Float32Array, [T, config.nEmbd]);
    t0 = performance.now();
    const y = tf.matMul(rows, wte, false, true);
    await y.data();
    console.log(`naive LM head matMul(x, wte, false, true), T=${T}: ${fmt(msSince(t0))}`);
    tf.dispose([wte, rows, y]);
  }

  // Greedy decoding: the prompt once (its step picks the first token), then one token at a time against the cache.
  t0 = performance.now();
  let firstToken = 0;
  await generateGreedy(runner, [Array.from(prompt.data)], newTokens + 1, () => {
    firstToken ||= performance.now();
  });
  const prefill = firstToken - t0;
  const decode = performance.now() - firstToken;
  console.log(`decode with the KV cache: ${newTokens} new tokens after a ${T}-token prompt in ${fmt(decode)} = ${((newTokens * 1000) / decode).toFixed(1)} tokens/s (prompt ${fmt(prefill)})`);

  const leaked = tf.memory().numTensors - baseline;
  await runner.dispose();
  console.log(`tensors: ${leaked} left over by the calls; ${tf.memory().numTensors} after dispose`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

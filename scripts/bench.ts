/**
 * Runners side by side, in one run, on the same seeded GPT-2-small-shaped weights (built at run time):
 * load time, the T=128 prefill forward, and greedy decode with the KV cache. The per-runner scripts
 * (bench-onnx.ts, bench-tfjs.ts, bench-tokenizer.ts) go deeper into one runner each.
 *
 *   node -r esbuild-register scripts/bench.ts [--runner NAME]... [--runs N] [--small]
 *
 * --small uses a 2-layer, D 256 model, so that the slow runners (reference, tfjs-cpu) finish in seconds.
 */
import type { Gpt2Config, Gpt2Runner } from '../runners/contract';
import { generateGreedy } from '../runners/generate';
import { runnerSource } from '../runners/registry';
import { ids } from '../runners/tensor';
import { seededGpt2Weights } from '../runners/weights/seeded';
import { median } from './bench/timing';

const args = process.argv.slice(2);
const values = (name: string) => args.flatMap((a, i) => (a === `--${name}` && args[i + 1] ? [args[i + 1]!] : []));
const small = args.includes('--small');
const runs = Number(values('runs')[0] ?? 7);
const names = values('runner').length ? values('runner') : small ? ['onnx', 'tfjs', 'reference', 'tfjs-cpu'] : ['onnx', 'tfjs'];
const config: Gpt2Config = small
  ? { vocabSize: 50257, nPositions: 1024, nEmbd: 256, nLayer: 2, nHead: 4, layerNormEpsilon: 1e-5 }
  : { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEpsilon: 1e-5 };

/** 2 FLOPs per multiply-add: the block's four projections, the LM head, and q·kᵀ and w·v over T positions. */
const flops = (T: number) => 2 * T * (config.nLayer * 12 * config.nEmbd ** 2 + config.vocabSize * config.nEmbd) + 4 * config.nLayer * T * T * config.nEmbd;
const prompt = (T: number) => Array.from({ length: T }, (_, i) => (i * 7919 + 13) % config.vocabSize);

async function measure(runner: Gpt2Runner) {
  const input = ids([prompt(128)]);
  await runner.forward(input); // the first call sets things up (XNNPACK packing, ORT's first run)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runner.forward(input);
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await generateGreedy(runner, [prompt(128)], 33);
  const decodeMs = performance.now() - t0 - median(times); // 33 steps = the prompt, then 32 cached steps
  return { forwardMs: median(times), tokensPerSecond: 32 / (decodeMs / 1000) };
}

async function main() {
  console.log(`gpt2-spec runners side by side: ${config.nLayer} layers, D ${config.nEmbd}, V ${config.vocabSize}; T=128 forward, median of ${runs}; decode: 32 tokens after 128`);
  const t0 = performance.now();
  const weights = seededGpt2Weights(config);
  console.log(`weights built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  console.log(`${'runner'.padEnd(12)}${'backend'.padEnd(52)}${'load'.padStart(9)}${'forward T=128'.padStart(16)}${'GFLOP/s'.padStart(10)}${'decode tok/s'.padStart(15)}`);
  for (const name of names) {
    const runner = await runnerSource(name).create();
    const l0 = performance.now();
    await runner.load(weights);
    const loadMs = performance.now() - l0;
    const m = await measure(runner);
    console.log(`${name.padEnd(12)}${runner.backend.slice(0, 50).padEnd(52)}${`${(loadMs / 1000).toFixed(2)} s`.padStart(9)}${`${(m.forwardMs / 1000).toFixed(3)} s`.padStart(16)}${(flops(128) / m.forwardMs / 1e6).toFixed(1).padStart(10)}${m.tokensPerSecond.toFixed(1).padStart(15)}`);
    await runner.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

/**
 * Benchmark of the onnx runner (float32) on a GPT-2-small-shaped model with seeded random weights, built
 * at run time (nothing stored): 12 layers, D 768, 12 heads, vocab 50257, n_positions 1024, 124M parameters.
 *   node -r esbuild-register scripts/bench-onnx.ts [--threads N] [--runs N] [--layouts gemm,matmul] [--json FILE] [--smoke]
 * Reports graph build and session creation, prefill forwards at T = 1, 128 and 1024, greedy decoding with the
 * KV cache (128 new tokens after a 128-token prompt) and the peak RSS, for each LM-head layout asked for.
 */
import { writeFileSync } from 'node:fs';
import type { Gpt2Config, Tensor } from '../runners/contract';
import { generateGreedy } from '../runners/generate';
import { createOnnxRunner, type LmHeadLayout, type OnnxRunner } from '../runners/onnx';
import { int32 } from '../runners/tensor';
import { seededGpt2Weights } from '../runners/weights/seeded';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** GPT-2 small; --smoke shrinks it (1 layer, vocab 1000) to check this script itself in seconds. */
const SMOKE = process.argv.includes('--smoke');
const CONFIG: Gpt2Config = { vocabSize: SMOKE ? 1000 : 50257, nPositions: 1024, nEmbd: 768, nLayer: SMOKE ? 1 : 12, nHead: 12, layerNormEpsilon: 1e-5 };


/** FLOPs of one forward of T new tokens after P cached ones: 2 per multiply-add. */
function forwardFlops(c: Gpt2Config, T: number, P = 0): number {
  const D = c.nEmbd;
  const matmulParams = c.nLayer * 12 * D * D + c.vocabSize * D; // c_attn 3D², c_proj D², c_fc 4D², mlp.c_proj 4D² per layer; LM head V·D
  const attention = c.nLayer * 2 * 2 * T * (P + T) * D; // q·kᵀ and weights·v over all S = P + T keys
  return 2 * T * matmulParams + attention;
}
const FLOP_FORMULA = 'FLOPs(T, P) = 2·T·(L·12·D² + V·D) + 4·L·T·(P+T)·D   (2 per multiply-add: the 4 projections of each block, the LM head, q·kᵀ and w·v)';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function promptIds(T: number, seed: number): Tensor {
  return int32([1, T], Array.from({ length: T }, (_, i) => (i * 7919 + seed * 104729) % CONFIG.vocabSize));
}

interface Prefill {
  T: number;
  runs: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  gflops: number;
  gflopPerSecond: number;
}

function summarise(T: number, times: number[]): Prefill {
  const gflops = forwardFlops(CONFIG, T) / 1e9;
  const med = median(times);
  return { T, runs: times.length, medianSeconds: med, minSeconds: Math.min(...times), maxSeconds: Math.max(...times), gflops, gflopPerSecond: gflops / med };
}

const describePrefill = (p: Prefill) =>
  `prefill T=${String(p.T).padStart(4)}: median ${(p.medianSeconds * 1000).toFixed(1)} ms of ${p.runs} runs (min ${(p.minSeconds * 1000).toFixed(1)}, ` +
  `max ${(p.maxSeconds * 1000).toFixed(1)}), ${p.gflops.toFixed(2)} GFLOP -> ${p.gflopPerSecond.toFixed(1)} GFLOP/s`;

const LAYOUT_TEXT: Record<LmHeadLayout, string> = {
  gemm: 'LM head Gemm(x, wte, transB=1), embedding Gather(wte) rows',
  matmul: 'LM head MatMul(x, wteᵀ), embedding Gather(wteᵀ, axis=1) columns',
};

async function prefill(runner: OnnxRunner, T: number, runs: number): Promise<number[]> {
  await runner.forward(promptIds(T, 0)); // warm-up: first-run allocations
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(await time(() => runner.forward(promptIds(T, r + 1))));
  return times;
}

async function decode(runner: OnnxRunner) {
  const prompt = Array.from(promptIds(128, 99).data);
  let last = performance.now();
  const stepTimes: number[] = [];
  await generateGreedy(runner, [prompt], 129, () => {
    const now = performance.now();
    stepTimes.push((now - last) / 1000);
    last = now;
  });
  // The first step runs the 128-token prompt; each of the 128 after it feeds one token with the cache.
  const decodeSeconds = stepTimes.slice(1).reduce((a, b) => a + b, 0);
  return { promptTokens: 128, newTokens: 128, promptSeconds: stepTimes[0]!, decodeSeconds, tokensPerSecond: 128 / decodeSeconds, medianStepSeconds: median(stepTimes.slice(1)) };
}

async function main(): Promise<void> {
  const threads = flag('threads') === undefined ? undefined : Number(flag('threads'));
  const runs = Number(flag('runs') ?? 15);
  const layouts = (flag('layouts') ?? 'gemm,matmul').split(',') as LmHeadLayout[];
  const { nLayer: L, nEmbd: D, nHead: H, vocabSize: V, nPositions: P } = CONFIG;
  console.log(`gpt2-spec ONNX benchmark: ${SMOKE ? 'SMOKE TEST, not GPT-2 small: ' : 'GPT-2 small shape '}(L ${L}, D ${D}, H ${H}, V ${V}, n_positions ${P}), seeded random float32 weights`);
  console.log(FLOP_FORMULA);
  const t0 = performance.now();
  const weights = seededGpt2Weights(CONFIG);
  console.log(`weights generated in ${((performance.now() - t0) / 1000).toFixed(2)} s; ${(forwardFlops(CONFIG, 1) / 2 / 1e6).toFixed(1)}M multiply-adds per token at P = 0`);
  // Every layout's session is created first (each timed), then the first layout gets every measurement,
  // then the T = 128 forward is timed on all layouts in alternation, so that load from other processes
  // falls on all of them alike.
  const runners: { layout: LmHeadLayout; runner: OnnxRunner }[] = [];
  const sessions: Record<string, { graphBuildSeconds: number; sessionSeconds: number; modelBytes: number; rssAfterMB: number }> = {};
  for (const layout of layouts) {
    const runner = createOnnxRunner({ precision: 'float32', threads, lmHead: layout });
    await runner.load(weights);
    const { buildSeconds, sessionSeconds, bytes } = runner.lastLoad;
    sessions[layout] = { graphBuildSeconds: buildSeconds, sessionSeconds, modelBytes: bytes, rssAfterMB: process.memoryUsage().rss / 1e6 };
    console.log(`\n[${layout}] ${LAYOUT_TEXT[layout]}; ${runner.backend}`);
    console.log(`  graph build ${buildSeconds.toFixed(2)} s (${(bytes / 1e6).toFixed(0)} MB ModelProto), session creation ${sessionSeconds.toFixed(2)} s`);
    runners.push({ layout, runner });
  }
  const main = runners[0]!;
  console.log(`\n[${main.layout}] prefill and decode`);
  const prefills: Prefill[] = [];
  for (const [T, n] of [[1, 20], [128, runs], [1024, 3]] as const) {
    prefills.push(summarise(T, await prefill(main.runner, T, n)));
    console.log(`  ${describePrefill(prefills.at(-1)!)}`);
  }
  const greedy = await decode(main.runner);
  console.log(`  greedy decode: 128-token prompt (${(greedy.promptSeconds * 1000).toFixed(0)} ms), then 128 new tokens with the KV cache in ` +
    `${greedy.decodeSeconds.toFixed(2)} s -> ${greedy.tokensPerSecond.toFixed(1)} tokens/s (median step ${(greedy.medianStepSeconds * 1000).toFixed(1)} ms)`);
  const compare: Record<string, number[]> = Object.fromEntries(layouts.map((l) => [l, []]));
  if (runners.length > 1) {
    for (const { runner } of runners) await runner.forward(promptIds(128, 0));
    for (let r = 0; r < runs; r++) for (const { layout, runner } of runners) compare[layout]!.push(await time(() => runner.forward(promptIds(128, r + 1))));
    console.log(`\nLM-head layouts, T=128 forward, ${runs} runs each in alternation:`);
    for (const layout of layouts) console.log(`  ${layout.padEnd(7)} ${describePrefill(summarise(128, compare[layout]!))}`);
  }
  for (const { runner } of runners) await runner.dispose();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(`\npeak RSS ${peakRssMB.toFixed(0)} MB (the process, weights generation and every session above included)`);
  const json = flag('json');
  if (json) {
    const layoutsOut = Object.fromEntries(layouts.map((l) => [l, { ...sessions[l], prefill128: compare[l]!.length ? summarise(128, compare[l]!) : undefined }]));
    writeFileSync(json, JSON.stringify({ config: CONFIG, flopFormula: FLOP_FORMULA, threads: main.runner.threads, layout: main.layout, prefill: prefills, decode: greedy, layouts: layoutsOut, peakRssMB }, null, 2));
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

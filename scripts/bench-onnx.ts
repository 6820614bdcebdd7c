/**
 * Benchmark of the onnx runner (float32) on a GPT-2-small-shaped model with seeded random weights, built
 * at run time (nothing stored): 12 layers, D 768, 12 heads, vocab 50257, n_positions 1024, 124M parameters.
 *   node -r esbuild-register scripts/bench-onnx.ts [--threads N] [--runs N] [--layouts gemm[,matmul]] [--contrib off] [--prepack off]
 *     [--peer torch [--decode-runs N]] [--json FILE] [--smoke]
 * Reports graph build and session creation, prefill forwards at T = 1, 128 and 1024, greedy decoding with the
 * KV cache (128 new tokens after a 128-token prompt) and the peak RSS, for each LM-head layout asked for.
 * --contrib off runs the decoder on standard operators instead of ORT's fused kernels; --prepack off turns
 * off ORT's weight prepacking (runners/onnx/session.ts).
 * --peer torch runs the same measurements on Hugging Face's GPT2LMHeadModel on PyTorch (scripts/bench/torch_peer.py)
 * in the same run, each of its runs right after ours, on the same weights (written once to a temp checkpoint
 * folder), at the same thread count, and prints the ratios; it is skipped, with the reason, where no Python
 * with torch is found. Decode is then the median of --decode-runs (3) alternated runs on each side.
 * Last, the ceiling in the same run: ORT's own MatMul on the model's largest shapes (scripts/bench/matmul.ts),
 * beside torch's matmul when the peer runs.
 */
import { writeFileSync } from 'node:fs';
import type { Gpt2Config, Gpt2Weights, Tensor } from '../runners/contract';
import { generateGreedy } from '../runners/generate';
import { createOnnxRunner, type LmHeadLayout, type OnnxRunner } from '../runners/onnx';
import { int32 } from '../runners/tensor';
import { seededGpt2Weights } from '../runners/weights/seeded';
import { tempCheckpointDir, writeCheckpoint } from './bench/seeded-checkpoint';
import { findTorchPython, type PeerInfo, TorchPeer } from './bench/torch-peer';
import { matmulGflopPerSecond, matmulShapes, ortMatMulSeconds } from './bench/matmul';
import { median } from './bench/timing';

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
  gemm: 'LM head on wte as stored (FusedMatMul(x, wte, transB=1) in the fused graph, else Gemm), embedding Gather(wte) rows',
  matmul: 'LM head MatMul(x, wteᵀ), embedding Gather(wteᵀ, axis=1) columns',
};

/** The peer's side of each measurement, when there is one: called in alternation with the runner's. */
interface Peer {
  prefill(T: number, seed: number): Promise<number>;
  decode(newTokens: number): Promise<{ tokensPerSecond: number; medianStepSeconds: number; promptSeconds: number; decodeSeconds: number }>;
}

/** T-token forwards, each on a fresh prompt after a warm-up; with a peer, its run follows each of ours. */
async function prefill(runner: OnnxRunner, T: number, runs: number, peer?: Peer): Promise<{ ours: number[]; peer: number[] }> {
  await runner.forward(promptIds(T, 0)); // warm-up: first-run allocations
  await peer?.prefill(T, 0);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < runs; r++) {
    ours.push(await time(() => runner.forward(promptIds(T, r + 1))));
    if (peer) theirs.push(await peer.prefill(T, r + 1));
  }
  return { ours, peer: theirs };
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

type Decode = Awaited<ReturnType<typeof decode>>;
const byTokensPerSecond = (ds: Decode[] | Awaited<ReturnType<Peer['decode']>>[]) => [...ds].sort((a, b) => a.tokensPerSecond - b.tokensPerSecond)[Math.floor(ds.length / 2)]!;

/** The torch peer on the same weights: a temp checkpoint folder it loads, removed once it has. */
async function startPeer(weights: Gpt2Weights, threads: number): Promise<{ peer: TorchPeer; info: PeerInfo } | { skipped: string }> {
  const found = findTorchPython();
  if ('skipped' in found) return found;
  const checkpoint = tempCheckpointDir('peer');
  try {
    writeCheckpoint(checkpoint.dir, weights);
    const peer = new TorchPeer(found.python, checkpoint.dir, threads);
    return { peer, info: await peer.info() };
  } finally {
    checkpoint.remove();
  }
}

const ratioLine = (what: string, theirs: string, ours: string, ratio: number) =>
  `  ${what.padEnd(32)}${theirs.padStart(13)}${ours.padStart(13)}${`${ratio.toFixed(2)}×`.padStart(14)}`;

/** ORT's MatMul alone on each shape, and torch's after it when the peer runs: what the model's figures are read against. */
async function matmulCeiling(threads: number, runs: number, peer?: TorchPeer) {
  console.log(`\nthe ceiling, in the same run: one float32 MatMul alone, ${threads} threads, median of ${runs}${peer ? ' (torch: torch.matmul)' : ''}:`);
  const out = [];
  for (const [M, K, N] of matmulShapes(CONFIG)) {
    const ours = await ortMatMulSeconds(M, K, N, threads, runs);
    const theirs = peer ? await peer.matmul(M, K, N, runs) : undefined;
    const rate = (s: number) => `${matmulGflopPerSecond(M, K, N, s).toFixed(0)} GFLOP/s`;
    console.log(`  [${M},${K}]·[${K},${N}]`.padEnd(28) + `ORT ${rate(ours)}` + (theirs === undefined ? '' : `, torch ${rate(theirs)}`));
    out.push({ shape: [M, K, N], ortSeconds: ours, ortGflopPerSecond: matmulGflopPerSecond(M, K, N, ours), ...(theirs === undefined ? {} : { torchSeconds: theirs, torchGflopPerSecond: matmulGflopPerSecond(M, K, N, theirs) }) });
  }
  // One row times a [K,N] weight: it streams the weight from memory, as each decode step streams every weight.
  const row = out.find((m) => m.shape[0] === 1)!;
  const gbPerSecond = (row.shape[1]! * row.shape[2]! * 4) / row.ortSeconds / 1e9;
  const weightBytes = 4 * (CONFIG.nLayer * (12 * CONFIG.nEmbd * CONFIG.nEmbd + 13 * CONFIG.nEmbd) + (CONFIG.vocabSize + CONFIG.nPositions) * CONFIG.nEmbd);
  const decodeBound = (gbPerSecond * 1e9) / weightBytes;
  console.log(`  the one-row MatMul streams its weight at ${gbPerSecond.toFixed(1)} GB/s: a decode step reads all ${(weightBytes / 1e6).toFixed(0)} MB of weights, so about ${decodeBound.toFixed(0)} tokens/s is the bound`);
  return { shapes: out, weightGBPerSecond: gbPerSecond, decodeBoundTokensPerSecond: decodeBound };
}

async function main(): Promise<void> {
  const threadsFlag = flag('threads') === undefined ? undefined : Number(flag('threads'));
  const runs = Number(flag('runs') ?? 15);
  const decodeRuns = Number(flag('decode-runs') ?? 3);
  const layouts = (flag('layouts') ?? 'gemm').split(',') as LmHeadLayout[];
  const peerName = flag('peer');
  if (peerName !== undefined && peerName !== 'torch') throw new Error(`--peer: the only peer is 'torch', got '${peerName}'`);
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
    const runner = createOnnxRunner({ precision: 'float32', threads: threadsFlag, lmHead: layout, contrib: flag('contrib') !== 'off', prepack: flag('prepack') !== 'off' });
    await runner.load(weights);
    const { buildSeconds, sessionSeconds, bytes } = runner.lastLoad;
    sessions[layout] = { graphBuildSeconds: buildSeconds, sessionSeconds, modelBytes: bytes, rssAfterMB: process.memoryUsage().rss / 1e6 };
    console.log(`\n[${layout}] ${LAYOUT_TEXT[layout]}; ${runner.backend}; contrib ${flag('contrib') ?? 'on'}, prepack ${flag('prepack') ?? 'on'}`);
    console.log(`  graph build ${buildSeconds.toFixed(2)} s (${(bytes / 1e6).toFixed(1)} MB ModelProto), session creation ${sessionSeconds.toFixed(2)} s`);
    runners.push({ layout, runner });
  }
  const main = runners[0]!;
  const threads = main.runner.threads;
  const started = peerName ? await startPeer(weights, threads) : undefined;
  const peer = started && 'peer' in started ? started.peer : undefined;
  if (started && 'skipped' in started) console.log(`\npeer torch skipped: ${started.skipped}`);
  if (started && 'info' in started) {
    const i = started.info;
    console.log(`\npeer: ${i.peer} (attention '${i.attention}', ${i.threads} threads, ${i.blas}, ATen CPU capability ${i.cpuCapability}, OPENBLAS_CORETYPE ${i.openblasCoretype ?? 'unset'}); its runs alternate with ours`);
  }
  console.log(`\n[${main.layout}] prefill and decode`);
  const prefills: Prefill[] = [];
  const peerPrefills: Prefill[] = [];
  for (const [T, n] of [[1, 20], [128, runs], [1024, 3]] as const) {
    const times = await prefill(main.runner, T, n, peer);
    prefills.push(summarise(T, times.ours));
    console.log(`  ${describePrefill(prefills.at(-1)!)}`);
    if (peer) peerPrefills.push(summarise(T, times.peer));
  }
  const decodes: Decode[] = [];
  const peerDecodes: Awaited<ReturnType<Peer['decode']>>[] = [];
  for (let r = 0; r < (peer ? decodeRuns : 1); r++) {
    decodes.push(await decode(main.runner));
    if (peer) peerDecodes.push(await peer.decode(128));
  }
  const greedy = byTokensPerSecond(decodes) as Decode;
  console.log(`  greedy decode: 128-token prompt (${(greedy.promptSeconds * 1000).toFixed(0)} ms), then 128 new tokens with the KV cache in ` +
    `${greedy.decodeSeconds.toFixed(2)} s -> ${greedy.tokensPerSecond.toFixed(1)} tokens/s (median step ${(greedy.medianStepSeconds * 1000).toFixed(1)} ms${decodes.length > 1 ? `, median of ${decodes.length} runs` : ''})`);
  let peerOut: object | undefined = started && 'skipped' in started ? started : undefined;
  if (peer && started && 'info' in started) {
    const peerDecode = byTokensPerSecond(peerDecodes);
    const info = await peer.info();
    const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
    console.log(`\nthe same run, side by side (medians; ratio > 1: onnx is faster), torch peak RSS ${info.peakRssMB.toFixed(0)} MB:`);
    console.log(`  ${'measurement'.padEnd(32)}${'torch'.padStart(13)}${'onnx'.padStart(13)}${'onnx / torch'.padStart(14)}`);
    prefills.forEach((p, i) => console.log(ratioLine(`prefill T=${p.T}`, ms(peerPrefills[i]!.medianSeconds), ms(p.medianSeconds), peerPrefills[i]!.medianSeconds / p.medianSeconds)));
    const tps = (d: { tokensPerSecond: number }) => `${d.tokensPerSecond.toFixed(1)} tok/s`;
    console.log(ratioLine(`greedy decode, 128 after 128`, tps(peerDecode), tps(greedy), greedy.tokensPerSecond / peerDecode.tokensPerSecond));
    peerOut = { ...info, prefill: peerPrefills, decode: peerDecode, decodeRuns: peerDecodes };
  }
  const matmuls = await matmulCeiling(threads, runs, peer);
  peer?.close();
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
    writeFileSync(json, JSON.stringify({ config: CONFIG, flopFormula: FLOP_FORMULA, threads, layout: main.layout, prefill: prefills, decode: greedy, decodeRuns: decodes, layouts: layoutsOut, matmuls, peakRssMB, peer: peerOut }, null, 2));
  }
}

main().catch((e) => {
  console.error(e);
  // Exits at once: the torch peer, waiting on its stdin, would otherwise keep this process alive.
  process.exit(1);
});

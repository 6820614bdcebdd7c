/**
 * Benchmarks the browser runners beside Node's: the T-token forward of GPT-2 small's shape (12 layers,
 * D 768, 12 heads, vocab 50257) with seeded random weights built here, on each runner named, each in its
 * own process as the spec runs it (a browser runner in headless Chromium, over the runner protocol).
 *
 *   node -r esbuild-register scripts/bench-browser.ts [--runner NAME]... [--tokens 128] [--repeat 3]
 *
 * Default runners: browser-tfjs-webgl, browser-tfjs-wasm, browser-onnx-wasm, browser-tfjs-webgpu,
 * browser-transformers-js, and Node's tfjs and onnx. There is no speed goal on SwiftShader (WebGL and WebGPU
 * on the CPU); the figures say what the page costs. Each figure includes the protocol's transfer of the
 * logits (T × 50257 floats). A runner of one exported model (transformers.js runs only gpt2-mini's folder)
 * refuses GPT-2 small's shape in load(): its row says so, with the runner's own reason, and has no figures.
 */
import type { Gpt2Config, Gpt2Runner } from '../runners/contract';
import { groupRssMiB } from '../runners/protocol/child';
import { runnerSource } from '../runners/registry';
import { ids } from '../runners/tensor';
import { seededGpt2Weights, seededRandom } from '../runners/weights/seeded';
import { coldThenWarm, median } from './bench/timing';

const GPT2_SMALL: Gpt2Config = { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEpsilon: 1e-5 };
const DEFAULT_RUNNERS = ['browser-tfjs-webgl', 'browser-tfjs-wasm', 'browser-onnx-wasm', 'browser-tfjs-webgpu', 'browser-transformers-js', 'tfjs', 'onnx'];

const args = process.argv.slice(2);
const values = (name: string) => args.flatMap((a, i) => (a === `--${name}` && args[i + 1] ? [args[i + 1]!] : []));
const T = Number(values('tokens')[0] ?? 128);
const repeat = Number(values('repeat')[0] ?? 3);
const runners = values('runner').length ? values('runner') : DEFAULT_RUNNERS;

// SwiftShader's forward takes tens of seconds, and a page holds the weights more than once: room for both.
process.env.GPT2_SPEC_COMPONENT_TIMEOUT_MS ??= '600000';
process.env.GPT2_SPEC_MEMORY_LIMIT_MIB ??= '16384';

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function main(): Promise<void> {
  const weights = seededGpt2Weights(GPT2_SMALL);
  const random = seededRandom(7);
  const input = ids([Array.from({ length: T }, () => Math.floor(random() * GPT2_SMALL.vocabSize))]);
  console.log(`GPT-2 small shape, seeded weights; forward of T = ${T}, cold then the median of ${repeat} warm runs`);
  console.log('| runner | backend | start | load | cold forward | warm forward | memory after |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of runners) {
    let runner: Gpt2Runner | undefined;
    try {
      let t0 = performance.now();
      runner = await runnerSource(name).create();
      const start = seconds(t0);
      t0 = performance.now();
      await runner.load(weights);
      const load = seconds(t0);
      const { coldMs, warmMs } = await coldThenWarm(() => runner!.forward(input), repeat);
      const [cold, warm] = [coldMs / 1000, warmMs.map((m) => m / 1000)];
      const pid = (runner as { pid?: number }).pid;
      const memory = pid ? `${Math.round(groupRssMiB(pid))} MiB (process group)` : `${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB (this process)`;
      console.log(`| ${name} | ${runner.backend} | ${start.toFixed(1)} s | ${load.toFixed(1)} s | ${cold.toFixed(2)} s | ${median(warm).toFixed(2)} s | ${memory} |`);
    } catch (e) {
      // NotExposedError: the runner cannot run this model at all (an exported one), which is not a failure of the bench.
      const what = (e as Error).name === 'NotExposedError' ? 'not run' : 'failed';
      console.log(`| ${name} | ${what}: ${(e as Error).name}: ${(e as Error).message.split('\n')[0]} | | | | | |`);
    } finally {
      await runner?.dispose().catch(() => undefined);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

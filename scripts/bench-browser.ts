/**
 * Benchmarks the browser runners beside Node's: the T-token forward of GPT-2 small's shape (12 layers,
 * D 768, 12 heads, vocab 50257) with seeded random weights built here, on each runner named, each in its
 * own process as the spec runs it (a browser runner in headless Chromium, over the runner protocol).
 *
 *   node -r esbuild-register scripts/bench-browser.ts [--runner NAME]... [--tokens 128] [--repeat 3]
 *
 * Default runners: browser-tfjs-webgl, browser-tfjs-wasm, browser-onnx-wasm, browser-tfjs-webgpu,
 * browser-transformers-js, and Node's tfjs, onnx and transformers.js (browser-transformers-js-webgpu, over a
 * minute a forward on SwiftShader, runs when named). There is no speed goal on SwiftShader (WebGL and WebGPU
 * on the CPU); the figures say what the page costs. Each figure includes the protocol's transfer of the
 * logits (T × 50257 floats).
 *
 * transformers.js runs a model folder, not weights: for its rows (browser-transformers-js, its -webgpu twin,
 * and Node's transformers.js) the same weights are written here as one, into a temp folder removed at the end
 * (runners/transformers-js/folder.ts: config.json and the project's own decoder export, 0.5 GB). Node's
 * runner takes it as its folder; the page gets it from the browser host, which serves it at folder/ to an
 * adapter written beside it that names it. Their load includes loading that folder (and, in the page,
 * receiving the weights the protocol sends, which transformers.js does not use); writing it is not timed.
 * A runner that refuses GPT-2 small's shape in load() has a 'not run' row with its reason, and no figures.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpt2Config, Gpt2Runner, Gpt2Weights } from '../runners/contract';
import { packageRoot } from '../runners/paths';
import { groupRssMiB, removeOnExit, removeTemporary } from '../runners/protocol/child';
import { browserCommand } from '../runners/protocol/commands';
import { ProcessRunner } from '../runners/protocol/process-runner';
import { runnerSource } from '../runners/registry';
import { createTransformersJsRunner } from '../runners/transformers-js/runner';
import { writeModelFolder } from '../runners/transformers-js/folder';
import { ids } from '../runners/tensor';
import { seededGpt2Weights, seededRandom } from '../runners/weights/seeded';
import { coldThenWarm, median } from './bench/timing';

const GPT2_SMALL: Gpt2Config = { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEpsilon: 1e-5 };
const DEFAULT_RUNNERS = ['browser-tfjs-webgl', 'browser-tfjs-wasm', 'browser-onnx-wasm', 'browser-tfjs-webgpu', 'browser-transformers-js', 'tfjs', 'onnx', 'transformers.js'];

const args = process.argv.slice(2);
const values = (name: string) => args.flatMap((a, i) => (a === `--${name}` && args[i + 1] ? [args[i + 1]!] : []));
const T = Number(values('tokens')[0] ?? 128);
const repeat = Number(values('repeat')[0] ?? 3);
const runners = values('runner').length ? values('runner') : DEFAULT_RUNNERS;

// SwiftShader's forward takes tens of seconds, and a page holds the weights more than once: room for both.
process.env.GPT2_SPEC_COMPONENT_TIMEOUT_MS ??= '600000';
process.env.GPT2_SPEC_MEMORY_LIMIT_MIB ??= '16384';

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** The model folder's name, and the page's transformers.js runners by device. */
const FOLDER = 'gpt2-small-seeded';
const IN_PAGE: Record<string, { device: 'wasm' | 'webgpu'; gpu: boolean }> = {
  'browser-transformers-js': { device: 'wasm', gpu: false },
  'browser-transformers-js-webgpu': { device: 'webgpu', gpu: true },
};
const onFolder = (name: string) => name === 'transformers.js' || name in IN_PAGE;

/** The weights as a transformers.js model folder, in `tmp`, written once for every row that needs it. */
let folder: string | undefined;
function modelFolder(weights: Gpt2Weights, tmp: string): string {
  if (folder) return folder;
  const t0 = performance.now();
  const bytes = writeModelFolder(weights, join(tmp, FOLDER));
  console.error(`(wrote ${FOLDER}/onnx/model.onnx, ${(bytes / 1e6).toFixed(0)} MB, in ${seconds(t0).toFixed(1)} s)`);
  return (folder = join(tmp, FOLDER));
}

/** A runner by name; transformers.js's on the weights' folder: Node's by its folder option, the page's through the host's folder/ route. */
async function create(name: string, weights: Gpt2Weights, tmp: string): Promise<Gpt2Runner> {
  if (!onFolder(name)) return runnerSource(name).create();
  const dir = modelFolder(weights, tmp);
  if (name === 'transformers.js') return createTransformersJsRunner({ folder: dir });
  const { device, gpu } = IN_PAGE[name]!;
  const adapter = join(tmp, `transformers-js-${device}.ts`);
  const shared = join(packageRoot(), 'runners/browser/adapters/transformers-js.ts');
  writeFileSync(adapter, `import { transformersJsInPage } from ${JSON.stringify(shared)};\nexport default transformersJsInPage('${device}', 'folder/${FOLDER}');\n`);
  return ProcessRunner.start(browserCommand(adapter, 'runner', { gpu, label: name, folder: tmp }));
}

async function main(tmp: string): Promise<void> {
  const weights = seededGpt2Weights(GPT2_SMALL);
  const random = seededRandom(7);
  const input = ids([Array.from({ length: T }, () => Math.floor(random() * GPT2_SMALL.vocabSize))]);
  console.log(`GPT-2 small shape, seeded weights; forward of T = ${T}, cold then the median of ${repeat} warm runs`);
  console.log('| runner | backend | start | load | cold forward | warm forward | memory after |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of runners) {
    let runner: Gpt2Runner | undefined;
    try {
      if (onFolder(name)) modelFolder(weights, tmp); // before the clock starts
      let t0 = performance.now();
      runner = await create(name, weights, tmp);
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

// The model folder is 0.5 GB: removed on the way out, however the process goes (an interrupt, SIGTERM, SIGHUP).
const tmp = mkdtempSync(join(tmpdir(), 'gpt2-spec-bench-browser-'));
removeOnExit(tmp);
main(tmp)
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => removeTemporary(tmp));

/**
 * Peak memory of the onnx runner on seeded checkpoints of the Hub's GPT-2 sizes, written at run time into a
 * temp folder and removed afterwards (nothing stored). For each size, in a fresh process each:
 *   1. write: seeded float32 weights of that shape -> config.json + model.safetensors (streamed);
 *   2. measure: open the checkpoint, load the onnx runner, run a T=128 forward and one cached step, and
 *      report the RSS at each stage and the peak. The weights are
 *        --weights file (default)  loadCheckpoint's: read on demand, and by ORT in place from model.safetensors
 *                                  (--in-place off: read through get() and handed to ORT as external data in memory)
 *        --weights arrays          read tensor by tensor into Float32Arrays that the caller keeps, as a caller
 *                                  holding its own weights does: the runner gets them as external data in memory
 * The figure is the measuring process's peak RSS over the float32 weights' size (the goal: at most 2×).
 * Pages of the checkpoint file that ORT maps count in the RSS (the "file" column after the forwards).
 *
 *   node -r esbuild-register scripts/bench/onnx-memory.ts [--sizes gpt2,gpt2-medium,gpt2-large,gpt2-xl] [--threads N]
 *                                                         [--prepack off] [--arena off] [--weights file|arrays] [--in-place off]
 * Run it under the heavy lock (flock /tmp/gpt2-spec-heavy.lock ...): gpt2-xl needs about 13 GB.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Weights, Tensor } from '../../runners/contract';
import { createOnnxRunner } from '../../runners/onnx';
import { int32 } from '../../runners/tensor';
import { expectedShapes, loadCheckpoint, parseConfig, weightsFromRecord } from '../../runners/weights/checkpoint';
import { shapeSize } from '../../runners/tensor';
import { seededGpt2Weights } from '../../runners/weights/seeded';
import { GPT2_SHAPES, gpt2Config, type Gpt2Size, tempCheckpointDir, writeCheckpoint } from './seeded-checkpoint';

const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const mb = (bytes: number) => bytes / 2 ** 20;
const rssMB = () => mb(process.memoryUsage().rss);
const peakMB = () => process.resourceUsage().maxRSS / 1024;
/** The resident pages backed by files (the mapped checkpoint among them) and the anonymous ones (heaps), MiB. */
function rssParts(): { fileMB: number; anonMB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { fileMB: kB('RssFile') / 1024, anonMB: kB('RssAnon') / 1024 };
}

/** The checkpoint's tensors, each read from the file into its own Float32Array that the caller keeps: the weights in memory once. */
function readTensors(dir: string): Gpt2Weights {
  const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const fd = openSync(join(dir, 'model.safetensors'), 'r');
  try {
    const length = Buffer.alloc(8);
    readSync(fd, length, 0, 8, 0);
    const n = Number(length.readBigUInt64LE());
    const headerBytes = Buffer.alloc(n);
    readSync(fd, headerBytes, 0, n, 8);
    const header = JSON.parse(headerBytes.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const record: Record<string, Tensor> = {};
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const data = new Float32Array((e.data_offsets[1] - e.data_offsets[0]) / 4);
      const bytes = new Uint8Array(data.buffer);
      for (let at = 0; at < bytes.length; ) at += readSync(fd, bytes, at, bytes.length - at, 8 + n + e.data_offsets[0] + at);
      record[name] = { dtype: 'float32', shape: e.shape, data };
    }
    return weightsFromRecord(config, record, dir);
  } finally {
    closeSync(fd);
  }
}

async function measure(dir: string, threads: number | undefined): Promise<void> {
  const stages: Record<string, number> = { start: rssMB() };
  const weights = flag('weights') === 'arrays' ? readTensors(dir) : loadCheckpoint(dir);
  stages.weightsRead = rssMB();
  const runner = createOnnxRunner({ precision: 'float32', threads, prepack: flag('prepack') !== 'off', arena: flag('arena') !== 'off', inPlace: flag('in-place') !== 'off' });
  await runner.load(weights);
  stages.loaded = rssMB();
  const prompt = int32([1, 128], Array.from({ length: 128 }, (_, i) => (i * 7919) % weights.config.vocabSize));
  const { present } = await runner.forward(prompt);
  await runner.forward(int32([1, 1], [42]), present);
  stages.afterForward = rssMB();
  const parts = rssParts();
  const inPlace = runner.readsInPlace;
  await runner.dispose();
  const weightBytes = [...expectedShapes(weights.config).values()].reduce((s, shape) => s + 4 * shapeSize(shape), 0);
  console.log(JSON.stringify({ weightsMB: mb(weightBytes), stages, parts, inPlace, peakMB: peakMB(), loadSeconds: runner.lastLoad, modelProtoBytes: runner.lastLoad.bytes }));
}

function child(args: string[]): string {
  const run = spawnSync(process.execPath, ['-r', 'esbuild-register', __filename, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`${args[0]} failed (exit ${run.status}): ${run.stdout}`);
  return run.stdout.trim().split('\n').at(-1)!;
}

async function main(): Promise<void> {
  const [mode, dir, size] = process.argv.slice(2);
  const threads = flag('threads') === undefined ? undefined : Number(flag('threads'));
  if (mode === 'write') return writeCheckpoint(dir!, seededGpt2Weights(gpt2Config(size as Gpt2Size)));
  if (mode === 'measure') return measure(dir!, threads);
  const sizes = (flag('sizes') ?? Object.keys(GPT2_SHAPES).join(',')).split(',') as Gpt2Size[];
  const how = flag('weights') === 'arrays' ? 'weights read into arrays the caller keeps' : `loadCheckpoint's weights, ${flag('in-place') === 'off' ? 'copied to ORT' : 'read by ORT in place'}`;
  console.log(`onnx runner, peak RSS on seeded float32 checkpoints (${how}; T=128 forward and one cached step); ORT prepacking ${flag('prepack') ?? 'on'}, arena ${flag('arena') ?? 'on'}`);
  console.log(`${'size'.padEnd(13)}${'weights'.padStart(10)}${'file'.padStart(10)}${'read'.padStart(10)}${'loaded'.padStart(10)}${'forward'.padStart(10)}${'(mapped'.padStart(10)}${'heap)'.padStart(10)}${'peak'.padStart(10)}${'peak/weights'.padStart(14)}  in place`);
  for (const size of sizes) {
    if (!(size in GPT2_SHAPES)) throw new Error(`--sizes: unknown size '${size}' (known: ${Object.keys(GPT2_SHAPES).join(', ')})`);
    const checkpoint = tempCheckpointDir(size);
    try {
      child(['write', checkpoint.dir, size]);
      const fileMB = mb(statSync(join(checkpoint.dir, 'model.safetensors')).size);
      const passed = ['threads', 'prepack', 'arena', 'weights', 'in-place'].flatMap((k) => (flag(k) === undefined ? [] : [`--${k}`, flag(k)!]));
      const r = JSON.parse(child(['measure', checkpoint.dir, ...passed])) as { weightsMB: number; stages: Record<string, number>; parts: { fileMB: number; anonMB: number }; inPlace: boolean; peakMB: number };
      const f = (v: number) => `${v.toFixed(0)} MB`.padStart(10);
      console.log(`${size.padEnd(13)}${f(r.weightsMB)}${f(fileMB)}${f(r.stages.weightsRead!)}${f(r.stages.loaded!)}${f(r.stages.afterForward!)}${f(r.parts.fileMB)}${f(r.parts.anonMB)}${f(r.peakMB)}${`${(r.peakMB / r.weightsMB).toFixed(2)}×`.padStart(14)}  ${r.inPlace ? 'yes' : 'no'}`);
    } finally {
      checkpoint.remove();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

/**
 * The TensorFlow.js runner's own promises, beyond the contract the numbered spec checks on every runner:
 * which backend it picks and how it says so, that a missing backend fails saying how to install it,
 * that runners on different backends share tfjs's one global engine without stepping on each other,
 * that no call leaves a tensor behind, and that it prints nothing.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Gpt2Weights, KvCache, Tensor } from '../runners/contract';
import { BackendError, LayerIndexError, RunnerStateError } from '../runners/errors';
import { ids, toFloat64 } from '../runners/tensor';
import { BACKEND_ENV, createTfjsRunner, TfjsBackendError } from '../runners/tfjs';
import { loadModel } from './support/fixtures';

type TfjsModule = typeof import('../runners/tfjs');

const ROOT = join(__dirname, '..');
const MODEL = 'gpt2-mini';

/** Whether a package can be resolved from here (installed), without loading it. */
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const sameBits = (a: Tensor, b: Tensor) => a.shape.join() === b.shape.join() && a.data.length === b.data.length && a.data.every((v, i) => Object.is(v, b.data[i]));

/** Loads runners/tfjs afresh (its record of which native package loaded starts empty), with some packages replaced. */
async function withFreshRunnerModule<T>(mocks: Record<string, () => unknown>, body: (m: TfjsModule) => Promise<T>): Promise<T> {
  for (const [name, factory] of Object.entries(mocks)) jest.doMock(name, factory, { virtual: true });
  try {
    let result: T | undefined;
    await jest.isolateModulesAsync(async () => {
      result = await body(require('../runners/tfjs') as TfjsModule);
    });
    return result as T;
  } finally {
    for (const name of Object.keys(mocks)) jest.dontMock(name);
  }
}

describe('The tfjs runner picks its backend', () => {
  const saved = process.env[BACKEND_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[BACKEND_ENV];
    else process.env[BACKEND_ENV] = saved;
  });

  it('takes the best backend that loads here: tfjs-node-gpu, then tfjs-node, then wasm, then cpu', async () => {
    delete process.env[BACKEND_ENV];
    const r = await createTfjsRunner();
    const natives = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
    if (natives.some(installed)) {
      // Where a native package is installed, it must have won, or its failure must be on record.
      expect(r.backend.startsWith('tfjs 4.22 tensorflow') || r.engineBackend === 'wasm').toBe(true);
      if (r.engineBackend === 'wasm') expect(r.tried.length).toBeGreaterThan(0);
    } else {
      expect(r.backend).toBe('tfjs 4.22 wasm (simd, 1 thread)');
      expect(r.name).toBe('tfjs');
    }
  });

  it('says in its backend field what actually runs, and names itself after a forced backend', async () => {
    const wasm = await createTfjsRunner({ backend: 'wasm' });
    const cpu = await createTfjsRunner({ backend: 'cpu' });
    expect(wasm.backend).toMatch(/^tfjs 4\.22 wasm \((simd|no simd), \d+ threads?\)$/);
    expect(cpu.backend).toBe('tfjs 4.22 cpu (pure JavaScript)');
    expect([wasm.name, cpu.name]).toEqual(['tfjs-wasm', 'tfjs-cpu']);
  });

  it('runs on the backend GPT2_TFJS_BACKEND names', async () => {
    process.env[BACKEND_ENV] = 'cpu';
    const r = await createTfjsRunner();
    expect(r.engineBackend).toBe('cpu');
    expect(r.backend).toBe('tfjs 4.22 cpu (pure JavaScript)');
  });

  it('lets the backend option win over GPT2_TFJS_BACKEND, so that tfjs-cpu stays on cpu', async () => {
    process.env[BACKEND_ENV] = 'wasm';
    expect((await createTfjsRunner({ backend: 'cpu' })).engineBackend).toBe('cpu');
  });

  it('rejects a GPT2_TFJS_BACKEND that names no backend, and lists the ones there are', async () => {
    process.env[BACKEND_ENV] = 'webgl';
    const error = await createTfjsRunner().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfjsBackendError);
    expect((error as Error).message).toMatch(/GPT2_TFJS_BACKEND='webgl'.*node-gpu, node, wasm, cpu/);
  });

  const missingGpu = !installed('@tensorflow/tfjs-node-gpu');
  (missingGpu ? it : it.skip)(`fails on a forced tfjs-node-gpu that is not installed, saying it needs CUDA, internet access and npm install${missingGpu ? '' : ' (not checked: tfjs-node-gpu is installed here)'}`, async () => {
    const error = await createTfjsRunner({ backend: 'node-gpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfjsBackendError);
    const message = (error as Error).message;
    expect(message).toContain('@tensorflow/tfjs-node-gpu is not installed');
    expect(message).toContain('CUDA');
    expect(message).toContain('internet access');
    expect(message).toContain('npm install @tensorflow/tfjs-node-gpu');
  });

  const missingNode = !installed('@tensorflow/tfjs-node');
  (missingNode ? it : it.skip)(`fails on a forced tfjs-node that is not installed, saying how to install it${missingNode ? '' : ' (not checked: tfjs-node is installed here)'}`, async () => {
    const error = await createTfjsRunner({ backend: 'node' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfjsBackendError);
    expect((error as Error).message).toMatch(/@tensorflow\/tfjs-node is not installed.*internet access.*npm install @tensorflow\/tfjs-node$/);
  });

  it('catches a tfjs-node that is there but cannot load its native binary, and falls back to the next backend', async () => {
    const broken = () => {
      throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: lib/napi-v8/tfjs_binding.node');
    };
    await withFreshRunnerModule({ '@tensorflow/tfjs-node': broken, '@tensorflow/tfjs-node-gpu': broken }, async (m) => {
      const forced = await m.createTfjsRunner({ backend: 'node' }).catch((e: unknown) => e);
      expect((forced as Error).message).toMatch(/@tensorflow\/tfjs-node failed to load \(The Node\.js native addon module .*\); .*npm install @tensorflow\/tfjs-node$/);
      const fallback = await m.createTfjsRunner();
      expect(fallback.engineBackend).toBe('wasm');
      expect(fallback.tried).toEqual([expect.stringContaining('tfjs-node-gpu failed to load'), expect.stringContaining('tfjs-node failed to load')]);
    });
  });

  it('says so when a tfjs-node loads but registers its backend on another copy of tfjs-core', async () => {
    await withFreshRunnerModule({ '@tensorflow/tfjs-node': () => ({ version: { 'tfjs-node': '4.22.0' } }) }, async (m) => {
      const error = await m.createTfjsRunner({ backend: 'node' }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/registered no 'tensorflow' backend on @tensorflow\/tfjs-core 4\.22\.0.*npm dedupe/);
    });
  });

  it("runs unchanged on a backend registered the way tfjs-node registers its own: as 'tensorflow' on the shared tfjs-core", async () => {
    // A stand-in for tfjs-node: the cpu backend's kernels under the name 'tensorflow'.
    const kernels = tf.getKernelsForBackend('cpu');
    const fakeNode = () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { MathBackendCPU } = require('@tensorflow/tfjs-backend-cpu') as typeof import('@tensorflow/tfjs-backend-cpu');
      tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
      for (const k of kernels) tf.registerKernel({ ...k, backendName: 'tensorflow' });
      return { version: { 'tfjs-node': '4.22.0' } };
    };
    try {
      await withFreshRunnerModule({ '@tensorflow/tfjs-node': fakeNode }, async (m) => {
        const native = await m.createTfjsRunner();
        expect(native.backend).toBe('tfjs 4.22 tensorflow (tfjs-node 4.22.0)');
        const cpu = await m.createTfjsRunner({ backend: 'cpu' });
        const w = loadModel(MODEL);
        await native.load(w);
        await cpu.load(w);
        const x = ids([[5, 6, 7, 8]]);
        const [a, b] = [await native.forward(x), await cpu.forward(x)];
        expect(sameBits(a.logits, b.logits)).toBe(true); // the same kernels, so the same bits
        expect(native.engineBackend).toBe('tensorflow');
        await native.dispose();
        await cpu.dispose();
      });
    } finally {
      for (const k of kernels) tf.unregisterKernel(k.kernelName, 'tensorflow');
      if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
    }
  });
});

describe('Runners on different tfjs backends share one process', () => {
  it('keeps each runner on its own backend when they take turns, whichever backend the last call left active', async () => {
    const w = loadModel(MODEL);
    const wasm = await createTfjsRunner({ backend: 'wasm' });
    await wasm.load(w);
    const x = toFloat64((await wasm.embed(ids([[3, 1, 4, 1, 5, 9]]))) as Tensor);
    const alone = await wasm.mlp(x, 1); // before any other backend ran
    const cpu = await createTfjsRunner({ backend: 'cpu' });
    await cpu.load(w);
    const cpuAlone = await cpu.mlp(x, 1);
    // The two backends round differently (the cpu backend sums in float64), so they can be told apart.
    expect(sameBits(alone, cpuAlone)).toBe(false);
    for (let round = 0; round < 3; round++) {
      expect(sameBits(await wasm.mlp(x, 1), alone)).toBe(true);
      expect(tf.getBackend()).toBe('wasm');
      expect(sameBits(await cpu.mlp(x, 1), cpuAlone)).toBe(true);
      expect(tf.getBackend()).toBe('cpu');
    }
    await wasm.dispose();
    await cpu.dispose();
  });
});

describe.each(['wasm', 'cpu'] as const)('The tfjs runner on %s leaves no tensor behind', (backend) => {
  let runner: Awaited<ReturnType<typeof createTfjsRunner>>;
  let weights: Gpt2Weights;
  let beforeLoad: number;
  beforeAll(async () => {
    runner = await createTfjsRunner({ backend });
    weights = loadModel(MODEL);
    beforeLoad = tf.memory().numTensors;
    await runner.load(weights);
  });

  it('holds its weights as tensors once loaded, and the same number after a second load', async () => {
    const loaded = tf.memory().numTensors;
    // One tensor per parameter, and the transposed copy of wte for the LM head.
    expect(loaded - beforeLoad).toBe(weights.names().length + 1);
    await runner.load(weights);
    expect(tf.memory().numTensors).toBe(loaded);
  });

  it('returns float32 tensors, from float64 and float32 input alike', async () => {
    const x = await runner.embed(ids([[1, 2, 3]]));
    expect(x.dtype).toBe('float32');
    expect(x.data).toBeInstanceOf(Float32Array);
    const from64 = await runner.block(toFloat64(x), 0);
    const from32 = await runner.block(x, 0);
    expect(from64.dtype).toBe('float32');
    expect(sameBits(from64, from32)).toBe(true);
  });

  it('is back at the same tensor count after every call of every method, over many calls', async () => {
    const { nLayer } = weights.config;
    const batch = ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]);
    const x = await runner.embed(batch);
    const baseline = tf.memory().numTensors;
    const calls: [string, () => Promise<unknown>][] = [
      ['embed', () => runner.embed(batch)],
      ['embed after a cache', () => runner.embed(batch, 3)],
      ['layerNorm', () => runner.layerNorm(x, 'ln_f')],
      ['attention', () => runner.attention(x, nLayer - 1)],
      ['attention with its trace', () => runner.attention(x, 0, { trace: true })],
      ['mlp', () => runner.mlp(x, 0)],
      ['block', () => runner.block(x, 1)],
      ['lmHead', () => runner.lmHead(x)],
      ['forward', () => runner.forward(batch)],
      ['a cached forward', async () => {
        const { present } = await runner.forward(batch);
        let past: KvCache = present;
        for (let t = 0; t < 3; t++) past = (await runner.forward(ids([[t], [t + 1]]), past)).present;
      }],
      ['a call that fails', () => expect(runner.mlp(x, 99)).rejects.toBeInstanceOf(LayerIndexError)],
    ];
    const after: Record<string, number[]> = {};
    for (let round = 0; round < 8; round++) {
      for (const [what, call] of calls) {
        await call();
        (after[what] ??= []).push(tf.memory().numTensors - baseline);
      }
    }
    expect(after).toEqual(Object.fromEntries(calls.map(([what]) => [what, Array(8).fill(0)])));
  });

  it('leaves nothing behind when the backend throws in the middle of a forward', async () => {
    const batch = ids([[1, 2, 3]]);
    const baseline = tf.memory().numTensors;
    const name = runner.engineBackend;
    const original = tf.getKernel('Softmax', name)!;
    let calls = 0;
    // The second block's softmax kernel throws: the embedding and the first block's output and cache are alive then.
    const planted: tf.KernelConfig = {
      ...original,
      kernelFunc: (args) => {
        if (++calls === 2) throw new Error('planted failure');
        return original.kernelFunc(args);
      },
    };
    tf.unregisterKernel('Softmax', name);
    tf.registerKernel(planted);
    try {
      await expect(runner.forward(batch)).rejects.toThrow(BackendError);
      expect(calls).toBe(2);
    } finally {
      tf.unregisterKernel('Softmax', name);
      tf.registerKernel(original);
    }
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('frees every weight on dispose, back to the count before load, and refuses calls after it', async () => {
    await runner.dispose();
    expect(tf.memory().numTensors).toBe(beforeLoad);
    await expect(runner.embed(ids([[1]]))).rejects.toBeInstanceOf(RunnerStateError);
  });
});

describe('The tfjs runner is quiet', () => {
  it.each(['wasm', 'cpu'])('prints nothing on %s, not even the cpu backend\'s "install tfjs-node" banner, in a fresh process', (backend) => {
    // A fresh process, since the banner comes once per process, on a backend's first tensor.
    const script = `
      const { createTfjsRunner } = require('./runners/tfjs');
      const { loadModel } = require('./spec/support/fixtures');
      const { ids } = require('./runners/tensor');
      (async () => {
        const r = await createTfjsRunner({ backend: '${backend}' });
        await r.load(loadModel('${MODEL}'));
        await r.forward(ids([[1, 2, 3]]));
        await r.dispose();
      })().catch((e) => { process.exitCode = 1; throw e; });`;
    const child = spawnSync(process.execPath, ['-r', 'esbuild-register', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, [BACKEND_ENV]: '' } });
    expect({ status: child.status, stdout: child.stdout, stderr: child.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

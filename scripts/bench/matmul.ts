/**
 * The ceiling the ONNX benchmark is read against: ONNX Runtime's own float32 MatMul on the GPT-2-small
 * shapes, one graph of one MatMul each, timed beside the model in the same run (and beside torch's
 * matmul when the peer runs), so that a figure cited as the limit was measured under the same load.
 */
import type { Gpt2Config } from '../../runners/contract';
import { GraphBuilder } from '../../runners/onnx/graph';
import { createSession, ortTensor } from '../../runners/onnx/session';
import { seededRandom } from '../../runners/weights/seeded';
import { median } from './timing';

/** [M, K, N] of a model's shape: the MLP's c_fc at T = 128 and T = 1024, and the LM head at T = 128 and at one decoded token. */
export const matmulShapes = ({ nEmbd: D, vocabSize: V }: Gpt2Config): [number, number, number][] => [
  [128, D, 4 * D],
  [1024, D, 4 * D],
  [128, D, V],
  [1, D, V],
];

export const matmulGflopPerSecond = (M: number, K: number, N: number, seconds: number): number => (2 * M * K * N) / seconds / 1e9;

/** The median seconds of `runs` MatMuls [M,K]·[K,N] in ORT at `threads` intra-op threads, after 3 warm-up runs. */
export async function ortMatMulSeconds(M: number, K: number, N: number, threads: number, runs = 15): Promise<number> {
  const random = seededRandom(M + K + N);
  const g = new GraphBuilder('matmul');
  const x = g.input('x', 'float32', [M, K]);
  const w = g.initializer('w', 'float32', [K, N], Float32Array.from({ length: K * N }, () => random() - 0.5));
  g.output('y', g.op('MatMul', [x, w], {}, 'y'), 'float32', [M, N]);
  const session = await createSession(g.toBytes({ producerVersion: 'gpt2-spec-bench-matmul' }), threads);
  try {
    const feed = { x: ortTensor('float32', Float32Array.from({ length: M * K }, random), [M, K]) };
    for (let i = 0; i < 3; i++) await session.run(feed);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feed);
      times.push((performance.now() - t0) / 1000);
    }
    return median(times);
  } finally {
    await session.release();
  }
}

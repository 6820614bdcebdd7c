/**
 * The ceiling for the ONNX benchmark on this machine: ONNX Runtime's own float32 MatMul throughput on
 * the GPT-2-small shapes, one graph of one MatMul each, at 1 and 2 intra-op threads.
 *
 *   node -r esbuild-register scripts/dev/ort-matmul-peak.ts
 */
import { GraphBuilder } from '../../runners/onnx/graph';
import { createSession, ortTensor } from '../../runners/onnx/session';
import { seededRandom } from '../../runners/weights/seeded';

async function peak(M: number, K: number, N: number, threads: number): Promise<void> {
  const random = seededRandom(M + K + N);
  const g = new GraphBuilder('matmul');
  const x = g.input('x', 'float32', [M, K]);
  const w = g.initializer('w', 'float32', [K, N], Float32Array.from({ length: K * N }, () => random() - 0.5));
  g.output('y', g.op('MatMul', [x, w], {}, 'y'), 'float32', [M, N]);
  const session = await createSession(g.toBytes({ producerVersion: 'ort-matmul-peak' }), threads);
  const feed = { x: ortTensor('float32', Float32Array.from({ length: M * K }, random), [M, K]) };
  for (let i = 0; i < 3; i++) await session.run(feed);
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await session.run(feed);
    times.push(performance.now() - t0);
  }
  const median = times.sort((a, b) => a - b)[7]!;
  console.log(`[${M},${K}]·[${K},${N}] on ${threads} thread(s): median ${median.toFixed(2)} ms of 15 -> ${((2 * M * K * N) / median / 1e6).toFixed(0)} GFLOP/s`);
  await session.release();
}

async function main(): Promise<void> {
  for (const threads of [1, 2]) for (const [M, K, N] of [[128, 768, 3072], [128, 768, 50257], [1024, 768, 3072]] as const) await peak(M, K, N, threads);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

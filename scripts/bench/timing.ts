/** What every benchmark here needs to time a call: milliseconds since a start, the median, and cold-then-warm runs. */
import { performance } from 'node:perf_hooks';

export const msSince = (t0: number): number => performance.now() - t0;

/** The middle value (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One first (cold) call, then `repeat` more (warm), each timed in milliseconds. */
export async function coldThenWarm(call: () => Promise<unknown>, repeat: number): Promise<{ coldMs: number; warmMs: number[] }> {
  let t0 = performance.now();
  await call();
  const coldMs = msSince(t0);
  const warmMs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    t0 = performance.now();
    await call();
    warmMs.push(msSince(t0));
  }
  return { coldMs, warmMs };
}

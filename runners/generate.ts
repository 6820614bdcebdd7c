/** Greedy generation with the KV cache, on any runner: the loop the spec checks and the command line runs. */
import type { Gpt2Runner, KvCache, Tensor } from './contract';
import { ids as idsTensor } from './tensor';

/** The argmax of the last position's logits of each sequence, ties to the lowest id: [B,T,V] -> B ids. */
export function greedyNext(logits: Tensor): number[] {
  const [B, T, V] = logits.shape as [number, number, number];
  const next: number[] = [];
  for (let b = 0; b < B; b++) {
    const row = (b * T + T - 1) * V;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits.data[row + v]! > logits.data[row + best]!) best = v;
    next.push(best);
  }
  return next;
}

/** Picks each sequence's next token from the step's logits [B,T,V]: greedyNext, or a sampler. */
export type NextTokens = (logits: Tensor) => number[];

/**
 * Runs the prompt once, then feeds one token at a time with the cache of everything before it.
 * Returns the prompt and the new tokens, one row per sequence; `onToken` sees each step's new ids.
 */
export async function generate(runner: Gpt2Runner, prompt: number[][], newTokens: number, next: NextTokens, onToken?: (ids: number[]) => void): Promise<number[][]> {
  const rows = prompt.map((r) => [...r]);
  let past: KvCache | undefined;
  let input: Tensor = idsTensor(rows);
  const forward = lastLogitsStep(runner);
  for (let step = 0; step < newTokens; step++) {
    const { logits, present } = await forward(input, past);
    const chosen = next(logits);
    chosen.forEach((id, b) => rows[b]!.push(id));
    onToken?.(chosen);
    past = present;
    input = idsTensor(chosen.map((id) => [id]));
  }
  return rows;
}

type Step = (ids: Tensor, past?: KvCache) => Promise<{ logits: Tensor; present: KvCache }>;

/**
 * A step that may compute only the last position's logits, [B,1,V], which is all `next` reads: a runner's
 * optional forwardLastLogits (the onnx runner's), else forward(). The contract's forward returns every position.
 */
function lastLogitsStep(runner: Gpt2Runner): Step {
  const fast = (runner as Gpt2Runner & { forwardLastLogits?: Step }).forwardLastLogits;
  return typeof fast === 'function' ? fast.bind(runner) : runner.forward.bind(runner);
}

/** Greedy generation: the argmax at every step, ties to the lowest id. */
export function generateGreedy(runner: Gpt2Runner, prompt: number[][], newTokens: number, onToken?: (ids: number[]) => void): Promise<number[][]> {
  return generate(runner, prompt, newTokens, greedyNext, onToken);
}

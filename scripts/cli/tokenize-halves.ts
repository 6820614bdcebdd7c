/**
 * A long standard input tokenized in two parts at once, on two cores: the first here, the second on a worker
 * thread (tokenize-worker.ts), the ids of the second handed on after those of the first. The cut is where
 * both the UTF-8 decoding and GPT-2's pre-tokenizer are sure to start afresh, so the ids are the ones one
 * pass over the whole input gives:
 *   - an ASCII byte ends whatever the decoder was in the middle of (an unfinished sequence becomes U+FFFD
 *     there, in the whole as in the part), so the text of the two parts is the text of the whole;
 *   - between an ASCII digit and an ASCII letter, either way round, every pre-token ends: a digit joins only
 *     ` ?\p{N}+`, a letter only ` ?\p{L}+` or a contraction (`'s`), and none of them takes the other; and no
 *     special token (`<|endoftext|>`) holds a digit.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { bundledScript } from '../../runners/protocol/commands';
import type { AllowedSpecial, ReferenceTokenizer } from '../../runners/reference/tokenizer';
import { utf8ToText } from './tokenize-io';

/** Below this, one thread: the worker's start and its own copy of the vocabulary cost about 0.4 s. */
export const TWO_PARTS_BYTES = 8 << 20;

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isLetter = (b: number) => (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a;

/** The first index at or after the middle where a digit meets a letter (bytes[i - 1] and bytes[i]), or -1. */
export function halfwayCut(bytes: Uint8Array): number {
  for (let i = Math.max(1, bytes.length >> 1); i < bytes.length; i++) {
    const [a, b] = [bytes[i - 1]!, bytes[i]!];
    if ((isDigit(a) && isLetter(b)) || (isLetter(a) && isDigit(b))) return i;
  }
  return -1;
}

/** Whether to cut: a long input, a second core, and a cut to be found. */
export function twoPartsCut(bytes: Uint8Array): number {
  return bytes.length >= TWO_PARTS_BYTES && availableParallelism() > 1 ? halfwayCut(bytes) : -1;
}

/** The ids of bytes[0, cut) from `tokenizer`, then those of bytes[cut, end) from the worker's, in chunks. */
export async function* encodeInTwoParts(tokenizer: ReferenceTokenizer, bytes: Uint8Array, cut: number, allowedSpecial: AllowedSpecial): AsyncGenerator<Int32Array> {
  const second = new Uint8Array(bytes.subarray(cut)); // the worker's own copy, moved to it (a Buffer's slice is a view)
  const worker = new Worker(bundledScript('tokenize-worker'), { workerData: { bytes: second, allowedSpecial }, transferList: [second.buffer] });
  const queue: Int32Array[] = [];
  let done = false;
  let failed: Error | undefined;
  let wake = () => undefined as void;
  worker.on('message', (m: { ids?: Int32Array; done?: true; error?: { name: string; message: string } }) => {
    if (m.ids) queue.push(m.ids);
    else if (m.done) done = true;
    else if (m.error) failed = Object.assign(new Error(m.error.message), { name: m.error.name });
    wake();
  });
  worker.on('error', (e) => ((failed = e), wake()));
  worker.on('exit', (code) => (done || failed || (failed = new Error(`the tokenizer's second thread ended (exit ${code}) before its ids`)), wake()));
  try {
    yield* tokenizer.encodeInChunks(utf8ToText(bytes.subarray(0, cut), true)!, { allowedSpecial });
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (failed) throw failed;
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await worker.terminate();
  }
}

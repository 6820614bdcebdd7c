/**
 * The second part of a long standard input, tokenized beside the first (tokenize-halves.ts): the built-in
 * reference tokenizer on its own thread, its ids posted back a chunk at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AllowedSpecial } from '../../runners/reference/tokenizer';
import { loadReferenceTokenizer } from '../../runners/reference/tokenizer';
import { utf8ToText } from './tokenize-io';

const { bytes, allowedSpecial } = workerData as { bytes: Uint8Array; allowedSpecial: AllowedSpecial };
try {
  // The whole input was checked before it was cut: invalid bytes here are the ones --replace-invalid asked to replace.
  const text = utf8ToText(bytes, true)!;
  for (const chunk of loadReferenceTokenizer().encodeInChunks(text, { allowedSpecial })) {
    const ids = chunk.slice(); // a chunk is good until the next is asked for
    parentPort!.postMessage({ ids }, [ids.buffer]);
  }
  parentPort!.postMessage({ done: true });
} catch (e) {
  parentPort!.postMessage({ error: { name: (e as Error).name, message: (e as Error).message } });
}

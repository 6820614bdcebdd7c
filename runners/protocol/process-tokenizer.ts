/**
 * A tokenizer in another process, behind the synchronous Gpt2Tokenizer contract. The connection lives
 * in a worker thread (sync-worker.ts); each encode or decode posts a request there and waits, blocking,
 * for the answer: the tokenizer chapter reads the same for a tokenizer in any language.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Gpt2Tokenizer } from '../contract';
import { AdapterError } from '../adapter-module';
import { TokenizerError } from '../errors';
import { componentTimeLimitMs, TimeLimitError } from '../time-limit';
import type { RunnerCommand } from './child';
import { RemoteError } from './child';
import { bundledScript } from './commands';
import type { Hello } from './process-runner';
import { typedRemoteError } from './remote-errors';

/** How long past the worker's own time limit the caller waits before it gives up on the worker itself. */
const BRIDGE_GRACE_MS = 5000;

class SyncBridge {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  // Answers come on a port of their own, which receiveMessageOnPort reads without the event loop.
  private readonly replies = new MessageChannel();

  constructor(private readonly cmd: RunnerCommand, private readonly limitMs: number) {
    const workerData = { cmd, limitMs, flag: this.flag, replies: this.replies.port2 };
    this.worker = new Worker(bundledScript('sync-worker'), { workerData, transferList: [this.replies.port2] });
    this.worker.unref();
    this.replies.port1.unref();
  }

  call(method: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    Atomics.store(this.flag, 0, 0);
    this.worker.postMessage({ method, params });
    const waited = Atomics.wait(this.flag, 0, 0, this.limitMs + BRIDGE_GRACE_MS);
    if (waited === 'timed-out') throw new TimeLimitError(`${this.cmd.label} ${method}() did not answer within ${(this.limitMs + BRIDGE_GRACE_MS) / 1000} s`);
    const message = receiveMessageOnPort(this.replies.port1);
    const reply = message?.message as { result?: Record<string, unknown>; error?: { name: string; message: string } } | undefined;
    if (!reply) throw new TokenizerError(`${this.cmd.label} ${method}(): the bridge's worker posted no answer`);
    if (reply.error) throw typedRemoteError(new RemoteError(reply.error.name, reply.error.message));
    return reply.result!;
  }
}

export async function startProcessTokenizer(cmd: RunnerCommand): Promise<Gpt2Tokenizer> {
  const bridge = new SyncBridge(cmd, componentTimeLimitMs());
  const hello = bridge.call('hello') as unknown as Hello;
  const missing = ['encode', 'decode'].filter((m) => !hello.exposes.includes(m));
  if (missing.length > 0) throw new AdapterError(`${cmd.label} is no tokenizer: it does not expose ${missing.join(', ')}`);
  return {
    name: hello.name,
    encode(text, opts) {
      const ids = bridge.call('encode', { text, allowedSpecial: opts?.allowedSpecial ?? 'none' }).ids;
      if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id))) throw new TokenizerError(`${hello.name} encode: the answer's 'ids' is not a list of whole numbers`);
      return ids as number[];
    },
    decode(ids) {
      const text = bridge.call('decode', { ids: [...ids] }).text;
      if (typeof text !== 'string') throw new TokenizerError(`${hello.name} decode: the answer's 'text' is not a string`);
      return text;
    },
  };
}

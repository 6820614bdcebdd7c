/**
 * The worker thread behind a tokenizer in another process (process-tokenizer.ts). The tokenizer
 * contract is synchronous, the protocol is not: this worker owns the connection, and the caller's
 * thread sleeps on a shared flag until the answer is posted back.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { RunnerCommand } from './child';
import { RunnerConnection } from './process-runner';
import { describeThrown } from './remote-errors';

interface Request {
  method: string;
  params: Record<string, unknown>;
}

const { cmd, limitMs, flag, replies } = workerData as { cmd: RunnerCommand; limitMs: number; flag: Int32Array; replies: MessagePort };
const connection = RunnerConnection.open(cmd, limitMs);

parentPort!.on('message', async ({ method, params }: Request) => {
  let reply: unknown;
  try {
    const c = await connection;
    reply = method === 'hello' ? { result: c.hello } : { result: await c.call(method, params) };
  } catch (e) {
    reply = { error: describeThrown(e) };
  }
  replies.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});

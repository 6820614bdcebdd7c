/**
 * The Node host: runs a JavaScript or TypeScript adapter module (docs/adapters.md) in a process of its
 * own and serves it over the runner protocol (docs/protocol.md). Started by the harness as
 *   node host.js ADAPTER_PATH runner|tokenizer
 * The adapter's imports resolve as in its own project (loadAdapter compiles it with its own folder's
 * node_modules on the path), and `gpt2-spec` resolves to this package.
 */
import Module from 'node:module';
import { join } from 'node:path';
import type { Gpt2Runner, Gpt2Tokenizer } from '../contract';
import { loadAdapter } from '../adapter-module';
import { packageRoot } from '../paths';
import { loadCheckpoint } from '../weights/checkpoint';
import { encodeFrameParts, FrameReader, PROTOCOL_VERSION } from './frame';
import { RUNNER_METHODS, TOKENIZER_METHODS } from './process-runner';
import { describeThrown } from './remote-errors';

type Params = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The protocol owns stdout. Whatever the adapter prints (console.log included) goes to stderr instead.
const protocolOut = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

/** `gpt2-spec` from an adapter that does not install it itself: this package's own build. */
function resolveOurPackage(): void {
  const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = resolver._resolveFilename;
  resolver._resolveFilename = function (request: string, ...rest: unknown[]) {
    try {
      return original.call(this, request, ...rest);
    } catch (e) {
      if (request === 'gpt2-spec') return join(packageRoot(), 'dist/index.js');
      throw e;
    }
  };
}

async function serve(adapterPath: string, kind: 'runner' | 'tokenizer'): Promise<void> {
  resolveOurPackage();
  let runner: Gpt2Runner | undefined;
  let tokenizer: Gpt2Tokenizer | undefined;

  const handlers: Record<string, (p: Params) => Promise<unknown> | unknown> = {
    hello: async () => {
      const adapter = await loadAdapter(adapterPath);
      const factory = adapter[kind];
      if (!factory) throw Object.assign(new Error(`adapter ${adapterPath} (${adapter.name}) provides no ${kind}`), { name: 'AdapterError' });
      const made = (await factory()) as unknown as Record<string, unknown>;
      if (typeof made !== 'object' || made === null) throw Object.assign(new Error(`adapter ${adapterPath}: its ${kind} factory returned ${String(made)}`), { name: 'AdapterError' });
      const methods = kind === 'runner' ? RUNNER_METHODS : TOKENIZER_METHODS;
      if (kind === 'runner') runner = made as unknown as Gpt2Runner;
      else tokenizer = made as unknown as Gpt2Tokenizer;
      return {
        protocol: PROTOCOL_VERSION,
        name: String(made.name ?? adapter.name),
        backend: String(made.backend ?? 'javascript'),
        // A method the adapter leaves out is simply not exposed.
        exposes: methods.filter((m) => typeof made[m] === 'function'),
      };
    },
    load: async (p) => {
      await need(runner, 'load').load(loadCheckpoint(p.path));
      return { backend: String(runner!.backend) };
    },
    embed: async (p) => ({ output: await need(runner, 'embed').embed(p.ids, p.pastLength) }),
    layerNorm: async (p) => ({ output: await need(runner, 'layerNorm').layerNorm(p.x, p.site) }),
    attention: async (p) => {
      const { output, trace } = await need(runner, 'attention').attention(p.x, p.layer, { trace: p.trace === true });
      return { output, trace };
    },
    mlp: async (p) => ({ output: await need(runner, 'mlp').mlp(p.x, p.layer) }),
    block: async (p) => ({ output: await need(runner, 'block').block(p.x, p.layer) }),
    lmHead: async (p) => ({ output: await need(runner, 'lmHead').lmHead(p.x) }),
    forward: async (p) => {
      const { logits, present } = await need(runner, 'forward').forward(p.ids, p.past);
      return { logits, present: { keys: present?.keys, values: present?.values } };
    },
    encode: async (p) => ({ ids: await need(tokenizer, 'encode').encode(p.text, { allowedSpecial: p.allowedSpecial }) }),
    decode: async (p) => ({ text: await need(tokenizer, 'decode').decode(p.ids) }),
    dispose: async () => {
      await runner?.dispose();
      return {};
    },
    shutdown: () => {
      setImmediate(() => process.exit(0));
      return {};
    },
  };

  const reader = new FrameReader();
  let queue = Promise.resolve();
  process.stdin.on('data', (chunk: Buffer) => {
    let messages: Record<string, unknown>[];
    try {
      messages = reader.push(chunk);
    } catch (e) {
      process.stderr.write(`gpt2-spec host: ${(e as Error).message}\n`);
      process.exit(2);
    }
    for (const message of messages) queue = queue.then(() => answer(message));
  });
  // The harness is gone: so are we.
  process.stdin.on('end', () => process.exit(0));

  async function answer(message: Record<string, unknown>): Promise<void> {
    const { id, method, params } = message as { id: unknown; method: unknown; params: Params };
    let reply: Record<string, unknown>;
    try {
      const handler = typeof method === 'string' && Object.hasOwn(handlers, method) ? handlers[method]! : undefined;
      if (!handler) throw Object.assign(new Error(`unknown method ${JSON.stringify(method)}`), { name: 'ProtocolError' });
      reply = { id, result: (await handler(params ?? {})) ?? {} };
    } catch (e) {
      reply = { id, error: describeThrown(e) };
    }
    let parts: Uint8Array[];
    try {
      parts = encodeFrameParts(reply);
    } catch (e) {
      // An answer that cannot be framed (a cyclic object, a BigInt) is the adapter's error, not ours.
      parts = encodeFrameParts({ id, error: { name: 'ProtocolError', message: `the answer to ${String(method)} cannot be sent: ${(e as Error).message}` } });
    }
    for (const part of parts) protocolOut(part);
  }
}

function need<T extends object>(target: T | undefined, method: string): T {
  if (!target) throw Object.assign(new Error(`${method} before hello`), { name: 'RunnerStateError' });
  if (typeof (target as Record<string, unknown>)[method] !== 'function') throw Object.assign(new Error(`the adapter has no ${method}()`), { name: 'NotExposedError' });
  return target;
}

const [adapterPath, kind] = process.argv.slice(2);
if (!adapterPath || (kind !== 'runner' && kind !== 'tokenizer')) {
  process.stderr.write('usage: node host.js ADAPTER_PATH runner|tokenizer\n');
  process.exit(2);
}
serve(adapterPath, kind).catch((e) => {
  process.stderr.write(`gpt2-spec host: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(2);
});

/**
 * The Node host: runs a JavaScript or TypeScript adapter module (docs/adapters.md) in a process of its
 * own and serves it over the runner protocol (docs/protocol.md). Started by the harness as
 *   node host.js ADAPTER_PATH runner|tokenizer
 * The adapter's imports resolve as in its own project (loadAdapter compiles it with its own folder's
 * node_modules on the path), and `gpt2-spec` resolves to this package.
 */
import Module from 'node:module';
import { join } from 'node:path';
import { loadAdapter } from '../adapter-module';
import { packageRoot } from '../paths';
import { loadCheckpoint } from '../weights/checkpoint';
import { encodeFrameParts, FrameReader } from './frame';
import { adapterHandlers, answerRequest, unframable } from './serve-adapter';

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
  const handlers = adapterHandlers({
    kind,
    label: adapterPath,
    adapter: () => loadAdapter(adapterPath),
    weights: (p) => loadCheckpoint(p.path),
    exit: () => process.exit(0),
  });

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
    const reply = await answerRequest(handlers, message);
    let parts: Uint8Array[];
    try {
      parts = encodeFrameParts(reply);
    } catch (e) {
      parts = encodeFrameParts(unframable(message, e));
    }
    for (const part of parts) protocolOut(part);
  }
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

/**
 * Serving an adapter's runner or tokenizer over the protocol's messages, with no Node APIs: the Node host
 * (host.ts) and the browser page (runners/browser/page.ts) answer requests with these same handlers, and
 * differ only in how they load an adapter, read weights and move bytes.
 */
import type { Gpt2Runner, Gpt2Tokenizer, Gpt2Weights } from '../contract';
import { PROTOCOL_VERSION, RUNNER_METHODS, TOKENIZER_METHODS } from './wire';

type Params = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Handlers = Record<string, (p: Params) => Promise<unknown> | unknown>;

export interface ServeOptions {
  kind: 'runner' | 'tokenizer';
  /** How the selection named the adapter, for messages. */
  label: string;
  /** The adapter's default export, normalised: { name, runner?, tokenizer? }. */
  adapter: () => Promise<{ name: string; runner?: () => unknown; tokenizer?: () => unknown }>;
  /** The weights of a load request. */
  weights: (params: Params) => Gpt2Weights | Promise<Gpt2Weights>;
  /** Added to hello's answer (e.g. `weights: true` for a runner that cannot read files). */
  hello?: Record<string, unknown>;
  /** The backend as reported, from the runner's own. */
  backend?: (own: string) => string;
  /** Called after shutdown is answered. */
  exit: () => void;
}

const adapterError = (message: string) => Object.assign(new Error(message), { name: 'AdapterError' });

export function adapterHandlers(o: ServeOptions): Handlers {
  let runner: Gpt2Runner | undefined;
  let tokenizer: Gpt2Tokenizer | undefined;
  const backend = (own: unknown) => (o.backend ?? String)(String(own ?? 'javascript'));
  return {
    hello: async () => {
      const adapter = await o.adapter();
      const factory = adapter[o.kind];
      if (!factory) throw adapterError(`adapter ${o.label} (${adapter.name}) provides no ${o.kind}`);
      const made = (await factory()) as Record<string, unknown>;
      if (typeof made !== 'object' || made === null) throw adapterError(`adapter ${o.label}: its ${o.kind} factory returned ${String(made)}`);
      const methods: readonly string[] = o.kind === 'runner' ? RUNNER_METHODS : TOKENIZER_METHODS;
      if (o.kind === 'runner') runner = made as unknown as Gpt2Runner;
      else tokenizer = made as unknown as Gpt2Tokenizer;
      return {
        ...o.hello,
        protocol: PROTOCOL_VERSION,
        name: String(made.name ?? adapter.name),
        backend: backend(made.backend),
        // A method the adapter leaves out is simply not exposed.
        exposes: methods.filter((m) => typeof made[m] === 'function'),
      };
    },
    load: async (p) => {
      await need(runner, 'load').load(await o.weights(p));
      return { backend: backend(runner!.backend) };
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
      setTimeout(o.exit, 0);
      return {};
    },
  };
}

function need<T extends object>(target: T | undefined, method: string): T {
  if (!target) throw Object.assign(new Error(`${method} before hello`), { name: 'RunnerStateError' });
  if (typeof (target as Record<string, unknown>)[method] !== 'function') throw Object.assign(new Error(`the adapter has no ${method}()`), { name: 'NotExposedError' });
  return target;
}

/** The answer to one request: its handler's result, or the error it threw, by name. */
export async function answerRequest(handlers: Handlers, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { id, method, params } = message as { id: unknown; method: unknown; params: Params };
  try {
    const handler = typeof method === 'string' && Object.hasOwn(handlers, method) ? handlers[method]! : undefined;
    if (!handler) throw Object.assign(new Error(`unknown method ${JSON.stringify(method)}`), { name: 'ProtocolError' });
    return { id, result: (await handler(params ?? {})) ?? {} };
  } catch (e) {
    return { id, error: describeThrown(e) };
  }
}

/** An answer that cannot be framed (a cyclic object, a BigInt) is the adapter's error, not the host's. */
export const unframable = (message: Record<string, unknown>, e: unknown) => ({
  id: message.id,
  error: { name: 'ProtocolError', message: `the answer to ${String(message.method)} cannot be sent: ${(e as Error).message}` },
});

/** Where any thrown value becomes something the protocol can carry: a name and a message. */
export function describeThrown(e: unknown): { name: string; message: string } {
  if (e instanceof Error) return { name: e.name || 'Error', message: String(e.message) };
  if (typeof e === 'object' && e !== null) {
    let shown: string;
    try {
      shown = JSON.stringify(e);
    } catch {
      shown = Object.prototype.toString.call(e);
    }
    return { name: 'NonErrorThrown', message: `threw a non-Error value: ${shown}` };
  }
  return { name: 'NonErrorThrown', message: `threw a non-Error value: ${String(e)}` };
}

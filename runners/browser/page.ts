/**
 * The runner's side inside a browser page: it asks the browser host (browser-host.ts) for the next
 * request, answers it with the adapter, and sends the answer back with the next ask. Requests and
 * answers are protocol frames in ArrayBuffers, both ways; the host relays them to and from the harness.
 * The page has no files: it asks for its weights in load (`weights: true` in hello).
 */
import type { Gpt2Weights, Tensor } from '../contract';
import { parseConfig } from '../weights/config';
import { adapterHandlers, answerRequest, unframable } from '../protocol/serve-adapter';
import { decodePageFrame, encodePageFrame } from './page-frame';

type Exports = Record<string, unknown>;

/** The default export as host.ts takes it: { name, runner?, tokenizer? } or a bare runner factory. */
function adapterOf(mod: Exports, label: string): { name: string; runner?: () => unknown; tokenizer?: () => unknown } {
  const exported = mod.default ?? mod;
  if (typeof exported === 'function') return { name: label, runner: exported as () => unknown };
  if (typeof exported === 'object' && exported !== null && typeof (exported as { name?: unknown }).name === 'string') {
    const a = exported as { name: string; runner?: unknown; tokenizer?: unknown };
    for (const k of ['runner', 'tokenizer'] as const) {
      if (a[k] !== undefined && typeof a[k] !== 'function') throw Object.assign(new Error(`adapter ${label}: '${k}' must be a function`), { name: 'AdapterError' });
    }
    return a as { name: string };
  }
  throw Object.assign(new Error(`adapter ${label}: the default export must be { name, runner?, tokenizer? } or a function returning a Gpt2Runner`), { name: 'AdapterError' });
}

/** The weights a load request carries, as the contract's Gpt2Weights. */
function weightsOf(params: Record<string, unknown>): Gpt2Weights {
  const config = parseConfig(params.config, 'the config of load');
  const tensors = (params.weights ?? {}) as Record<string, Tensor>;
  return {
    config,
    names: () => Object.keys(tensors),
    get: (name: string) => {
      if (!Object.hasOwn(tensors, name)) throw Object.assign(new Error(`load: no weight named ${name}`), { name: 'CheckpointError' });
      return tensors[name]!;
    },
  };
}

export interface PageSettings {
  kind: 'runner' | 'tokenizer';
  label: string;
  /** The browser and its version, e.g. "Chromium 150.0.7871.100": part of every backend reported. */
  browser: string;
}

export async function servePage(mod: Exports, settings: PageSettings): Promise<void> {
  const handlers = adapterHandlers({
    kind: settings.kind,
    label: settings.label,
    adapter: async () => adapterOf(mod, settings.label),
    weights: weightsOf,
    hello: { weights: true },
    backend: (own) => `${own} in ${settings.browser}`,
    // The host ends the browser once it has relayed the answer.
    exit: () => undefined,
  });
  let answer: ArrayBuffer | undefined;
  for (;;) {
    // A failed ask means the host is gone, after a shutdown or otherwise: nothing is left to answer.
    const res = await fetch('next', { method: 'POST', body: answer ?? new ArrayBuffer(0) }).catch(() => undefined);
    if (!res) return;
    answer = undefined;
    // 204: nothing to do yet (the host answers an idle ask after a while, so that no fetch waits forever).
    if (res.status === 204) continue;
    if (res.status !== 200) return;
    const request = await res.arrayBuffer();
    let message: Record<string, unknown>;
    try {
      message = decodePageFrame(request);
    } catch (e) {
      answer = encodePageFrame({ id: null, error: { name: 'ProtocolError', message: (e as Error).message } });
      continue;
    }
    const reply = await answerRequest(handlers, message);
    try {
      answer = encodePageFrame(reply);
    } catch (e) {
      answer = encodePageFrame(unframable(message, e));
    }
  }
}

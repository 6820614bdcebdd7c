/**
 * Loading a Hugging Face GPT-2 checkpoint directory, laid out as the Hub lays it out:
 * `config.json` (GPT2Config) and `model.safetensors`. Every problem gets a CheckpointError that names it.
 */
import { closeSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Config, Gpt2Weights, Tensor } from '../contract';
import { CheckpointError } from '../errors';
import { formatShape } from '../tensor';
import { oneLine, openRegularFile, openSafetensors } from './safetensors';
import { recordStored } from './stored';

import { parseConfig } from './config';

export { hfConfigJson, parseConfig } from './config';

/** Every tensor a GPT-2 of this config has, with its shape, in HF's names and Conv1D [in,out] layout. */
export function expectedShapes(config: Gpt2Config): Map<string, number[]> {
  const { vocabSize: V, nPositions: P, nEmbd: D, nLayer } = config;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [V, D]],
    ['wpe.weight', [P, D]],
  ]);
  for (let i = 0; i < nLayer; i++) {
    const h = `h.${i}`;
    shapes.set(`${h}.ln_1.weight`, [D]).set(`${h}.ln_1.bias`, [D]);
    shapes.set(`${h}.attn.c_attn.weight`, [D, 3 * D]).set(`${h}.attn.c_attn.bias`, [3 * D]);
    shapes.set(`${h}.attn.c_proj.weight`, [D, D]).set(`${h}.attn.c_proj.bias`, [D]);
    shapes.set(`${h}.ln_2.weight`, [D]).set(`${h}.ln_2.bias`, [D]);
    shapes.set(`${h}.mlp.c_fc.weight`, [D, 4 * D]).set(`${h}.mlp.c_fc.bias`, [4 * D]);
    shapes.set(`${h}.mlp.c_proj.weight`, [4 * D, D]).set(`${h}.mlp.c_proj.bias`, [D]);
  }
  shapes.set('ln_f.weight', [D]).set('ln_f.bias', [D]);
  return shapes;
}

/** Buffers HF stores beside the parameters that are not weights: the causal-mask constants. */
const IGNORED = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** One named tensor of a checkpoint: its shape and dtype known without reading it, its data read on demand. */
export interface TensorSource {
  shape: readonly number[];
  float: boolean;
  load(): Tensor;
  /** The first NaN or ±Inf without reading the tensor whole (a file scanned in chunks), where the source can. */
  firstNonFinite?(): { index: number; value: number } | undefined;
}

/**
 * Builds Gpt2Weights from named tensors: strips a `transformer.` prefix, drops the mask buffers and a tied
 * `lm_head.weight`, and checks that exactly the expected tensors are there with the expected shapes, before
 * anything is read. Then every tensor is read once to check that it holds only finite numbers, one at a time,
 * so that the check never holds more than one tensor. Each get() reads (and checks) the tensor again: nothing
 * is kept here, so the only copy a runner holds is its own.
 */
export function weightsFromTensors(config: Gpt2Config, named: Iterable<[string, TensorSource]>, source = 'checkpoint'): Gpt2Weights {
  const all = [...named];
  checkSizes(config, all, source);
  const expected = expectedShapes(config);
  const found = new Map<string, [string, TensorSource]>();
  let lmHead: TensorSource | undefined;
  for (const [rawName, t] of all) {
    const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
    if (IGNORED.test(name)) continue;
    if (name === 'lm_head.weight') {
      lmHead = t;
      continue;
    }
    if (!expected.has(name)) throw new CheckpointError(`${source}: unexpected tensor '${rawName}' for a ${config.nLayer}-layer GPT-2`);
    const twin = found.get(name);
    if (twin) throw new CheckpointError(`${source}: '${twin[0]}' and '${rawName}' are the same tensor once the transformer. prefix is removed`);
    found.set(name, [rawName, t]);
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new CheckpointError(`${source}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((n) => `'${n}'`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  for (const [name, [rawName, t]] of found) checkShape(rawName, t, expected.get(name)!, source);
  const get = (name: string): Tensor => {
    const entry = found.get(name);
    if (!entry) throw new CheckpointError(`${source}: no tensor named '${name}'`);
    return loadFinite(entry[0], entry[1], source);
  };
  for (const name of expected.keys()) checkFinite(...found.get(name)!, source); // every value checked now, not at first use
  if (lmHead) {
    checkShape('lm_head.weight', lmHead, expected.get('wte.weight')!, source);
    checkTied(loadFinite('lm_head.weight', lmHead, source), get('wte.weight'), source);
  }
  return { config, names: () => [...expected.keys()], get };
}

/**
 * The config's layer count against what the file holds, before the expected names are listed: a config that
 * claims far more tensors than the file has (n_layer = 10⁸, say) is refused in microseconds. A near miss falls
 * through to the message that names the missing tensors. Nothing else needs a check here: every tensor's
 * size is the file's own, already checked against the file's length.
 */
function checkSizes(config: Gpt2Config, all: [string, TensorSource][], source: string): void {
  const tensors = 12 * config.nLayer + 4;
  if (tensors > 2 * all.length + 12) {
    throw new CheckpointError(`${source}: the config's ${config.nLayer} layers need ${tensors} tensors, but the file holds only ${all.length}`);
  }
}

function checkShape(name: string, t: TensorSource, want: readonly number[], source: string): void {
  if (!t.float) throw new CheckpointError(`${source}: '${name}' is an integer tensor; weights must be floating point`);
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new CheckpointError(`${source}: '${name}' has shape ${formatShape(t.shape)}, but the config needs ${formatShape(want)}`);
  }
}

/** Refuses NaN and ±Inf, naming the tensor and the first bad element: scanned where the source can, else read. */
function checkFinite(name: string, t: TensorSource, source: string): void {
  if (!t.firstNonFinite) return void loadFinite(name, t, source);
  const bad = t.firstNonFinite();
  if (bad) throw new CheckpointError(`${source}: '${name}' holds ${bad.value} at index ${formatIndex(bad.index, t.shape)}; weights must be finite numbers`);
}

/** Reads a tensor and refuses NaN and ±Inf, naming the tensor and the first bad element. */
function loadFinite(name: string, t: TensorSource, source: string): Tensor {
  const tensor = t.load();
  const at = firstNonFinite(tensor.data);
  if (at >= 0) {
    throw new CheckpointError(`${source}: '${name}' holds ${tensor.data[at]} at index ${formatIndex(at, tensor.shape)}; weights must be finite numbers`);
  }
  return tensor;
}

/** The flat index of the first NaN or ±Inf, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** A flat index as a row-major multi-index, e.g. 1234 in [10,200] -> [6,34]. */
function formatIndex(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(flat % shape[d]!);
    flat = Math.floor(flat / shape[d]!);
  }
  return formatShape(index);
}

/** GPT-2's LM head is wte itself; a checkpoint that stores a different lm_head.weight is not this model. */
function checkTied(lmHead: Tensor, wte: Tensor, source: string): void {
  for (let i = 0; i < wte.data.length; i++) {
    if (lmHead.data[i] !== wte.data[i]) throw new CheckpointError(`${source}: lm_head.weight differs from wte.weight, but GPT-2 ties them`);
  }
}

/** Weights held in memory, e.g. built by code; checked like a checkpoint. */
export function weightsFromRecord(config: Gpt2Config, tensors: Record<string, Tensor>, source = 'weights'): Gpt2Weights {
  const named = Object.entries(tensors).map(([n, t]): [string, TensorSource] => [n, { shape: t.shape, float: t.dtype !== 'int32', load: () => t }]);
  return weightsFromTensors(config, named, source);
}

/** config.json is a few hundred bytes; anything past this is not one. */
const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Loads `config.json` and `model.safetensors` from a checkpoint directory. The safetensors header is
 * checked against the config before any tensor is read, and tensors are read from the file one by one.
 */
export function loadCheckpoint(dir: string): Gpt2Weights {
  const configPath = join(dir, 'config.json');
  const modelPath = join(dir, 'model.safetensors');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: no such checkpoint directory`);
  for (const p of [configPath, modelPath]) if (!existsSync(p)) throw new CheckpointError(`${dir}: missing ${p.slice(dir.length + 1)}`);
  const config = parseConfig(readConfigJson(configPath), configPath);
  const file = openSafetensors(modelPath);
  const named = file.names().map((n): [string, TensorSource] => {
    const info = file.info(n);
    return [n, { shape: info.shape, float: info.dtype.startsWith('F') || info.dtype === 'BF16', load: () => file.get(n), firstNonFinite: () => file.firstNonFinite!(n) }];
  });
  const weights = { ...weightsFromTensors(config, named, modelPath), dir };
  // Each name as the weights know it (no transformer. prefix) -> the file's own name, for stored.ts.
  const rawNames = new Map(file.names().map((n) => [n.startsWith('transformer.') ? n.slice('transformer.'.length) : n, n]));
  return recordStored(weights, (name) => {
    const raw = rawNames.get(name);
    return raw === undefined ? undefined : file.stored!(raw);
  });
}

function readConfigJson(path: string): unknown {
  const fail = (why: string): never => {
    throw new CheckpointError(`${path}: ${why}`);
  };
  const { fd, size } = openRegularFile(path, fail);
  try {
    if (size > MAX_CONFIG_BYTES) fail(`${size} bytes is too large for a config.json (at most ${MAX_CONFIG_BYTES})`);
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(readFileSync(fd)); // a BOM stays, and JSON refuses it
    return JSON.parse(text);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    return fail(`not valid JSON (${oneLine((e as Error).message)})`);
  } finally {
    closeSync(fd);
  }
}

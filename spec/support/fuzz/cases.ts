/**
 * Seeded generators of malformed input, one family per place where input enters: checkpoint files
 * (byte flips and structural edits of a real fixture's model.safetensors), config files, token-id
 * lists, and a runner's answers to the spec's comparison. Each case carries an oracle, written apart
 * from the code under test, that says whether the input is valid, so that a case the code accepts is
 * sorted into "accepted, valid" or "accepted silently, but invalid".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../../runners/contract';
import { float32, float64, int32 } from '../../../runners/tensor';
import { seededRandom } from '../../../runners/weights/seeded';
import { fixturesDir, loadManifest } from '../fixtures';

export type Family = 'safetensors' | 'config' | 'ids' | 'answer';

export interface CheckpointCase {
  family: 'safetensors' | 'config';
  what: string;
  config: Uint8Array;
  model: Uint8Array;
  valid: boolean;
}
export interface IdsCase {
  family: 'ids';
  what: string;
  text: string;
  valid: boolean;
}
export interface AnswerCase {
  family: 'answer';
  what: string;
  answer: unknown;
  golden: Tensor;
  valid: boolean;
}
export type FuzzCase = CheckpointCase | IdsCase | AnswerCase;

/** The model the checkpoint cases start from: small, F32, with a real config.json. */
export const FUZZ_MODEL = 'gpt2-mini';
const VOCAB = 512;

interface Base {
  config: Uint8Array;
  model: Uint8Array;
  configJson: Record<string, unknown>;
  header: Record<string, unknown>;
  headerEnd: number;
}

let base: Base | undefined;
function original(): Base {
  if (base) return base;
  const dir = join(fixturesDir(), loadManifest().models[FUZZ_MODEL]!.path);
  const config = new Uint8Array(readFileSync(join(dir, 'config.json')));
  const model = new Uint8Array(readFileSync(join(dir, 'model.safetensors'))); // a copy: Buffer#slice would share it
  const n = Number(new DataView(model.buffer).getBigUint64(0, true));
  base = { config, model, configJson: JSON.parse(new TextDecoder().decode(config)), header: JSON.parse(new TextDecoder().decode(model.subarray(8, 8 + n))), headerEnd: 8 + n };
  return base;
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, n: number) => Math.floor(random() * n);
const encode = (text: string) => new TextEncoder().encode(text);
const flipBit = (bytes: Uint8Array, at: number, random: Random) => {
  bytes[at] = bytes[at]! ^ (1 << int(random, 8));
};

/** A safetensors file from a header object and the original data. */
function withHeader(header: unknown, prefix = ''): Uint8Array {
  const { model, headerEnd } = original();
  const json = encode(prefix + JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + model.length - headerEnd);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(model.subarray(headerEnd), 8 + json.length);
  return out;
}

/** The oracle for a changed model file: valid only if the header means the same tensors and every value is finite. */
function modelIsValid(bytes: Uint8Array): boolean {
  const { header, headerEnd, model } = original();
  if (bytes.length !== model.length || bytes.length < 8) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getBigUint64(0, true) !== BigInt(headerEnd - 8)) return false;
  let parsed: Record<string, unknown>;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, headerEnd));
    if (!text.startsWith('{')) return false;
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return false;
  }
  const withoutMetadata = (h: Record<string, unknown>) => JSON.stringify(Object.entries(h).filter(([k]) => k !== '__metadata__').sort());
  if (withoutMetadata(parsed) !== withoutMetadata(header)) return false;
  const metadata = parsed.__metadata__;
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string'))) return false;
  for (let at = headerEnd; at + 4 <= bytes.length; at += 4) if (!Number.isFinite(view.getFloat32(at, true))) return false;
  return true;
}

function safetensorsCase(random: Random): CheckpointCase {
  const { model, header, headerEnd, config } = original();
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const edit = (what: string, change: (h: Record<string, any>) => void, prefix = ''): CheckpointCase => {
    const h = structuredClone(header) as Record<string, any>;
    change(h);
    const bytes = withHeader(h, prefix);
    return { family: 'safetensors', what, config, model: bytes, valid: modelIsValid(bytes) };
  };
  const raw = (what: string, bytes: Uint8Array): CheckpointCase => ({ family: 'safetensors', what, config, model: bytes, valid: modelIsValid(bytes) });
  const name = pick(random, names);
  switch (int(random, 12)) {
    case 0:
    case 1:
    case 2: {
      const bytes = model.slice();
      const flips = 1 + int(random, 4);
      for (let i = 0; i < flips; i++) flipBit(bytes, int(random, headerEnd), random);
      return raw(`${flips} bit flips in the header`, bytes);
    }
    case 3: {
      const bytes = model.slice();
      const at = headerEnd + 4 * int(random, (model.length - headerEnd) / 4) + 2 + int(random, 2);
      flipBit(bytes, at, random);
      return raw('a bit flip in the data', bytes);
    }
    case 4: {
      const bytes = model.slice();
      const at = headerEnd + 4 * int(random, (model.length - headerEnd) / 4);
      new DataView(bytes.buffer).setFloat32(at, pick(random, [NaN, Infinity, -Infinity]), true);
      return raw('a non-finite value in the data', bytes);
    }
    case 5:
      return raw('a truncated file', model.slice(0, int(random, model.length)));
    case 6: {
      const bytes = new Uint8Array(model.length + 1 + int(random, 16));
      bytes.set(model);
      return raw('bytes after the data', bytes);
    }
    case 7: {
      const bytes = model.slice();
      new DataView(bytes.buffer).setBigUint64(0, pick(random, [0n, 1n, BigInt(headerEnd), (1n << 64n) - 1n, BigInt(int(random, 1 << 30))]), true);
      return raw('another header length', bytes);
    }
    case 8:
      return edit(`entry '${name}' gets another dtype`, (h) => (h[name].dtype = pick(random, ['F16', 'BF16', 'I32', 'I64', 'F64', 'U8', 'f32', '', null, 7])));
    case 9:
      return edit(`entry '${name}' gets another shape`, (h) => (h[name].shape = pick(random, [[], [0], [-1], [1.5], ['2'], [2 ** 53], [1e308], null, 'x', [...h[name].shape].reverse().concat(1)])));
    case 10:
      return edit(`entry '${name}' moves`, (h) => (h[name].data_offsets = h[name].data_offsets.map((o: number) => o + pick(random, [-4, 4, 1, -1, 2 ** 40]))));
    default: {
      const structural: [string, (h: Record<string, any>) => void, string?][] = [
        ['a byte-order mark before the header', () => undefined, '\uFEFF'],
        ['__metadata__ as an array', (h) => (h.__metadata__ = ['pt'])],
        ['__metadata__ with a number', (h) => (h.__metadata__ = { n: 1 })],
        ['__metadata__ as null', (h) => (h.__metadata__ = null)],
        [`'${name}' also with the transformer. prefix`, (h) => (h[`transformer.${name}`] = h[name])],
        [`'${name}' removed`, (h) => delete h[name]],
        [`'${name}' renamed`, (h) => ((h[`${name}x`] = h[name]), delete h[name])],
        [`'${name}' with an extra field`, (h) => (h[name].extra = 1)],
        [`'${name}' as an array`, (h) => (h[name] = [h[name]])],
        ['the header as an array', (h) => Object.assign(h, { length: 1 })],
      ];
      const [what, change, prefix] = pick(random, structural);
      return edit(what, change, prefix);
    }
  }
}

const SWITCH_DEFAULTS: Record<string, unknown> = {
  scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false, add_cross_attention: false, tie_word_embeddings: true,
};
const SIZES = ['vocab_size', 'n_positions', 'n_embd', 'n_layer'];

/** The oracle for a config: the sizes of the fixture's weights, n_head dividing n_embd, GPT-2's activation and switches. */
export function configIsValid(bytes: Uint8Array): boolean {
  const { configJson } = original();
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return false;
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
  const own = (k: string) => (Object.hasOwn(c, k) ? c[k] : undefined);
  if (SIZES.some((k) => own(k) !== configJson[k])) return false;
  const heads = own('n_head');
  if (!Number.isSafeInteger(heads) || (heads as number) < 1 || (configJson.n_embd as number) % (heads as number) !== 0) return false;
  const eps = own('layer_norm_epsilon');
  if (eps !== undefined && !(typeof eps === 'number' && eps > 0 && Number.isFinite(eps))) return false;
  if (Object.hasOwn(c, 'activation_function') && !['gelu_new', 'gelu_pytorch_tanh'].includes(c.activation_function as string)) return false;
  const inner = own('n_inner');
  if (inner !== undefined && inner !== null && inner !== 4 * (configJson.n_embd as number)) return false;
  if (Object.entries(SWITCH_DEFAULTS).some(([k, v]) => own(k) !== undefined && own(k) !== v)) return false;
  const pruned = own('pruned_heads');
  if (pruned !== undefined && !(typeof pruned === 'object' && pruned !== null && !Array.isArray(pruned) && Object.keys(pruned).length === 0)) return false;
  return true;
}

const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -0, 2 ** 53, '96', [], {}, [96], 'gelu', 1e-5, 1e-300, 4, 6, 8, 3, 384];

function configCase(random: Random): CheckpointCase {
  const { configJson, config, model } = original();
  const make = (what: string, bytes: Uint8Array): CheckpointCase => ({ family: 'config', what, config: bytes, model, valid: configIsValid(bytes) });
  const keys = [...Object.keys(configJson), ...Object.keys(SWITCH_DEFAULTS), 'pruned_heads', 'n_ctx', '__proto__', 'constructor'];
  switch (int(random, 5)) {
    case 0: {
      const bytes = new Uint8Array(config);
      const flips = 1 + int(random, 3);
      for (let i = 0; i < flips; i++) flipBit(bytes, int(random, bytes.length), random);
      return make(`${flips} bit flips`, bytes);
    }
    case 1: {
      const key = pick(random, keys);
      const c = { ...configJson };
      delete c[key];
      return make(`'${key}' left out`, encode(JSON.stringify(c)));
    }
    case 2:
    case 3: {
      const key = pick(random, keys);
      const value = pick(random, [...ODD_VALUES, { 0: [1] }, 'gelu_new', 'relu', null]);
      return make(`'${key}': ${JSON.stringify(value)}`, encode(JSON.stringify({ ...configJson, [key]: value })));
    }
    default:
      return make('not an object', encode(pick(random, ['[]', 'null', '7', '"x"', '', '{', '\uFEFF{}', '{"n_layer": 1e999}'])));
  }
}

function idsCase(random: Random): IdsCase {
  const texts: (() => string)[] = [
    () => JSON.stringify(Array.from({ length: 1 + int(random, 8) }, () => int(random, VOCAB))),
    () => JSON.stringify(Array.from({ length: 1 + int(random, 4) }, () => pick(random, ODD_VALUES.concat([VOCAB, VOCAB - 1, 1e9, '__proto__'])))),
    () => pick(random, ['', '[]', '[1,', '{"0":1}', '__proto__', '1', '[[1]]', '[1]x', '[1e400]', '[-0]', '[0x1]', '[ 1 , 2 ]', 'null', '[null]']),
    () => String.fromCharCode(...Array.from({ length: int(random, 12) }, () => int(random, 128))),
  ];
  const text = pick(random, texts)();
  return { family: 'ids', what: `ids ${JSON.stringify(text).slice(0, 40)}`, text, valid: idsAreValid(text) };
}

/** The oracle for an id list: a non-empty JSON array of whole numbers in 0..V-1. */
function idsAreValid(text: string): boolean {
  try {
    const ids = JSON.parse(text) as unknown;
    return Array.isArray(ids) && ids.length > 0 && ids.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB);
  } catch {
    return false;
  }
}

/** A runner's answer for a golden of shape [2,3]: the golden itself, or one of the ways an answer can be wrong. */
function answerCase(random: Random): AnswerCase {
  const golden = float64([2, 3], Array.from({ length: 6 }, () => random() * 4 - 2));
  const data = golden.data;
  const at = int(random, 6);
  const changedAt = (value: number) => float64([2, 3], Array.from(data, (v, i) => (i === at ? value : v)));
  const wrong: [string, () => unknown][] = [
    ['null', () => null],
    ['undefined', () => undefined],
    ['a number', () => 1],
    ['a plain array', () => Array.from(data)],
    ['data as a plain array', () => ({ dtype: 'float64', shape: [2, 3], data: Array.from(data) })],
    ['a transposed shape', () => ({ dtype: 'float64', shape: [3, 2], data: data.slice() })],
    ['a flat shape', () => ({ dtype: 'float64', shape: [6], data: data.slice() })],
    ['data one element short', () => ({ dtype: 'float64', shape: [2, 3], data: data.slice(0, 5) })],
    ['data one element long', () => ({ dtype: 'float64', shape: [2, 3], data: Float64Array.from([...Array.from(data), 0]) })],
    ['a dtype that does not match its data', () => ({ dtype: 'float32', shape: [2, 3], data: data.slice() })],
    ['an unknown dtype', () => ({ dtype: 'float16', shape: [2, 3], data: data.slice() })],
    ['an int32 tensor', () => int32([2, 3], Array.from(data, Math.round))],
    ['a NaN', () => changedAt(NaN)],
    ['an Infinity', () => changedAt(Infinity)],
    ['a value off by 1', () => changedAt(data[at]! + 1)],
    ['a shape with a string', () => ({ dtype: 'float64', shape: ['2', 3], data: data.slice() })],
    ['a shape with a fraction', () => ({ dtype: 'float64', shape: [1.5, 4], data: data.slice() })],
    ['no shape', () => ({ dtype: 'float64', data: data.slice() })],
  ];
  if (random() < 0.15) return { family: 'answer', what: 'the golden itself, as float32', answer: float32([2, 3], data), golden, valid: true };
  if (random() < 0.05) {
    const whole = float64([2, 3], [1, 2, 3, 4, 5, 6]);
    return { family: 'answer', what: 'an int32 answer to a float golden of whole numbers', answer: int32([2, 3], whole.data), golden: whole, valid: false };
  }
  const [what, make] = pick(random, wrong);
  return { family: 'answer', what: `an answer that is ${what}`, answer: make(), golden, valid: false };
}

/** `count` cases from one seed, the families in turn. */
export function* fuzzCases(count: number, seed: number): Generator<FuzzCase> {
  const random = seededRandom(seed);
  const families = [safetensorsCase, safetensorsCase, configCase, idsCase, answerCase];
  for (let i = 0; i < count; i++) yield families[i % families.length]!(random);
}

/**
 * Loading a Hugging Face GPT-2 checkpoint directory, laid out as the Hub lays it out:
 * `config.json` (GPT2Config) and `model.safetensors`. Every problem gets a CheckpointError that names it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Config, Gpt2Weights, Tensor } from '../contract';
import { CheckpointError, Gpt2SpecError } from '../errors';
import { formatShape } from '../tensor';
import { readSafetensors } from './safetensors';

/** The activations that are GPT-2's tanh-approximated GELU under another name. */
const TANH_GELU = new Set(['gelu_new', 'gelu_pytorch_tanh']);

/** GPT2Config JSON -> Gpt2Config, with HF's defaults for the optional fields. */
export function parseConfig(json: unknown, source = 'config.json'): Gpt2Config {
  if (typeof json !== 'object' || json === null) throw new CheckpointError(`${source}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const whole = (key: string): number => {
    const v = c[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new CheckpointError(`${source}: '${key}' must be a whole number ≥ 1, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const config: Gpt2Config = {
    vocabSize: whole('vocab_size'),
    nPositions: whole('n_positions'),
    nEmbd: whole('n_embd'),
    nLayer: whole('n_layer'),
    nHead: whole('n_head'),
    layerNormEpsilon: (c.layer_norm_epsilon ?? 1e-5) as number,
  };
  if (typeof config.layerNormEpsilon !== 'number' || !(config.layerNormEpsilon > 0)) {
    throw new CheckpointError(`${source}: 'layer_norm_epsilon' must be a number > 0, got ${JSON.stringify(c.layer_norm_epsilon)}`);
  }
  if (config.nEmbd % config.nHead !== 0) throw new CheckpointError(`${source}: n_embd ${config.nEmbd} is not divisible by n_head ${config.nHead}`);
  const activation = c.activation_function ?? 'gelu_new';
  if (typeof activation !== 'string' || !TANH_GELU.has(activation)) {
    throw new CheckpointError(`${source}: unsupported activation_function ${JSON.stringify(activation)}: GPT-2 uses gelu_new (the tanh GELU)`);
  }
  if (c.n_inner !== undefined && c.n_inner !== null && c.n_inner !== 4 * config.nEmbd) {
    throw new CheckpointError(`${source}: n_inner ${JSON.stringify(c.n_inner)} is not supported: GPT-2's feed-forward width is 4·n_embd = ${4 * config.nEmbd}`);
  }
  return config;
}

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

/**
 * Builds Gpt2Weights from named tensors: strips a `transformer.` prefix, drops the mask buffers and a tied
 * `lm_head.weight`, and checks that exactly the expected tensors are there with the expected shapes.
 */
export function weightsFromTensors(config: Gpt2Config, named: Iterable<[string, () => Tensor]>, source = 'checkpoint'): Gpt2Weights {
  const expected = expectedShapes(config);
  const found = new Map<string, () => Tensor>();
  let lmHead: (() => Tensor) | undefined;
  for (const [rawName, get] of named) {
    const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
    if (IGNORED.test(name)) continue;
    if (name === 'lm_head.weight') {
      lmHead = get;
      continue;
    }
    if (!expected.has(name)) throw new CheckpointError(`${source}: unexpected tensor '${rawName}' for a ${config.nLayer}-layer GPT-2`);
    found.set(name, get);
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new CheckpointError(`${source}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((n) => `'${n}'`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  const cache = new Map<string, Tensor>();
  const get = (name: string): Tensor => {
    let t = cache.get(name);
    if (t) return t;
    const load = found.get(name);
    if (!load) throw new CheckpointError(`${source}: no tensor named '${name}'`);
    t = load();
    const want = expected.get(name)!;
    if (t.dtype === 'int32') throw new CheckpointError(`${source}: '${name}' is an integer tensor; weights must be floating point`);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new CheckpointError(`${source}: '${name}' has shape ${formatShape(t.shape)}, but the config needs ${formatShape(want)}`);
    }
    cache.set(name, t);
    return t;
  };
  for (const name of expected.keys()) get(name); // check every shape now, not at first use
  if (lmHead) checkTied(lmHead(), get('wte.weight'), source);
  return { config, names: () => [...expected.keys()], get };
}

/** GPT-2's LM head is wte itself; a checkpoint that stores a different lm_head.weight is not this model. */
function checkTied(lmHead: Tensor, wte: Tensor, source: string): void {
  const same = lmHead.shape.length === 2 && lmHead.shape[0] === wte.shape[0] && lmHead.shape[1] === wte.shape[1] && lmHead.data.every((v, i) => v === wte.data[i]);
  if (!same) throw new CheckpointError(`${source}: lm_head.weight differs from wte.weight, but GPT-2 ties them`);
}

/** Weights held in memory, e.g. built by code; checked like a checkpoint. */
export function weightsFromRecord(config: Gpt2Config, tensors: Record<string, Tensor>, source = 'weights'): Gpt2Weights {
  return weightsFromTensors(config, Object.entries(tensors).map(([n, t]) => [n, () => t]), source);
}

/** Loads `config.json` and `model.safetensors` from a checkpoint directory. */
export function loadCheckpoint(dir: string): Gpt2Weights {
  const configPath = join(dir, 'config.json');
  const modelPath = join(dir, 'model.safetensors');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: no such checkpoint directory`);
  for (const p of [configPath, modelPath]) if (!existsSync(p)) throw new CheckpointError(`${dir}: missing ${p.slice(dir.length + 1)}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  const config = parseConfig(json, configPath);
  try {
    const file = readSafetensors(readFileSync(modelPath), modelPath);
    return { ...weightsFromTensors(config, file.names().map((n) => [n, () => file.get(n)]), modelPath), dir };
  } catch (e) {
    if (e instanceof Gpt2SpecError) throw e;
    throw new CheckpointError(`${modelPath}: ${(e as Error).message}`);
  }
}

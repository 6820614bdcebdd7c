/**
 * GPT2Config JSON and Gpt2Config, both ways. No file access here: a runner inside a browser page reads
 * the config it is sent with this same code.
 */
import type { Gpt2Config } from '../contract';
import { CheckpointError } from '../errors';

/** The activations that are GPT-2's tanh-approximated GELU under another name. */
const TANH_GELU = new Set(['gelu_new', 'gelu_pytorch_tanh']);

/**
 * GPT2Config's switches that change what the model computes, with the one value GPT-2 has. The reference
 * and every built-in runner compute only that model, so any other value is refused rather than ignored.
 */
const FIXED_SWITCHES: [key: string, value: boolean, why: string][] = [
  ['scale_attn_weights', true, 'GPT-2 scales attention scores by 1/√d_head'],
  ['scale_attn_by_inverse_layer_idx', false, 'GPT-2 does not scale scores by 1/(layer + 1)'],
  ['reorder_and_upcast_attn', false, "GPT-2's attention is computed in the model's own precision"],
  ['add_cross_attention', false, 'GPT-2 is a decoder without cross-attention'],
  ['tie_word_embeddings', true, 'GPT-2 ties its LM head to wte'],
];

/** GPT2Config JSON -> Gpt2Config, with HF's defaults for the optional fields. */
export function parseConfig(json: unknown, source = 'config.json'): Gpt2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${source}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const field = (key: string): unknown => (Object.hasOwn(c, key) ? c[key] : undefined);
  const whole = (key: string): number => {
    const v = field(key);
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new CheckpointError(`${source}: '${key}' must be a whole number ≥ 1, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const config: Gpt2Config = {
    vocabSize: whole('vocab_size'),
    nPositions: whole('n_positions'),
    nEmbd: whole('n_embd'),
    nLayer: whole('n_layer'),
    nHead: whole('n_head'),
    layerNormEpsilon: (Object.hasOwn(c, 'layer_norm_epsilon') ? c.layer_norm_epsilon : 1e-5) as number, // null is not the default: HF cannot build it
  };
  if (typeof config.layerNormEpsilon !== 'number' || !(config.layerNormEpsilon > 0) || !Number.isFinite(config.layerNormEpsilon)) {
    throw new CheckpointError(`${source}: 'layer_norm_epsilon' must be a finite number > 0, got ${JSON.stringify(field('layer_norm_epsilon'))}`);
  }
  if (config.nEmbd % config.nHead !== 0) throw new CheckpointError(`${source}: n_embd ${config.nEmbd} is not divisible by n_head ${config.nHead}`);
  // Absent means HF's default, gelu_new; null is no activation at all, which HF cannot build either.
  const activation = Object.hasOwn(c, 'activation_function') ? c.activation_function : 'gelu_new';
  if (typeof activation !== 'string' || !TANH_GELU.has(activation)) {
    throw new CheckpointError(`${source}: unsupported activation_function ${JSON.stringify(activation)}: GPT-2 uses gelu_new (the tanh GELU)`);
  }
  const inner = field('n_inner');
  if (inner !== undefined && inner !== null && inner !== 4 * config.nEmbd) {
    throw new CheckpointError(`${source}: n_inner ${JSON.stringify(inner)} is not supported: GPT-2's feed-forward width is 4·n_embd = ${4 * config.nEmbd}`);
  }
  for (const [key, value, why] of FIXED_SWITCHES) {
    const v = field(key);
    if (v === undefined || v === value) continue;
    if (typeof v !== 'boolean') throw new CheckpointError(`${source}: '${key}' must be true or false, got ${JSON.stringify(v)}`);
    throw new CheckpointError(`${source}: '${key}: ${v}' is not supported: ${why}, and that is the only model the runners compute`);
  }
  const pruned = field('pruned_heads');
  if (pruned !== undefined && !(isEmptyObject(pruned))) {
    throw new CheckpointError(`${source}: 'pruned_heads' ${JSON.stringify(pruned)} is not supported: every layer must keep all ${config.nHead} heads`);
  }
  return config;
}

const isEmptyObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** Gpt2Config -> config.json as Hugging Face's GPT2Config writes it: parseConfig's inverse, and what from_pretrained reads. */
export function hfConfigJson(c: Gpt2Config): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    layer_norm_epsilon: c.layerNormEpsilon,
    activation_function: 'gelu_new',
    tie_word_embeddings: true,
  };
}

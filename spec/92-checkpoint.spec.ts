/**
 * Loading a Hugging Face GPT-2 checkpoint: config.json and model.safetensors, with or without the
 * `transformer.` prefix, without the attention-mask buffers. Anything that is not a GPT-2 of the
 * configured size gets a CheckpointError that names the tensor or field.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../runners/contract';
import { CheckpointError } from '../runners/errors';
import { float32, float64 } from '../runners/tensor';
import { expectedShapes, loadCheckpoint, parseConfig, weightsFromRecord } from '../runners/weights/checkpoint';
import { openSafetensors, writeSafetensors } from '../runners/weights/safetensors';
import { writeSeededCheckpoint } from '../runners/weights/seeded-checkpoint';
import { checkUnchanged, storedTensor } from '../runners/weights/stored';
import { mkfifoSync } from './support/fifo';
import { fixturesDir, loadManifest, modelNames } from './support/fixtures';
import { tempDir } from './support/temp';

const name = () => modelNames()[0]!;
const fixtureWeights = () => loadCheckpoint(join(fixturesDir(), loadManifest().models[name()]!.path));
let tensors: Record<string, Tensor> | undefined; // read once: the tests change copies of this record, never its tensors
const all = (): Record<string, Tensor> => {
  if (!tensors) {
    const w = fixtureWeights();
    tensors = Object.fromEntries(w.names().map((n) => [n, w.get(n)]));
  }
  return { ...tensors };
};
const hfConfig = () => {
  const c = loadManifest().models[name()]!.config;
  return { n_layer: c.nLayer, n_head: c.nHead, n_embd: c.nEmbd, n_positions: c.nPositions, vocab_size: c.vocabSize, layer_norm_epsilon: c.layerNormEpsilon, activation_function: 'gelu_new' };
};

function checkpointDir(config: unknown, tensors: Record<string, Tensor>): string {
  const dir = tempDir('gpt2-spec-ckpt-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
  return dir;
}

describe('A GPT-2 checkpoint is config.json plus model.safetensors', () => {
  it('loads every fixture model with the config the manifest states', () => {
    for (const m of modelNames()) {
      const w = loadCheckpoint(join(fixturesDir(), loadManifest().models[m]!.path));
      expect(w.config).toEqual(loadManifest().models[m]!.config);
      expect(w.names().sort()).toEqual([...expectedShapes(w.config).keys()].sort());
    }
  });

  it('accepts names with the transformer. prefix and without, and ignores the mask buffers and a tied lm_head', () => {
    const tensors = all();
    const prefixed = Object.fromEntries(Object.entries(tensors).map(([n, t]) => [`transformer.${n}`, t]));
    prefixed['transformer.h.0.attn.bias'] = float32([1, 1, 2, 2]);
    prefixed['lm_head.weight'] = tensors['wte.weight']!;
    const w = loadCheckpoint(checkpointDir(hfConfig(), prefixed));
    expect(w.get('h.0.ln_1.weight').data).toEqual(tensors['h.0.ln_1.weight']!.data);
  });

  it('accepts F16, BF16 and F64 tensors, and names without a prefix, as Hub checkpoints come', () => {
    const mixed = loadCheckpoint(join(fixturesDir(), 'safetensors', 'gpt2-mini-mixed'));
    const original = loadCheckpoint(join(fixturesDir(), loadManifest().models['gpt2-mini']!.path));
    expect(mixed.config).toEqual(original.config);
    // Each tensor was rounded from the F32 original by Python: within half an ulp of its storage dtype.
    const halfUlp: [RegExp, number, number][] = [
      [/^(wte\.|h\.0\.)/, 2 ** -11, 2 ** -25], // F16, with its subnormal spacing
      [/^(wpe\.|h\.1\.)/, 2 ** -8, 0], // BF16
      [/^ln_f\./, 0, 0], // F64 holds the F32 value exactly
    ];
    for (const name of original.names()) {
      const [, rel, abs] = halfUlp.find(([p]) => p.test(name)) ?? [/./, 0, 0];
      const a = mixed.get(name).data;
      const e = original.get(name).data;
      for (let i = 0; i < e.length; i++) {
        if (!(Math.abs(a[i]! - e[i]!) <= rel * Math.abs(e[i]!) + abs)) throw new Error(`${name}[${i}]: ${a[i]} is not ${e[i]} rounded`);
      }
    }
  });

  describe('names what is wrong with a checkpoint that is not GPT-2', () => {
    it('a missing tensor', () => {
      const tensors = all();
      delete tensors['h.0.mlp.c_fc.bias'];
      expect(() => weightsFromRecord(parseConfig(hfConfig()), tensors)).toThrow(/missing tensor 'h.0.mlp.c_fc.bias'/);
    });
    it('an extra tensor', () => {
      expect(() => weightsFromRecord(parseConfig(hfConfig()), { ...all(), 'h.0.attn.rotary': float32([2]) })).toThrow(/unexpected tensor 'h.0.attn.rotary'/);
    });
    it('a tensor whose shape disagrees with the config', () => {
      expect(() => weightsFromRecord(parseConfig(hfConfig()), { ...all(), 'ln_f.bias': float32([3]) })).toThrow(/'ln_f.bias' has shape \[3\]/);
    });
    it('an lm_head that is not tied to wte', () => {
      const tensors = all();
      const untied = float32(tensors['wte.weight']!.shape, tensors['wte.weight']!.data.map((v) => v + 1));
      expect(() => weightsFromRecord(parseConfig(hfConfig()), { ...tensors, 'lm_head.weight': untied })).toThrow(/lm_head.weight differs from wte.weight/);
    });
    it('an activation other than the tanh GELU', () => {
      expect(() => parseConfig({ ...hfConfig(), activation_function: 'relu' })).toThrow(/unsupported activation_function "relu"/);
    });
    it('a config field that is missing or not a whole number', () => {
      const { n_head: _, ...noHead } = hfConfig();
      expect(() => parseConfig(noHead)).toThrow(/'n_head' must be a whole number/);
      expect(() => parseConfig({ ...hfConfig(), n_embd: 10.5 })).toThrow(/'n_embd'/);
    });
    it('a head count that does not divide the width', () => {
      expect(() => parseConfig({ ...hfConfig(), n_head: 7 })).toThrow(/not divisible/);
    });
    it('a directory without the two files', () => {
      expect(() => loadCheckpoint(tempDir('gpt2-spec-empty-'))).toThrow(/missing config.json/);
      expect(() => loadCheckpoint('/nonexistent/gpt2')).toThrow(CheckpointError);
    });
    it('a tensor with the transformer. prefix and without, both in one file', () => {
      const tensors = all();
      const twice = { ...tensors, 'transformer.ln_f.bias': tensors['ln_f.bias']! };
      expect(() => loadCheckpoint(checkpointDir(hfConfig(), twice))).toThrow(/'ln_f.bias' and 'transformer.ln_f.bias' are the same tensor/);
    });
    it('a config.json that is not JSON', () => {
      const dir = checkpointDir(hfConfig(), all());
      writeFileSync(join(dir, 'config.json'), '{');
      expect(() => loadCheckpoint(dir)).toThrow(/config.json: not valid JSON/);
    });
  });

  describe('refuses NaN and ±Inf where they enter, naming the tensor and the first bad element', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      it(`a weight that is ${bad}`, () => {
        const tensors = all();
        const w = tensors['h.0.mlp.c_fc.weight']!;
        const poisoned = float32(w.shape, w.data);
        poisoned.data[w.shape[1]! + 2] = bad;
        const dir = checkpointDir(hfConfig(), { ...tensors, 'h.0.mlp.c_fc.weight': poisoned });
        expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
        expect(() => loadCheckpoint(dir)).toThrow(`'h.0.mlp.c_fc.weight' holds ${bad} at index [1,2]`);
      });
    }
  });

  describe('refuses each GPT2Config switch that would make HF compute another model, naming the field', () => {
    const switches: [string, unknown][] = [
      ['scale_attn_weights', false],
      ['scale_attn_by_inverse_layer_idx', true],
      ['reorder_and_upcast_attn', true],
      ['add_cross_attention', true],
      ['tie_word_embeddings', false],
    ];
    for (const [key, value] of switches) {
      it(`${key}: ${value}`, () => {
        expect(() => parseConfig({ ...hfConfig(), [key]: value })).toThrow(`'${key}: ${value}' is not supported`);
      });
      it(`${key} given as something other than true or false`, () => {
        expect(() => parseConfig({ ...hfConfig(), [key]: 'yes' })).toThrow(`'${key}' must be true or false`);
      });
    }
    it('keeps the GPT-2 values of those switches, given or left out', () => {
      const gpt2 = { scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false, n_inner: null };
      expect(parseConfig({ ...hfConfig(), ...gpt2 })).toEqual(parseConfig(hfConfig()));
    });
    it('activation_function: null, which is no activation at all', () => {
      expect(() => parseConfig({ ...hfConfig(), activation_function: null })).toThrow(/unsupported activation_function null/);
    });
    it('a layer_norm_epsilon that is not finite, or null', () => {
      expect(() => parseConfig({ ...hfConfig(), layer_norm_epsilon: 1e999 })).toThrow(/'layer_norm_epsilon' must be a finite number > 0/);
      expect(() => parseConfig({ ...hfConfig(), layer_norm_epsilon: null })).toThrow(/'layer_norm_epsilon' must be a finite number > 0, got null/);
    });
    it('pruned heads', () => {
      expect(() => parseConfig({ ...hfConfig(), pruned_heads: { 0: [1] } })).toThrow(/'pruned_heads' .* is not supported/);
    });
  });

  describe('checks sizes against the file before allocating anything', () => {
    it('refuses n_layer = 10⁸ from the counts alone, without listing 10⁹ tensor names', () => {
      const dir = checkpointDir({ ...hfConfig(), n_layer: 1e8 }, all());
      expect(() => loadCheckpoint(dir)).toThrow(/100000000 layers need 1200000004 tensors, but the file holds only \d+/);
    });
  });

  describe('refuses files that are not regular files, at once', () => {
    for (const file of ['config.json', 'model.safetensors']) {
      it(`a FIFO as ${file}`, () => {
        const dir = checkpointDir(hfConfig(), all());
        rmSync(join(dir, file));
        mkfifoSync(join(dir, file));
        expect(() => loadCheckpoint(dir)).toThrow(/is not a regular file/);
      });
    }
    it('a config.json with a byte-order mark, which JSON does not allow', () => {
      const dir = checkpointDir(hfConfig(), all());
      writeFileSync(join(dir, 'config.json'), `\uFEFF${JSON.stringify(hfConfig())}`);
      expect(() => loadCheckpoint(dir)).toThrow(/config.json: not valid JSON/);
    });
  });

  it('keeps no copy of the weights: each get() reads the tensor from the file again, for the runner to own', () => {
    const w = fixtureWeights();
    expect(w.get('wte.weight').data).not.toBe(w.get('wte.weight').data);
    expect(w.get('wte.weight').data).toEqual(w.get('wte.weight').data);
  });
});

describe('A loaded checkpoint says where each tensor lies in its file, for a runner that reads it in place', () => {
  it('gives each tensor\'s file, dtype, shape and byte range: the bytes there are the tensor get() returns', () => {
    const tensors = all();
    const prefixed = Object.fromEntries(Object.entries(tensors).map(([n, t]) => [`transformer.${n}`, t]));
    for (const record of [tensors, prefixed]) {
      const dir = checkpointDir(hfConfig(), record);
      const w = loadCheckpoint(dir);
      const file = readFileSync(join(dir, 'model.safetensors'));
      for (const n of w.names()) {
        const s = storedTensor(w, n)!;
        const t = w.get(n);
        expect([s.path, s.dtype, s.shape]).toEqual([join(dir, 'model.safetensors'), 'F32', t.shape]);
        expect(file.subarray(s.offset, s.offset + s.length).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
      }
      expect(storedTensor(w, 'lm_head.weight')).toBeUndefined();
    }
  });

  it('knows it only for the weights loadCheckpoint returned: not for a copy of them, nor for weights built in memory', () => {
    const w = loadCheckpoint(checkpointDir(hfConfig(), all()));
    expect(storedTensor(w, 'wte.weight')).toBeDefined();
    expect(storedTensor({ ...w }, 'wte.weight')).toBeUndefined();
    expect(storedTensor(weightsFromRecord(w.config, all()), 'wte.weight')).toBeUndefined();
  });

  it('tells a changed file from the one it opened: written to, replaced, removed', () => {
    const dir = checkpointDir(hfConfig(), all());
    const path = join(dir, 'model.safetensors');
    const s = storedTensor(loadCheckpoint(dir), 'wte.weight')!;
    expect(() => checkUnchanged(path, s.stamp, 'this test')).not.toThrow();
    const bytes = readFileSync(path);
    writeFileSync(path, bytes);
    expect(() => checkUnchanged(path, s.stamp, 'this test')).toThrow(CheckpointError);
    expect(() => checkUnchanged(path, s.stamp, 'this test')).toThrow(/model\.safetensors: this test reads its tensors from this file, and it changed since it was loaded \(it was written to\)/);
    rmSync(path);
    expect(() => checkUnchanged(path, s.stamp, 'this test')).toThrow(/cannot be read any more \(ENOENT\)/);
  });
});

describe('The finiteness check scans a checkpoint file in chunks, without a copy of each tensor', () => {
  it('finds the first NaN or ±Inf of F32, F64, F16 and BF16 tensors wherever it lies, past the first chunk too', () => {
    const n = 600_000; // more than two chunks of 2¹⁸ elements
    const at = 2 ** 18 * 2 + 7;
    const poisoned = (value: number) => {
      const t = float32([n]);
      t.data[at] = value;
      t.data[at + 1] = NaN; // only the first is reported
      return t;
    };
    const dir = tempDir('gpt2-spec-scan-');
    const path = join(dir, 'scan.safetensors');
    writeFileSync(path, writeSafetensors({ nan: poisoned(NaN), inf: poisoned(-Infinity), clean: float32([n]), wide: float64([n], Array.from(poisoned(Infinity).data)) }));
    const file = openSafetensors(path);
    expect(file.firstNonFinite!('nan')).toEqual({ index: at, value: NaN });
    expect(file.firstNonFinite!('inf')).toEqual({ index: at, value: -Infinity });
    expect(file.firstNonFinite!('wide')).toEqual({ index: at, value: Infinity });
    expect(file.firstNonFinite!('clean')).toBeUndefined();
    for (const dtype of ['F16', 'BF16'] as const) {
      // A seeded half-width checkpoint is clean; +Inf written into its wte is found, decoded, with its index.
      const config = { vocabSize: 11, nPositions: 4, nEmbd: 4, nLayer: 1, nHead: 1, layerNormEpsilon: 1e-5 };
      const seeded = tempDir('gpt2-spec-scan-');
      writeSeededCheckpoint(seeded, config, dtype);
      const half = openSafetensors(join(seeded, 'model.safetensors'));
      for (const name of half.names()) expect(half.firstNonFinite!(name)).toBeUndefined();
      const bytes = readFileSync(join(seeded, 'model.safetensors'));
      const wte = half.stored!('wte.weight');
      bytes.writeUInt16LE(dtype === 'F16' ? 0x7c00 : 0x7f80, wte.offset + 2 * 5); // +Inf in either format, at element 5
      writeFileSync(join(seeded, 'model.safetensors'), bytes);
      expect(() => loadCheckpoint(seeded)).toThrow(`'wte.weight' holds Infinity at index [1,1]; weights must be finite numbers`);
    }
  });
});

/**
 * Seeded GPT-2 checkpoints on disk, for the benchmarks: a folder that Hugging Face's from_pretrained and
 * loadCheckpoint both read (config.json in GPT2Config's names, model.safetensors in float32). The
 * safetensors file is streamed tensor by tensor, so a gpt2-xl-shaped checkpoint (6.2 GB, more than one
 * Buffer can hold) never exists in memory twice. Written at run time into a temp folder, never stored.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpt2Config, Gpt2Weights } from '../../runners/contract';
import { hfConfigJson } from '../../runners/weights/checkpoint';
import { writeAll } from '../../runners/files';
import { bytesOf } from '../../runners/onnx/graph';

/** The GPT-2 shapes of the Hub's four checkpoints. */
export const GPT2_SHAPES = {
  gpt2: { nLayer: 12, nEmbd: 768, nHead: 12 },
  'gpt2-medium': { nLayer: 24, nEmbd: 1024, nHead: 16 },
  'gpt2-large': { nLayer: 36, nEmbd: 1280, nHead: 20 },
  'gpt2-xl': { nLayer: 48, nEmbd: 1600, nHead: 25 },
} as const;
export type Gpt2Size = keyof typeof GPT2_SHAPES;

export const gpt2Config = (size: Gpt2Size): Gpt2Config => ({ vocabSize: 50257, nPositions: 1024, layerNormEpsilon: 1e-5, ...GPT2_SHAPES[size] });

/** Writes config.json and model.safetensors (float32, HF's names without the `transformer.` prefix) into dir. */
export function writeCheckpoint(dir: string, weights: Gpt2Weights): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigJson(weights.config), null, 2));
  const names = weights.names();
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of names) {
    const t = weights.get(name);
    const end = offset + t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // the data buffer starts 8-byte aligned, as HF writes it
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, length);
    writeSync(fd, json);
    for (const name of names) {
      const t = weights.get(name);
      const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
      writeAll(fd, bytesOf(data));
    }
  } finally {
    closeSync(fd);
  }
}

/** A fresh temp folder for a checkpoint, and its removal. */
export function tempCheckpointDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gpt2-spec-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A transformers.js model folder for any GPT-2's weights, written from them: config.json (Hugging Face's
 * GPT2Config keys, hfConfigJson, with transformers.js's fp32 dtype said, as scripts/fixtures/transformers_js.py
 * says it for gpt2-mini) and onnx/model.onnx, the project's own decoder export (runners/onnx/export.ts,
 * float32, every weight embedded). Its I/O names are those of Optimum's exports that transformers.js runs:
 * input_ids, position_ids and past_key_values.{i}.key/value in; logits and present.{i}.key/value out.
 *
 * The export has no attention_mask input (the graph is causal, with no padding). transformers.js does not
 * need one: its forward hands the session only the inputs the graph names, so the mask of ones the runner
 * builds (as generate() does) is left out, and it says nothing the causal graph does not already do.
 *
 * For the benchmark's GPT-2 small figure (scripts/bench-browser.ts), which no stored folder has: written
 * into a temp folder at run time, never into the fixtures. Node only (it writes files).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpt2Weights } from '../contract';
import { writeDecoder } from '../onnx/export';
import { hfConfigJson } from '../weights/config';

/** Writes `folder`/config.json and `folder`/onnx/model.onnx for these weights; returns the .onnx file's size in bytes. */
export function writeModelFolder(weights: Gpt2Weights, folder: string): number {
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  const config = { ...hfConfigJson(weights.config), 'transformers.js_config': { dtype: 'fp32' } };
  writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  // transformers.js reads the weights from model.onnx alone unless the config names a side file: embedded,
  // which writeDecoder refuses past protobuf's 2 GiB (GPT-2 small is 0.5 GB, gpt2-medium 1.4 GB).
  return writeDecoder(weights, join(folder, 'onnx', 'model.onnx'), { precision: 'float32', externalData: false }).modelBytes;
}

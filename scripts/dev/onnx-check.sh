#!/usr/bin/env bash
# Dev check (not CI) of the ONNX graphs gpt2-spec writes, with Python's own onnx and onnxruntime:
#   1. exports the full decoder of both fixture models, float32 and float64, with scripts/export-onnx.ts, each
#      with its weights embedded and again as external data (--external-data, into external/);
#   2. computes, with our onnx runner in Node, the logits and presents of a prompt (empty past) and of a
#      cached step after it, and saves them beside each .onnx file;
#   3. runs scripts/dev/onnx-check.py: onnx.checker.check_model(full_check=True) on every file, then Python
#      onnxruntime on it, which must reproduce our saved logits and the fixtures' HF float64 goldens.
# Usage: bash scripts/dev/onnx-check.sh [KEEP_DIR]   (files go to a temp dir, removed unless KEEP_DIR is given)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "onnx-check: no $PY (run npm run fixtures:venv)" >&2; exit 2; }
OUT="${1:-$(mktemp -d -t gpt2-onnx-check-XXXXXX)}"
mkdir -p "$OUT"
[ -n "${1:-}" ] || trap 'rm -rf "$OUT"' EXIT

for model in gpt2-tiny gpt2-mini; do
  for precision in float32 float64; do
    node -r esbuild-register scripts/export-onnx.ts --weights "fixtures/models/$model" --out "$OUT/$model-$precision.onnx" --precision "$precision"
    node -r esbuild-register scripts/export-onnx.ts --weights "fixtures/models/$model" --out "$OUT/external/$model-$precision.onnx" --precision "$precision" --external-data
  done
done

# Our runner's outputs for the same steps the Python side runs: ids, positions, logits and presents, per step.
cat > "$OUT/ours.ts.in" <<'TS'
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tensor } from '__REPO__/runners/contract';
import { createOnnxRunner } from '__REPO__/runners/onnx';
import { int32 } from '__REPO__/runners/tensor';
import { loadCheckpoint } from '__REPO__/runners/weights/checkpoint';
import { writeSafetensors } from '__REPO__/runners/weights/safetensors';

const out = process.argv[2]!;
(async () => {
  for (const model of ['gpt2-tiny', 'gpt2-mini']) {
    const weights = loadCheckpoint(resolve('__REPO__/fixtures/models', model));
    const V = weights.config.vocabSize;
    const prompt = int32([2, 6], Array.from({ length: 12 }, (_, i) => (i * 7919 + 13) % V));
    const step = int32([2, 2], Array.from({ length: 4 }, (_, i) => (i * 104729 + 5) % V));
    for (const precision of ['float32', 'float64'] as const) {
      const runner = createOnnxRunner({ precision, contrib: false }); // the exported file's graph: standard operators
      await runner.load(weights);
      const first = await runner.forward(prompt);
      const second = await runner.forward(step, first.present);
      const tensors: Record<string, Tensor> = { 'step0.input_ids': prompt, 'step1.input_ids': step, 'step0.logits': first.logits, 'step1.logits': second.logits };
      first.present.keys.forEach((k, i) => { tensors[`step0.present.${i}.key`] = k; tensors[`step0.present.${i}.value`] = first.present.values[i]!; });
      second.present.keys.forEach((k, i) => { tensors[`step1.present.${i}.key`] = k; tensors[`step1.present.${i}.value`] = second.present.values[i]!; });
      writeFileSync(join(out, `${model}-${precision}.ours.safetensors`), writeSafetensors(tensors, { backend: runner.backend }));
      await runner.dispose();
    }
  }
})();
TS
sed "s|__REPO__|$PWD|g" "$OUT/ours.ts.in" > "$OUT/ours.ts"
node -r esbuild-register "$OUT/ours.ts" "$OUT"

"$PY" scripts/dev/onnx-check.py "$OUT"

#!/usr/bin/env bash
# gpt2-spec as someone else's dependency: packs the package, installs the tarball into a fresh project
# (from the npm cache where it can, --prefer-offline, with no other flag or variable), and runs every command there, with an adapter of that
# project's own that imports gpt2-spec (ESM and CommonJS, TypeScript and JavaScript) and a package of its own.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpt2-spec-consumer-XXXXXX")"
[ -n "${GPT2_SPEC_KEEP_CONSUMER:-}" ] || trap 'rm -rf "$work"' EXIT
fail() { echo "consumer-test: $*" >&2; exit 1; }

step() { echo "consumer-test: $*"; }
step "pack"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -1)"
project="$work/project"
mkdir -p "$project/cjs"
cd "$project"
npm init -y > /dev/null
step "install $tarball"
npm install "$work/$tarball" --prefer-offline --no-audit --no-fund 2> "$work/install.log" || { cat "$work/install.log" >&2; fail "npm install failed"; }
if grep -i "unknown.*config" "$work/install.log"; then fail "npm warned about a config key"; fi

# A package of the project's own, that the adapter imports (after the install, which would remove it).
mkdir -p node_modules/own-math
echo '{ "name": "own-math", "version": "1.0.0", "main": "index.js" }' > node_modules/own-math/package.json
echo 'exports.addRows = (out, o, a, ai, b, bi, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i] + b[bi + i]; };' > node_modules/own-math/index.js

# A TypeScript adapter that offers only the embedding: defineAdapter says "not exposed" for the rest.
cat > adapter.ts <<'TS'
import { defineAdapter, float64, type Gpt2Weights, type Tensor, type PartialRunner } from 'gpt2-spec';
import { addRows } from 'own-math';

function ownEmbedding(): PartialRunner {
  let w: Gpt2Weights;
  return {
    name: 'own-embedding',
    backend: 'own-math (float64)',
    async load(weights: Gpt2Weights) { w = weights; },
    async embed(ids: Tensor, pastLength = 0) {
      const [B, T] = ids.shape, { nEmbd: D, vocabSize, nPositions } = w.config;
      const wte = w.get('wte.weight').data, wpe = w.get('wpe.weight').data, out = float64([B, T, D]);
      for (let i = 0; i < B * T; i++) {
        const id = ids.data[i], pos = pastLength + (i % T);
        if (id < 0 || id >= vocabSize) throw Object.assign(new Error(`id ${id}`), { name: 'TokenIdError' });
        if (pos >= nPositions) throw Object.assign(new Error('too long'), { name: 'SequenceTooLongError' });
        addRows(out.data, i * D, wte, id * D, wpe, pos * D, D);
      }
      return out;
    },
  };
}
export default defineAdapter({ name: 'own-embedding', runner: ownEmbedding });
TS
echo 'declare module "own-math" { export function addRows(...a: unknown[]): void }' > own-math.d.ts

step "check --runner adapter.ts"
npx gpt2-spec check --runner ./adapter.ts --only embed --json "$work/report.json" > "$work/check.log" 2>&1 || { cat "$work/check.log"; fail "check failed"; }
grep -Eq 'own-embedding +PASS' "$work/check.log" || { cat "$work/check.log"; fail "the adapter did not pass"; }
node -e 'const r = require(process.argv[1]); if (!r.runners.some((x) => x.name === "own-embedding" && x.notExposed.includes("mlp"))) process.exit(1)' "$work/report.json" \
  || fail "the methods the adapter lacks were not reported as not exposed"

step "check: an adapter that computes wrong fails the run"
sed 's/pos \* D, D)/pos * D, D); out.data[0] += 1/' adapter.ts > wrong.ts
if npx gpt2-spec check --runner ./wrong.ts --only embed > "$work/wrong.log" 2>&1; then fail "a wrong adapter passed"; fi

step "imports: ESM and CommonJS, from the project"
echo 'import { defineAdapter, NotExposedError } from "gpt2-spec"; if (typeof defineAdapter !== "function" || !(new NotExposedError("x") instanceof Error)) process.exit(1);' > esm.mjs
echo 'const { defineAdapter, NotExposedError } = require("gpt2-spec"); if (typeof defineAdapter !== "function" || typeof NotExposedError !== "function") process.exit(1);' > cjs/index.cjs
node esm.mjs || fail "ESM import failed"
node cjs/index.cjs || fail "CommonJS require failed"
npx --no-install tsc --version > /dev/null 2>&1 && fail "typescript leaked into the dependencies" || true

fixtures="node_modules/gpt2-spec/fixtures"
step "tokenize, detokenize, generate, compare an adapter, fixtures verify"
[ "$(npx gpt2-spec tokenize 'Hello world')" = "[15496,995]" ] || fail "tokenize"
[ "$(npx gpt2-spec detokenize '[15496,995]')" = "Hello world" ] || fail "detokenize"
npx gpt2-spec generate --model gpt2-tiny --prompt 'Hello' --max-new-tokens 3 > "$work/generate.log" 2>&1 || { cat "$work/generate.log"; fail "generate"; }
npx gpt2-spec compare --weights "$fixtures/models/gpt2-tiny" --runner ./adapter.ts --prompt 'Hello world' > "$work/compare-adapter.log" 2>&1 || { cat "$work/compare-adapter.log"; fail "compare --runner adapter.ts"; }
npx gpt2-spec fixtures verify > "$work/fixtures.log" 2>&1 || { cat "$work/fixtures.log"; fail "fixtures verify"; }

step "check in two shards, merged into one verdict; mutants"
for i in 1 2; do
  npx gpt2-spec check --runner ./adapter.ts --only 'embed|validation' --shard "$i/2" --json "$work/shard-$i.json" > "$work/shard-$i.log" 2>&1 || { cat "$work/shard-$i.log"; fail "check --shard $i/2"; }
done
npx gpt2-spec report merge "$work/shard-1.json" "$work/shard-2.json" --junit "$work/merged.xml" > "$work/merge.log" 2>&1 || { cat "$work/merge.log"; fail "report merge"; }
grep -q 'Verdict: PASS' "$work/merge.log" || { cat "$work/merge.log"; fail "the merged verdict"; }
npx gpt2-spec mutants --mutant erf-gelu --model gpt2-mini > "$work/mutants.log" 2>&1 || { cat "$work/mutants.log"; fail "mutants"; }
grep -q 'erf-gelu/float32 .*killed' "$work/mutants.log" || { cat "$work/mutants.log"; fail "mutants: erf-gelu not killed"; }

step "onnxruntime-node: not installed with gpt2-spec, and the onnx runner says how to add it"
[ ! -d node_modules/onnxruntime-node ] || fail "onnxruntime-node was installed with gpt2-spec (its install script downloads CUDA libraries)"
set +e; npx gpt2-spec compare --weights "$fixtures/models/gpt2-tiny" --runner onnx > "$work/no-ort.log" 2>&1; code=$?; set -e
[ "$code" = 2 ] && grep -q 'optional peer dependency' "$work/no-ort.log" || { cat "$work/no-ort.log"; fail "compare --runner onnx without onnxruntime-node: exit $code, not 2 with the reason"; }
step "onnxruntime-node added with its install script denied: the onnx runner runs"
npm pkg set allowScripts.onnxruntime-node=false --json
npm install onnxruntime-node@1.30.0 --prefer-offline --no-audit --no-fund > "$work/ort-install.log" 2>&1 || { cat "$work/ort-install.log"; fail "npm install onnxruntime-node"; }
npx gpt2-spec compare --weights "$fixtures/models/gpt2-tiny" --runner onnx --prompt 'Hello world' > "$work/compare.log" 2>&1 || { cat "$work/compare.log"; fail "compare --runner onnx"; }
step "passed"

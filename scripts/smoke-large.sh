#!/usr/bin/env bash
# End to end on a gpt2-large-shaped checkpoint (36 layers, D 1280: 2.9 GiB in float32): writes a seeded one
# into a temp folder, runs `gpt2-spec compare` and `gpt2-spec generate` on it, and deletes it. Slow (minutes)
# and heavy (about 3 GiB), so not part of npm test; it takes the shared heavy lock.
#
#   bash scripts/smoke-large.sh [SHAPE] [DTYPE]     e.g. gpt2-large F32 (the default), gpt2-xl BF16
#   SMOKE_RUNNERS=reference,tfjs-cpu bash scripts/smoke-large.sh   the runners compare checks (default: reference)
set -euo pipefail
cd "$(dirname "$0")/.."
shape="${1:-gpt2-large}"
dtype="${2:-F32}"
runners="${SMOKE_RUNNERS:-reference}"
dir="$(mktemp -d "${TMPDIR:-/tmp}/gpt2-spec-smoke-XXXXXX")"
trap 'rm -rf "$dir"' EXIT

exec 9>/tmp/gpt2-spec-heavy.lock
flock 9
echo "writing a seeded $shape checkpoint ($dtype) to $dir"
node -r esbuild-register -e "
  const { GPT2_SHAPES, writeSeededCheckpoint } = require('./runners/weights/seeded-checkpoint');
  const bytes = writeSeededCheckpoint(process.argv[1], GPT2_SHAPES[process.argv[2]], process.argv[3]);
  console.log((bytes / 2 ** 30).toFixed(2) + ' GiB written');
" "$dir" "$shape" "$dtype"

runner_flags=()
IFS=',' read -ra names <<<"$runners"
for name in "${names[@]}"; do runner_flags+=(--runner "$name"); done

echo "gpt2-spec compare ${runner_flags[*]}"
/usr/bin/time -f 'compare: %e s, peak RSS %M kB' node bin/gpt2-spec.js compare --weights "$dir" "${runner_flags[@]}" --ids '[464, 3290, 3332, 319]'
echo "gpt2-spec generate"
/usr/bin/time -f 'generate: %e s, peak RSS %M kB' node bin/gpt2-spec.js generate --weights "$dir" --ids '[464, 3290]' --max-new-tokens 2
echo "smoke test passed on $shape $dtype"

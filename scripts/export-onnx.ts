/**
 * Writes the full GPT-2 decoder graph of a checkpoint to a standard .onnx file, with the KV cache and the
 * Optimum / transformers.js I/O names (see docs/onnx.md):
 *   node -r esbuild-register scripts/export-onnx.ts --weights DIR --out FILE [--precision float32|float64]
 * Exit status: 0 written, 1 the checkpoint or the file could not be read or written, 2 bad usage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Gpt2SpecError } from '../runners/errors';
import { decoderNames, exportDecoder, IR_VERSION, OPSET } from '../runners/onnx';
import { loadCheckpoint } from '../runners/weights/checkpoint';
import { type FlagSpec, formatHelp, parseArgs, str, UsageError } from './cli/args';

const PROGRAM = 'scripts/export-onnx.ts';
const USAGE = 'node -r esbuild-register scripts/export-onnx.ts --weights DIR --out FILE [--precision float32|float64]';

const FLAGS: FlagSpec[] = [
  { name: 'weights', type: 'string', value: 'DIR', help: 'the checkpoint directory' },
  { name: 'out', type: 'string', value: 'FILE', help: 'the .onnx file to write (its folder is created)' },
  { name: 'precision', type: 'string', value: 'TYPE', help: 'float32 (default) or float64: the weights are cast and every node runs in that type' },
];

const HELP = formatHelp(
  USAGE,
  `Writes the full GPT-2 decoder of a Hugging Face checkpoint (config.json + model.safetensors) as a standard
ONNX file (opset ${OPSET}, IR ${IR_VERSION}, every weight embedded), the graph the onnx runner's forward() runs:
  inputs   input_ids, position_ids [batch_size, sequence_length] int64
           past_key_values.{i}.key / .value [batch_size, H, past_sequence_length, Dh] (empty on the first step)
  outputs  logits [batch_size, sequence_length, V]
           present.{i}.key / .value [batch_size, H, total_sequence_length, Dh]`,
  FLAGS,
);

export interface ExportArgs {
  weights: string;
  out: string;
  precision: 'float32' | 'float64';
}

/** The arguments, or 'help' for --help / -h; anything else wrong is a UsageError. */
export function parseExportArgs(argv: readonly string[]): ExportArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { flags, positional } = parseArgs(argv, FLAGS, PROGRAM);
  const [weights, out] = [str(flags, 'weights'), str(flags, 'out')];
  for (const [name, value] of [['weights', weights], ['out', out]] as const) {
    // '--weights=', and '--weights --out F', which parseArgs reads as the folder '--out'
    if (value !== undefined && (value === '' || value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
  for (const [name, value] of [['weights', weights], ['out', out]] as const) if (value === undefined) throw new UsageError(`--${name} is required`);
  const precision = str(flags, 'precision') ?? 'float32';
  if (precision !== 'float32' && precision !== 'float64') throw new UsageError(`--precision must be float32 or float64, got '${precision}'`);
  return { weights: weights!, out: out!, precision };
}

export function main(argv: readonly string[]): number {
  let args: ExportArgs | 'help';
  try {
    args = parseExportArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`export-onnx: ${e.message}\nusage: ${USAGE}\n(see --help)\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const t0 = performance.now();
    const weights = loadCheckpoint(resolve(args.weights));
    const bytes = exportDecoder(weights, args.precision);
    const out = resolve(args.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, bytes);
    const { nLayer, nHead, nEmbd, vocabSize } = weights.config;
    const names = decoderNames(nLayer);
    process.stdout.write(
      [
        `wrote ${out}: ${(bytes.length / 1e6).toFixed(2)} MB, ${args.precision}, opset ${OPSET}, IR ${IR_VERSION}, in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
        `  model    ${nLayer} layers, ${nHead} heads of ${nEmbd / nHead}, vocab ${vocabSize}`,
        `  inputs   ${names.inputs.slice(0, 4).join(', ')}${nLayer > 1 ? ', ...' : ''}`,
        `  outputs  ${names.outputs.slice(0, 3).join(', ')}${nLayer > 1 ? ', ...' : ''}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof Gpt2SpecError) && !(e as NodeJS.ErrnoException).code) throw e;
    process.stderr.write(`export-onnx: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

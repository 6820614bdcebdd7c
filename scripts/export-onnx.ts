/**
 * Writes the full GPT-2 decoder graph of a checkpoint to a standard .onnx file, with the KV cache and the
 * Optimum / transformers.js I/O names (see docs/onnx.md):
 *   node -r esbuild-register scripts/export-onnx.ts --weights DIR --out FILE [--precision float32|float64]
 *                                                   [--external-data | --embed-weights]
 * Exit status: 0 written, 1 the checkpoint or the files could not be read or written (or --embed-weights on
 * weights past 2 GiB), 2 bad usage.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Gpt2SpecError } from '../runners/errors';
import { decoderNames, EMBED_LIMIT, EXTERNAL_ALIGN, IR_VERSION, OPSET, weightBytes, writeDecoder } from '../runners/onnx';
import { loadCheckpoint } from '../runners/weights/checkpoint';
import { type FlagSpec, formatHelp, parseArgs, str, UsageError } from './cli/args';

const PROGRAM = 'scripts/export-onnx.ts';
const USAGE = 'node -r esbuild-register scripts/export-onnx.ts --weights DIR --out FILE [--precision float32|float64] [--external-data | --embed-weights]';

const FLAGS: FlagSpec[] = [
  { name: 'weights', type: 'string', value: 'DIR', help: 'the checkpoint directory' },
  { name: 'out', type: 'string', value: 'FILE', help: 'the .onnx file to write (its folder is created)' },
  { name: 'precision', type: 'string', value: 'TYPE', help: 'float32 (default) or float64: the weights are cast and every node runs in that type' },
  { name: 'external-data', type: 'boolean', help: 'write the weights to FILE.data beside FILE, as ONNX external data, whatever their size' },
  { name: 'embed-weights', type: 'boolean', help: 'embed every weight in FILE, whatever their size (refused past protobuf\'s 2 GiB)' },
];

const HELP = formatHelp(
  USAGE,
  `Writes the full GPT-2 decoder of a Hugging Face checkpoint (config.json + model.safetensors) as a standard
ONNX file (opset ${OPSET}, IR ${IR_VERSION}), the graph the onnx runner's forward() runs:
  inputs   input_ids, position_ids [batch_size, sequence_length] int64
           past_key_values.{i}.key / .value [batch_size, H, past_sequence_length, Dh] (empty on the first step)
  outputs  logits [batch_size, sequence_length, V]
           present.{i}.key / .value [batch_size, H, total_sequence_length, Dh]
Weights up to ${EMBED_LIMIT / 2 ** 30} GiB (gpt2 and gpt2-medium in float32) are embedded in FILE. Larger ones
(gpt2-large: 3.1 GB, gpt2-xl: 6.2 GB in float32), which one protobuf message cannot hold (2 GiB), go to
FILE.data beside it as ONNX external data (each tensor at a ${EXTERNAL_ALIGN}-byte aligned offset; the location
in FILE is the side file's name, relative to FILE's folder: keep the two files together).
--external-data and --embed-weights choose instead of the size.
Exit status: 0 written; 1 the checkpoint or the files could not be read or written, or --embed-weights on
weights past 2 GiB (one line on stderr); 2 bad usage.`,
  FLAGS,
);

export interface ExportArgs {
  weights: string;
  out: string;
  precision: 'float32' | 'float64';
  /** true: side file; false: embedded; undefined: by size. */
  externalData?: boolean;
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
  if (flags['external-data'] && flags['embed-weights']) throw new UsageError('--external-data and --embed-weights exclude each other');
  const externalData = flags['external-data'] ? true : flags['embed-weights'] ? false : undefined;
  return { weights: weights!, out: out!, precision, externalData };
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
    const out = resolve(args.out);
    checkOut(out); // before the checkpoint is read, which for gpt2-large is 3 GB
    const weights = loadCheckpoint(resolve(args.weights));
    const written = writeDecoder(weights, out, { precision: args.precision, externalData: args.externalData });
    const seconds = ((performance.now() - t0) / 1000).toFixed(2);
    const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    const where = written.external
      ? `weights in ${written.external.path}: ${mb(written.external.bytes)}, ${written.external.tensors.length} tensors as external data`
      : `weights embedded (${mb(weightBytes(weights.config, args.precision))})`;
    const { nLayer, nHead, nEmbd, vocabSize } = weights.config;
    const names = decoderNames(nLayer);
    process.stdout.write(
      [
        `wrote ${out}: ${mb(written.modelBytes)}, ${args.precision}, opset ${OPSET}, IR ${IR_VERSION}, in ${seconds} s`,
        `  ${where}`,
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

/** An --out that cannot be written. */
class OutputError extends Gpt2SpecError {}

/** The output's folder is made, and must be a writable folder; an existing FILE must not be a folder. Errors are one line. */
function checkOut(out: string): void {
  const folder = dirname(out);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `${folder} is not a folder: a file lies on the way` : (e as Error).message;
    throw new OutputError(`--out ${out}: cannot be written (${why})`);
  }
  let isFolder = false;
  try {
    isFolder = statSync(out).isDirectory();
  } catch {
    // not there yet: it will be created
  }
  if (isFolder) throw new OutputError(`--out ${out}: cannot be written (it is a folder)`);
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

/**
 * The built-in runners, and the one way any runner is found: by built-in name, or as a runner process
 * (an adapter module, a runner file, a command line). The spec (GPT2_SPEC_RUNNERS) and the command
 * line find runners through this code.
 */
import { AdapterError, loadAdapter, type RunnerFactory } from './adapter-module';
import type { Gpt2Runner } from './contract';
import { BROWSER_PREFIX, COMMAND_PREFIX, RUNNER_FILE_SUFFIX, runnerCommand } from './protocol/commands';
import { ProcessRunner } from './protocol/process-runner';
import { startProcessTokenizer } from './protocol/process-tokenizer';
import { ReferenceRunner } from './reference/runner';
import { browserRunners } from './browser/builtins';

export { AdapterError, loadAdapter, type AdapterModule, type RunnerFactory } from './adapter-module';

export interface BuiltinRunner {
  /** One line for --help and the report. */
  description: string;
  create: RunnerFactory;
  /** False for a runner that only duplicates another one here; it is checked when asked for by name. */
  byDefault?: boolean;
}

/**
 * Built-in runners by name. A factory throws when its backend cannot run here; the spec reports that
 * runner as unavailable, with the error as the reason.
 */
// Each backend's module is required only when its runner is created, so that one missing backend
// (or its native binary) makes that runner unavailable, not the registry. require, not import():
// under esbuild-register a dynamic import() goes to Node's own ESM loader, which cannot read TypeScript.
export const builtinRunners: Record<string, BuiltinRunner> = {
  reference: { description: 'float64 TypeScript reference, written to be read', create: () => new ReferenceRunner() },
  onnx: {
    description: 'ONNX Runtime (onnxruntime-node, CPU), standard ONNX graphs built from the weights, float32',
    create: async () => (require('./onnx') as typeof import('./onnx')).createOnnxRunner({ precision: 'float32' }),
  },
  onnx64: {
    description: 'the same ONNX graphs in float64',
    create: async () => (require('./onnx') as typeof import('./onnx')).createOnnxRunner({ precision: 'float64' }),
  },
  'onnx-external': {
    description: "a GPT-2 decoder exported by torch.onnx.export from HF's GPT2LMHeadModel, run as it is",
    create: async () => (require('./onnx') as typeof import('./onnx')).createExternalOnnxRunner(),
  },
  'transformers.js': {
    description: 'transformers.js (@huggingface/transformers), the first outside implementation checked: gpt2-mini exported by torch.onnx.export, run by its own GPT2LMHeadModel',
    create: async () => (require('./transformers-js') as typeof import('./transformers-js')).createTransformersJsRunner(),
  },
  tfjs: {
    description: 'TensorFlow.js on the best backend here (tfjs-node-gpu, tfjs-node, wasm, cpu; GPT2_TFJS_BACKEND forces one)',
    create: async () => (require('./tfjs') as typeof import('./tfjs')).createTfjsRunner(),
  },
  'tfjs-wasm': {
    description: 'TensorFlow.js on its WebAssembly backend (XNNPACK, SIMD); what `tfjs` runs where tfjs-node is not installed',
    create: async () => (require('./tfjs') as typeof import('./tfjs')).createTfjsRunner({ backend: 'wasm' }),
    byDefault: false,
  },
  'tfjs-cpu': {
    description: "TensorFlow.js on its pure-JavaScript cpu backend",
    create: async () => (require('./tfjs') as typeof import('./tfjs')).createTfjsRunner({ backend: 'cpu' }),
  },
  ...browserRunners,
};


/** A selection entry naming a file or a command rather than a built-in: it has a slash or a dot, or starts with cmd: or browser:. */
export const looksLikePath = (nameOrPath: string): boolean => nameOrPath.startsWith(COMMAND_PREFIX) || nameOrPath.startsWith(BROWSER_PREFIX) || /[\\/.]/.test(nameOrPath);

/** A selection entry: a built-in name, or a runner in a process of its own. */
export interface Source<T> {
  id: string;
  builtin: boolean;
  create: () => T | Promise<T>;
}

export type RunnerSource = Source<Gpt2Runner>;

/** GPT2_SPEC_IN_PROCESS=1 loads JavaScript adapters into the harness itself: for a debugger, never for a verdict. */
const inProcess = (entry: string) =>
  process.env.GPT2_SPEC_IN_PROCESS === '1' && !entry.startsWith(COMMAND_PREFIX) && !entry.startsWith(BROWSER_PREFIX) && !entry.endsWith(RUNNER_FILE_SUFFIX);

/**
 * Resolves a built-in name, an adapter module, a runner file or a command line to a factory; `kind`
 * picks the runner or the tokenizer. Everything but a built-in runs in a process of its own
 * (docs/protocol.md). Unknown names and missing files are refused here, before anything starts.
 */
export function adapterSource<T>(nameOrPath: string, kind: 'runner' | 'tokenizer', builtins: Record<string, () => T | Promise<T>>): Source<T> {
  // Own properties only: 'constructor' or 'toString' is no built-in.
  const builtin = Object.hasOwn(builtins, nameOrPath) ? builtins[nameOrPath] : undefined;
  if (builtin) return { id: nameOrPath, builtin: true, create: builtin };
  if (!looksLikePath(nameOrPath)) {
    throw new AdapterError(`unknown ${kind} '${nameOrPath}': built-in ${kind}s are ${Object.keys(builtins).join(', ')}, or give an adapter module, a runner file or cmd:COMMAND`);
  }
  const command = runnerCommand(nameOrPath, kind);
  if (inProcess(nameOrPath)) return { id: nameOrPath, builtin: false, create: () => inProcessAdapter<T>(command.args[2]!, nameOrPath, kind) };
  const start = kind === 'runner' ? ProcessRunner.start : startProcessTokenizer;
  return { id: nameOrPath, builtin: false, create: () => start(command) as Promise<T> };
}

async function inProcessAdapter<T>(path: string, entry: string, kind: 'runner' | 'tokenizer'): Promise<T> {
  const adapter = await loadAdapter(path);
  const factory = adapter[kind];
  if (!factory) throw new AdapterError(`adapter ${entry} (${adapter.name}) provides no ${kind}`);
  const made = await factory();
  const needs = kind === 'runner' ? ['load', 'forward', 'dispose'] : ['encode', 'decode'];
  const missing = needs.filter((m) => typeof (made as unknown as Record<string, unknown> | null)?.[m] !== 'function');
  if (missing.length > 0) throw new AdapterError(`adapter ${entry}: its ${kind} factory returned something without ${missing.join(', ')}()`);
  return made as T;
}

export function runnerSource(nameOrPath: string): RunnerSource {
  const factories = Object.fromEntries(Object.entries(builtinRunners).map(([name, r]) => [name, r.create]));
  return adapterSource<Gpt2Runner>(nameOrPath, 'runner', factories);
}

/** The selection: GPT2_SPEC_RUNNERS (comma list of names or paths), or every built-in runner checked by default. */
export function selectedRunnerIds(env = process.env.GPT2_SPEC_RUNNERS): { ids: string[]; explicit: boolean } {
  // check --tokenizer alone: no runner at all, rather than every default one with nothing to check.
  if (process.env.GPT2_SPEC_NO_RUNNERS === '1') return { ids: [], explicit: true };
  const list = (env ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length > 0) return { ids: list, explicit: true };
  return { ids: Object.entries(builtinRunners).filter(([, r]) => r.byDefault !== false).map(([name]) => name), explicit: false };
}

/**
 * The built-in runners, and the one way any runner is found: by built-in name, or by the path of an
 * adapter module. The spec (GPT2_SPEC_RUNNERS) and the command line load adapters through this code.
 */
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Gpt2Runner, Gpt2SpecAdapter } from './contract';
import { Gpt2SpecError } from './errors';
import { ReferenceRunner } from './reference/runner';

export type RunnerFactory = () => Gpt2Runner | Promise<Gpt2Runner>;

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
};

export class AdapterError extends Gpt2SpecError {}

/** A selection entry naming a file rather than a built-in: it has a slash or a dot. */
export const looksLikePath = (nameOrPath: string): boolean => /[\\/.]/.test(nameOrPath);

/** A selection entry: a built-in name, or the path of an adapter module. */
export interface Source<T> {
  id: string;
  builtin: boolean;
  create: () => T | Promise<T>;
}

export type RunnerSource = Source<Gpt2Runner>;

/**
 * Resolves a built-in name or an adapter path to a factory; `kind` picks the adapter's runner or tokenizer.
 * Unknown names and missing files are refused here, before anything is loaded.
 */
export function adapterSource<T>(nameOrPath: string, kind: 'runner' | 'tokenizer', builtins: Record<string, () => T | Promise<T>>): Source<T> {
  // Own properties only: 'constructor' or 'toString' is no built-in.
  const builtin = Object.hasOwn(builtins, nameOrPath) ? builtins[nameOrPath] : undefined;
  if (builtin) return { id: nameOrPath, builtin: true, create: builtin };
  if (!looksLikePath(nameOrPath)) {
    throw new AdapterError(`unknown ${kind} '${nameOrPath}': built-in ${kind}s are ${Object.keys(builtins).join(', ')}, or give the path of an adapter module`);
  }
  const path = isAbsolute(nameOrPath) ? nameOrPath : resolve(process.cwd(), nameOrPath);
  if (!existsSync(path)) throw new AdapterError(`adapter module ${nameOrPath} does not exist`);
  return {
    id: nameOrPath,
    builtin: false,
    create: async () => {
      const adapter = await loadAdapter(path);
      const factory = adapter[kind];
      if (!factory) throw new AdapterError(`adapter ${nameOrPath} (${adapter.name}) provides no ${kind}`);
      const made = await factory();
      const needs = kind === 'runner' ? ['load', 'forward', 'dispose'] : ['encode', 'decode'];
      const missing = needs.filter((m) => typeof (made as unknown as Record<string, unknown> | null)?.[m] !== 'function');
      if (missing.length > 0) throw new AdapterError(`adapter ${nameOrPath}: its ${kind} factory returned something without ${missing.join(', ')}()`);
      return made as T;
    },
  };
}

export function runnerSource(nameOrPath: string): RunnerSource {
  const factories = Object.fromEntries(Object.entries(builtinRunners).map(([name, r]) => [name, r.create]));
  return adapterSource<Gpt2Runner>(nameOrPath, 'runner', factories);
}

export type AdapterModule = Gpt2SpecAdapter;

/**
 * Loads an adapter module: TypeScript or JavaScript, ESM or CommonJS. Anything but a .cjs file is first
 * compiled to one CommonJS file with esbuild (its packages left as imports), so the same adapter loads
 * the same way under jest, in the command line, and in plain Node.
 * The default export is either { name, runner?, tokenizer? } or a bare runner factory.
 */
export async function loadAdapter(path: string): Promise<AdapterModule> {
  let mod: Record<string, unknown>;
  try {
    if (path.endsWith('.cjs')) mod = require(path);
    else {
      // Once required, the compiled file is no longer needed: Node keeps the module in memory.
      const compiledFile = compileAdapter(path);
      try {
        mod = require(compiledFile);
      } finally {
        rmSync(compiledFile, { force: true });
      }
    }
  } catch (e) {
    throw new AdapterError(`adapter ${path} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  let exported: unknown = mod.default ?? mod;
  // A CommonJS module compiled from ESM puts its default export one level down.
  if (typeof exported === 'object' && exported !== null && 'default' in exported) exported = (exported as { default: unknown }).default;
  if (typeof exported === 'function') return { name: path, runner: exported as RunnerFactory };
  if (typeof exported === 'object' && exported !== null && typeof (exported as AdapterModule).name === 'string') {
    const a = exported as AdapterModule;
    if (a.runner !== undefined && typeof a.runner !== 'function') throw new AdapterError(`adapter ${path}: 'runner' must be a function returning a Gpt2Runner`);
    if (a.tokenizer !== undefined && typeof a.tokenizer !== 'function') throw new AdapterError(`adapter ${path}: 'tokenizer' must be a function returning a Gpt2Tokenizer`);
    return a;
  }
  throw new AdapterError(`adapter ${path}: the default export must be { name, runner?, tokenizer? } or a function returning a Gpt2Runner`);
}

/**
 * Compiles an adapter to one CommonJS file in the temp folder (esbuild takes milliseconds, and a fresh build
 * sees every edit, to the adapter and to the files it imports). The compiled file resolves its packages,
 * __dirname and __filename as the adapter's own file would, wherever it is written.
 */
function compileAdapter(path: string): string {
  const key = createHash('sha256').update(path).digest('hex').slice(0, 16);
  const out = join(tmpdir(), 'gpt2-spec-adapters', `${basename(path).replace(/\W/g, '_')}-${key}-${process.pid}.cjs`);
  const here = JSON.stringify(dirname(path));
  const banner = [
    `__filename = ${JSON.stringify(path)}; __dirname = ${here};`,
    `module.paths.unshift(...require('node:module')._nodeModulePaths(${here}));`,
  ].join(' ');
  // esbuild is required here, not at the top, so that loading built-in runners never needs it.
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ entryPoints: [path], outfile: out, bundle: true, format: 'cjs', platform: 'node', target: 'node20', packages: 'external', banner: { js: banner }, logLevel: 'silent' });
  return out;
}

/** The selection: GPT2_SPEC_RUNNERS (comma list of names or paths), or every built-in runner checked by default. */
export function selectedRunnerIds(env = process.env.GPT2_SPEC_RUNNERS): { ids: string[]; explicit: boolean } {
  const list = (env ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length > 0) return { ids: list, explicit: true };
  return { ids: Object.entries(builtinRunners).filter(([, r]) => r.byDefault !== false).map(([name]) => name), explicit: false };
}

/**
 * Loads transformers.js (@huggingface/transformers) so that it works the same in plain Node, under jest,
 * and inside an adapter bundle that the registry compiled into the temp folder.
 *
 * The package is ESM ("type": "module"), but it also ships a CommonJS build for Node
 * (dist/transformers.node.cjs, its exports' `node.require` condition), so it is `require`d: no dynamic
 * import(), which jest's vm would have to support (--experimental-vm-modules) and which swc would compile
 * back to require anyway.
 *
 * Under jest it is required by the main realm's require, not by jest's: transformers.js creates
 * onnxruntime-node with its own createRequire, so the native binding (and onnxruntime-common's `data
 * instanceof Float32Array` checks) live in Node's main realm, while code required by jest runs in a vm
 * context whose typed-array constructors are others (jestjs/jest#11864; runners/onnx/ort.ts meets the same
 * problem). Loading the whole library in the main realm keeps its Tensor, onnxruntime-common and the binding
 * together; this side then hands it typed arrays of the main realm (toLibraryArray) and re-views what it
 * returns (fromLibraryArray): same memory, no copy. Outside jest both realms are the same and nothing is
 * re-viewed. (ort.ts is not reused: it requires onnxruntime-node as it is imported, relative to its own
 * file, which is in the temp folder when an adapter bundle includes it.)
 *
 * The package is found from the gpt2-spec checkout, not from this file: an adapter bundle lives in the temp
 * folder, where Node's resolution finds no node_modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as vm from 'node:vm';
import type * as TransformersJs from '@huggingface/transformers';

export type Library = typeof TransformersJs;

type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type Ctor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T };

const main = vm.runInThisContext('globalThis') as typeof globalThis & { process: NodeJS.Process & { getBuiltinModule?: (id: string) => unknown } };
const mainModule = main !== globalThis ? (main.process.getBuiltinModule?.('node:module') as typeof import('node:module') | undefined) : undefined;

/** True when this code runs in a realm other than Node's main one (inside a jest test) and bridges arrays. */
export const bridged = main.Float32Array !== Float32Array && mainModule !== undefined;

const KINDS = ['Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array', 'Uint8Array'] as const;

function reView<T extends TypedArray>(a: T, realm: typeof globalThis): T {
  const tag = Object.prototype.toString.call(a).slice(8, -1);
  const kind = KINDS.find((k) => k === tag);
  if (!kind) throw new TypeError(`not a typed array transformers.js takes: ${tag}`);
  const ctor = (realm as unknown as Record<string, Ctor<T>>)[kind]!;
  return a instanceof (ctor as unknown as abstract new () => T) ? a : new ctor(a.buffer, a.byteOffset, a.length);
}

/** The same memory as a typed array of the library's realm. */
export const toLibraryArray = <T extends TypedArray>(a: T): T => (bridged ? reView(a, main) : a);

/** The same memory as a typed array of this realm. */
export const fromLibraryArray = <T extends TypedArray>(a: T): T => (bridged ? reView(a, globalThis) : a);

const isOurPackage = (dir: string) => {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'gpt2-spec';
  } catch {
    return false;
  }
};

let root: string | undefined;

/**
 * The folder of gpt2-spec's package.json: found above this file when it runs from the sources, else above
 * the working directory or the entry script (an adapter bundle in the temp folder has only those).
 */
export function gpt2SpecRoot(): string {
  if (root) return root;
  const starts = [__dirname, process.cwd(), process.argv[1] ? dirname(resolve(process.argv[1])) : undefined, require.main?.filename ? dirname(require.main.filename) : undefined];
  for (const start of starts) {
    if (!start) continue;
    for (let dir = start; ; dir = dirname(dir)) {
      if (isOurPackage(dir)) return (root = dir);
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find gpt2-spec's package.json above ${starts.filter(Boolean).join(', ')}`);
}

/** The fixtures folder: GPT2_SPEC_FIXTURES, else the checkout's fixtures/. */
export const fixturesFolder = (): string => resolve(process.env.GPT2_SPEC_FIXTURES ?? join(gpt2SpecRoot(), 'fixtures'));

let library: Library | undefined;

/** transformers.js, loaded once, offline: env.allowRemoteModels is false, so nothing is ever fetched from the Hub. */
export function loadLibrary(): Library {
  if (library) return library;
  const anchor = join(gpt2SpecRoot(), 'package.json');
  const requireIt = bridged ? mainModule!.createRequire(anchor) : createRequire(anchor);
  const lib = requireIt('@huggingface/transformers') as Library;
  lib.env.allowRemoteModels = false;
  lib.env.allowLocalModels = true;
  library = lib;
  return lib;
}

/** The installed versions: transformers.js, and the onnxruntime-node it runs on. */
export function libraryVersions(): { transformersJs: string; onnxruntime: string } {
  const lib = loadLibrary();
  const anchor = join(gpt2SpecRoot(), 'package.json');
  let onnxruntime = 'unknown';
  try {
    // onnxruntime-node as transformers.js resolves it (its own dependency, 1.30.0 in its package.json).
    const fromLibrary = createRequire(createRequire(anchor).resolve('@huggingface/transformers'));
    onnxruntime = (JSON.parse(readFileSync(fromLibrary.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // the version is for the report only
  }
  return { transformersJs: lib.env.version, onnxruntime };
}

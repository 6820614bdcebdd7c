/**
 * The bridge between this code's JavaScript realm and Node's main realm, for native bindings that make
 * their typed arrays in the main realm: onnxruntime-node (runners/onnx/ort.ts), and transformers.js, which
 * creates its own onnxruntime-node (runners/transformers-js/library.ts).
 *
 * The binding makes every output's typed array in Node's main realm, and onnxruntime-common then checks
 * `data instanceof Float32Array`. Under jest, test code runs in a vm context whose Float32Array is another
 * constructor, so a plain import fails every run with "A float32 tensor's data must be type of function
 * Float32Array()" (jestjs/jest#11864). When we run in such a context, such a package is loaded with the main
 * realm's require (mainRequire), and arrays are re-viewed (same memory, no copy) in the realm each side
 * expects (toMainRealm, fromMainRealm). Outside jest both realms are the same and nothing is re-viewed.
 */
import { createRequire } from 'node:module';
import * as vm from 'node:vm';

export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type Ctor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T };

/** Node's main realm: the global object of the context node:vm runs "this context" in. */
const main = vm.runInThisContext('globalThis') as typeof globalThis & { process: NodeJS.Process & { getBuiltinModule?: (id: string) => unknown } };
/** The main realm's node:module (process.getBuiltinModule, Node ≥ 20.16), when this code runs in another realm. */
const mainModule = main !== globalThis ? (main.process.getBuiltinModule?.('node:module') as typeof import('node:module') | undefined) : undefined;

/** True when this code runs in a realm other than Node's main one (e.g. inside a jest test) and bridges arrays. */
export const bridged = main.Float32Array !== Float32Array && mainModule !== undefined;

/** A require that resolves from `file` and loads in Node's main realm (this realm's createRequire when not bridged). */
export const mainRequire = (file: string): NodeJS.Require => (bridged ? mainModule!.createRequire(file) : createRequire(file));

const KINDS = ['Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array', 'Uint8Array'] as const;

/** The typed-array kind of `a` (a Buffer is a Uint8Array), whichever realm made it. */
function kindOf(a: TypedArray): (typeof KINDS)[number] {
  const tag = Object.prototype.toString.call(a).slice(8, -1);
  const kind = KINDS.find((k) => k === tag);
  if (!kind) throw new TypeError(`not a typed array the realm bridge re-views (${KINDS.join(', ')}): ${tag}`);
  return kind;
}

function reView<T extends TypedArray>(a: T, realm: typeof globalThis): T {
  const ctor = (realm as unknown as Record<string, Ctor<T>>)[kindOf(a)]!;
  return a instanceof (ctor as unknown as abstract new () => T) ? a : new ctor(a.buffer, a.byteOffset, a.length);
}

/** The same memory as a typed array of Node's main realm (where the native binding checks it). */
export const toMainRealm = <T extends TypedArray>(a: T): T => (bridged ? reView(a, main) : a);

/** The same memory as a typed array of this realm. */
export const fromMainRealm = <T extends TypedArray>(a: T): T => (bridged ? reView(a, globalThis) : a);

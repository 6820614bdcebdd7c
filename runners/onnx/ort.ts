/**
 * onnxruntime-node, loaded in the JavaScript realm where its native binding creates arrays.
 *
 * The binding makes every output's typed array in Node's main realm, and onnxruntime-common then checks
 * `data instanceof Float32Array`. Under jest, test code runs in a vm context whose Float32Array is another
 * constructor, so a plain import fails every run with "A float32 tensor's data must be type of function
 * Float32Array()" (jestjs/jest#11864). When we run in such a context, we load onnxruntime-node with the main
 * realm's require, and re-view arrays (same memory, no copy) in the realm each side expects. Outside jest
 * both realms are the same and nothing is re-viewed.
 */
import * as vm from 'node:vm';
import type * as Ort from 'onnxruntime-node';

type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type Ctor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; name: string };

const main = vm.runInThisContext('globalThis') as typeof globalThis & { process: NodeJS.Process & { getBuiltinModule?: (id: string) => unknown } };
const mainModule = main !== globalThis ? (main.process.getBuiltinModule?.('node:module') as typeof import('node:module') | undefined) : undefined;

/** True when this code runs in a realm other than the binding's (e.g. inside a jest test) and bridges arrays. */
export const bridged = main.Float32Array !== Float32Array && mainModule !== undefined;

export const ort: typeof Ort = bridged ? mainModule!.createRequire(__filename)('onnxruntime-node') : require('onnxruntime-node');

const KINDS = ['Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array', 'Uint8Array'] as const;

/** The typed-array kind of `a` (a Buffer is a Uint8Array), whichever realm made it. */
function kindOf(a: TypedArray): (typeof KINDS)[number] {
  const tag = Object.prototype.toString.call(a).slice(8, -1);
  const kind = KINDS.find((k) => k === tag);
  if (!kind) throw new TypeError(`not a typed array ONNX Runtime takes: ${tag}`);
  return kind;
}

function reView<T extends TypedArray>(a: T, realm: typeof globalThis): T {
  const ctor = (realm as unknown as Record<string, Ctor<T>>)[kindOf(a)]!;
  return a instanceof (ctor as unknown as abstract new () => T) ? a : new ctor(a.buffer, a.byteOffset, a.length);
}

/** The same memory as a typed array of the binding's realm. */
export const toOrtArray = <T extends TypedArray>(a: T): T => (bridged ? reView(a, main) : a);

/** The same memory as a typed array of this realm. */
export const fromOrtArray = <T extends TypedArray>(a: T): T => (bridged ? reView(a, globalThis) : a);

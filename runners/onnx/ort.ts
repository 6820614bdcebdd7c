/**
 * onnxruntime-node, loaded in the JavaScript realm where its native binding creates arrays: under jest with
 * the main realm's require, so that the binding and onnxruntime-common's `instanceof` checks share one set of
 * typed-array constructors (runners/realm.ts explains why, and re-views the arrays at the border).
 *
 * It is an optional peer dependency: a project that uses gpt2-spec installs it only to run the onnx runners,
 * because its install script would otherwise download CUDA libraries (docs/ci.md says how to skip that).
 */
import type * as Ort from 'onnxruntime-node';
import { bridged, mainRequire } from '../realm';

export const ORT_MISSING =
  'onnxruntime-node is not installed: it is an optional peer dependency of gpt2-spec. `npm pkg set allowScripts.onnxruntime-node=false --json && npm install onnxruntime-node@1.30.0` adds it without its CUDA download';

function loadOrt(): typeof Ort {
  // Outside jest both realms are one, and the ordinary require loads it.
  const load = bridged ? mainRequire(__filename) : require;
  try {
    return load('onnxruntime-node') as typeof Ort;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /onnxruntime-node/.test((e as Error).message)) throw new Error(ORT_MISSING);
    throw e;
  }
}

export const ort: typeof Ort = loadOrt();

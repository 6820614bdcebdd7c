/**
 * onnxruntime-node, loaded in the JavaScript realm where its native binding creates arrays: under jest with
 * the main realm's require, so that the binding and onnxruntime-common's `instanceof` checks share one set of
 * typed-array constructors (runners/realm.ts explains why, and re-views the arrays at the border).
 */
import type * as Ort from 'onnxruntime-node';
import { bridged, mainRequire } from '../realm';

// Outside jest both realms are one, and the ordinary require loads it.
export const ort: typeof Ort = bridged ? mainRequire(__filename)('onnxruntime-node') : require('onnxruntime-node');

/**
 * ONNX Runtime inside a browser page: onnxruntime-web in place of onnxruntime-node. A bundle for the
 * browser gets this file instead of ./ort.ts (package.json's "browser" field), so the ONNX runner's own
 * graphs and sessions run on the web build unchanged. Its 'cpu' execution provider is the wasm one.
 */
import * as ortWeb from 'onnxruntime-web';
import type * as Ort from 'onnxruntime-node';

export const ort = ortWeb as unknown as typeof Ort;

/**
 * ONNX runners on onnxruntime-node (CPU):
 *   onnx / onnx64   standard ONNX graphs built in memory from the weights, float32 / float64 (runner.ts)
 *   onnx-external   an already exported GPT-2 decoder .onnx file, run as it is (external.ts)
 * and exportDecoder() / writeDecoder(), which write the full decoder graph as a standard .onnx file (export.ts).
 */
import { ExternalOnnxRunner } from './external';
import { OnnxRunner, type OnnxRunnerOptions } from './runner';
import type { RunnerSessionOptions } from './session';

export { ExternalOnnxRunner, defaultExternalModel, readLayout, type DecoderLayout } from './external';
export { decoderNames, type LmHeadLayout } from './gpt2-graph';
export { OPSET, IR_VERSION } from './graph';
export { OnnxRunner, exportDecoder, type OnnxRunnerOptions } from './runner';
export { EMBED_LIMIT, EXTERNAL_ALIGN, needsExternalData, PROTOBUF_LIMIT, sideFileOf, weightBytes, writeDecoder, type WriteDecoderOptions, type WrittenDecoder } from './export';
export { OnnxModelError, OnnxSettingsError, ORT_VERSION, resolveThreads, type RunnerSessionOptions } from './session';

export function createOnnxRunner(opts: OnnxRunnerOptions): OnnxRunner {
  return new OnnxRunner(opts);
}

/** A runner for an exported decoder file; without a path, the fixture export (fixtures/manifest.json's "onnx" entry). */
export function createExternalOnnxRunner(path?: string, opts: RunnerSessionOptions = {}): ExternalOnnxRunner {
  return new ExternalOnnxRunner(path, opts);
}

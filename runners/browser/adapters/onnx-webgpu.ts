/**
 * The ONNX runner's own graphs on onnxruntime-web's WebGPU execution provider, in the page (the built-in
 * runner browser-onnx-webgpu): the same graphs and sessions as browser-onnx-wasm, with the GPU (or
 * SwiftShader's Vulkan where there is none) running the kernels WebGPU has, and wasm the rest.
 */
import * as ortWeb from 'onnxruntime-web';
import { OnnxRunner } from '../../onnx/runner';

const here = (globalThis as unknown as { location: { href: string } }).location.href;
ortWeb.env.wasm.wasmPaths = new URL('pkg/onnxruntime-web/dist/', here).href;
ortWeb.env.wasm.numThreads = 1;

/** The GPU adapter WebGPU gives the page, as its vendor and architecture say, for the report. */
async function adapterInfo(): Promise<string> {
  const gpu = (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } } }).navigator.gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) throw new Error('this page has no WebGPU adapter (navigator.gpu.requestAdapter() gave none)');
  return [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ') || 'an unnamed adapter';
}

export default {
  name: 'onnx-webgpu-in-a-page',
  runner: async () => {
    const info = await adapterInfo();
    const runner = new OnnxRunner({ precision: 'float32', threads: 1, executionProvider: 'webgpu' });
    Object.assign(runner, { name: 'onnx-webgpu', backend: `onnxruntime-web ${ortWeb.env.versions.web ?? ortWeb.env.versions.common} webgpu float32 (${info})` });
    return runner;
  },
};

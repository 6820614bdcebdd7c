/**
 * The ONNX runner's own graphs (runners/onnx: the same graphs and sessions as the onnx runner in Node) on
 * an execution provider of onnxruntime-web, in the page: wasm, or WebGPU (with wasm for the kernels WebGPU
 * lacks). The .wasm files come from the browser host, which serves installed packages' files under pkg/.
 */
import * as ortWeb from 'onnxruntime-web';
import { OnnxRunner } from '../../onnx/runner';
import { webgpuAdapterName } from './webgpu';

export type PageProvider = 'wasm' | 'webgpu';

const here = (globalThis as unknown as { location: { href: string } }).location.href;
ortWeb.env.wasm.wasmPaths = new URL('pkg/onnxruntime-web/dist/', here).href;
// One wasm thread, as the tfjs wasm runner in Node has: figures comparable, and results independent of the core count.
ortWeb.env.wasm.numThreads = 1;

/** The adapter module's default export for one execution provider. */
export function onnxInPage(provider: PageProvider) {
  return {
    name: `onnx-${provider}-in-a-page`,
    runner: async () => {
      // What ran: the web build, its provider, and for WebGPU the adapter.
      const what = provider === 'wasm' ? '1 wasm thread' : `adapter ${await webgpuAdapterName()}`;
      // The web build's 'cpu' provider is its wasm one.
      const runner = new OnnxRunner({ precision: 'float32', threads: 1, executionProvider: provider === 'wasm' ? 'cpu' : 'webgpu' });
      Object.assign(runner, { name: `onnx-${provider}`, backend: `onnxruntime-web ${ortWeb.env.versions.web ?? ortWeb.env.versions.common} ${provider} float32 (${what})` });
      return runner;
    },
  };
}

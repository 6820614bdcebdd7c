/**
 * The ONNX runner's own graphs (runners/onnx: the same graphs and sessions as the onnx runner in Node)
 * on onnxruntime-web's wasm execution provider, in the page (the built-in runner browser-onnx-wasm).
 * The .wasm files come from the browser host, which serves installed packages' files under pkg/.
 */
import * as ortWeb from 'onnxruntime-web';
import { OnnxRunner } from '../../onnx/runner';

const here = (globalThis as unknown as { location: { href: string } }).location.href;
ortWeb.env.wasm.wasmPaths = new URL('pkg/onnxruntime-web/dist/', here).href;
// One wasm thread, as the tfjs wasm runner in Node has: figures comparable, and results independent of the core count.
ortWeb.env.wasm.numThreads = 1;

export default {
  name: 'onnx-wasm-in-a-page',
  runner: async () => {
    const runner = new OnnxRunner({ precision: 'float32', threads: 1 });
    // What ran: the web build and its wasm execution provider.
    Object.assign(runner, { name: 'onnx-wasm', backend: `onnxruntime-web ${ortWeb.env.versions.web ?? ortWeb.env.versions.common} wasm float32 (1 wasm thread)` });
    return runner;
  },
};

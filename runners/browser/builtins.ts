/**
 * The built-in runners that run inside a page of headless Chromium (docs/browser.md): the project's own
 * GPT-2s on the browser's backends, and transformers.js's web build on its GPT-2, each an adapter module
 * in ./adapters served by the browser host.
 * None is checked by default (each needs Chromium, and SwiftShader is slow); name them with --runner.
 */
import { join } from 'node:path';
import { packageRoot } from '../paths';
import { browserCommand } from '../protocol/commands';
import { ProcessRunner } from '../protocol/process-runner';

const adapter = (file: string) => join(packageRoot(), 'runners/browser/adapters', file);
const inPage = (name: string, file: string, gpu: boolean) => () => ProcessRunner.start(browserCommand(adapter(file), 'runner', { gpu, label: name }));

export const browserRunners = {
  'browser-tfjs-webgl': {
    description: "tfjs's GPT-2 in headless Chromium on WebGL 2 (SwiftShader where there is no GPU), float32 textures",
    create: inPage('browser-tfjs-webgl', 'tfjs-webgl.ts', true),
    byDefault: false,
  },
  'browser-tfjs-wasm': {
    description: "tfjs's GPT-2 in headless Chromium on its WebAssembly backend",
    create: inPage('browser-tfjs-wasm', 'tfjs-wasm.ts', false),
    byDefault: false,
  },
  'browser-tfjs-webgpu': {
    description: "tfjs's GPT-2 in headless Chromium on WebGPU (SwiftShader's Vulkan where there is no GPU)",
    create: inPage('browser-tfjs-webgpu', 'tfjs-webgpu.ts', true),
    byDefault: false,
  },
  'browser-onnx-wasm': {
    description: "the onnx runner's graphs on onnxruntime-web's wasm execution provider, in headless Chromium",
    create: inPage('browser-onnx-wasm', 'onnx-wasm.ts', false),
    byDefault: false,
  },
  'browser-onnx-webgpu': {
    description: "the onnx runner's graphs on onnxruntime-web's WebGPU execution provider, in headless Chromium (SwiftShader where there is no GPU)",
    create: inPage('browser-onnx-webgpu', 'onnx-webgpu.ts', true),
    byDefault: false,
  },
  'browser-transformers-js': {
    description: "transformers.js's web build (onnxruntime-web's wasm provider, 1 thread) running gpt2-mini's exported decoder in headless Chromium, its own forward",
    create: inPage('browser-transformers-js', 'transformers-js-wasm.ts', false),
    byDefault: false,
  },
  'browser-transformers-js-webgpu': {
    description: "transformers.js's web build on its WebGPU device running gpt2-mini's exported decoder in headless Chromium (SwiftShader where there is no GPU)",
    create: inPage('browser-transformers-js-webgpu', 'transformers-js-webgpu.ts', true),
    byDefault: false,
  },
};

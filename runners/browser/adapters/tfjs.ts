/**
 * tfjs's GPT-2 (runners/tfjs: the same ops and the same runner as in Node) on a backend of the page:
 * webgl, webgpu or wasm. The backend is registered by the entry file that imports its package; this
 * module makes it active and reports what actually ran: the backend, its precision and the GPU adapter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TfjsRunner } from '../../tfjs/runner';
import { webgpuAdapterName } from './webgpu';

export type PageBackend = 'webgl' | 'webgpu' | 'wasm';

/** What the active backend is, in a few words: for webgl the WebGL version, the texture precision and the renderer. */
async function describe(backend: PageBackend): Promise<string> {
  if (backend === 'webgl') {
    // The project's types have no DOM: the few WebGL names used here, structurally.
    type Gl = { RENDERER: number; getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): string };
    const gl = (tf.backend() as unknown as { gpgpu: { gl: Gl } }).gpgpu.gl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    const float32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
    return `WebGL ${tf.env().getNumber('WEBGL_VERSION')}, ${float32 ? 'float32' : 'float16'} textures, ${renderer}`;
  }
  if (backend === 'webgpu') return `WebGPU, adapter ${await webgpuAdapterName()}`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `${simd ? 'simd' : 'no simd'}, ${threads ? 'threads available' : '1 thread'}`;
}

/** The adapter module's default export for one backend. */
export function tfjsInPage(backend: PageBackend) {
  return {
    name: `tfjs-${backend}-in-a-page`,
    runner: async () => {
      if (!(await tf.setBackend(backend))) throw Object.assign(new Error(`tfjs could not initialize its '${backend}' backend in this page`), { name: 'TfjsBackendError' });
      await tf.ready();
      const description = `tfjs ${tf.version_core} ${backend} (${await describe(backend)})`;
      return new TfjsRunner(`tfjs-${backend}`, { engineName: backend, description });
    },
  };
}

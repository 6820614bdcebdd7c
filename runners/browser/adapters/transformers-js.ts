/**
 * transformers.js's web build (@huggingface/transformers' dist/transformers.web.js, on the onnxruntime-web
 * it pins, nested in its own node_modules) running gpt2-mini in the page: the folder, the forward and the
 * refusal of another model are those of the transformers.js runner in Node (runners/transformers-js/
 * model-runner.ts). The web build would fetch the model from the Hugging Face Hub and ONNX Runtime's .wasm
 * from jsDelivr; here both come from the browser host, which serves the fixtures under fixtures/ and
 * installed packages' files under pkg/. Another model folder is named by its path relative to the page:
 * one the host serves under folder/ (GPT2_SPEC_BROWSER_FOLDER), as scripts/bench-browser.ts does for GPT-2 small.
 */
import * as lib from '@huggingface/transformers';
import type { PreTrainedModel } from '@huggingface/transformers';
import type { Gpt2Config } from '../../contract';
import { CheckpointError } from '../../errors';
import { folderConfigOf, type Library, TransformersJsModelRunner } from '../../transformers-js/model-runner';
import { webgpuAdapterName } from './webgpu';

/** transformers.js's devices in a page: its wasm one (onnxruntime-web's wasm provider), or WebGPU. */
export type PageDevice = 'wasm' | 'webgpu';

/** The folder loaded by default, relative to the page: the transformers.js runner's own. */
export const FIXTURE_FOLDER = 'fixtures/transformers-js/gpt2-mini';
const REGENERATE = 'run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures';
const here = (globalThis as unknown as { location: { href: string } }).location.href;

lib.env.allowRemoteModels = false;
lib.env.allowLocalModels = true;
// A fresh profile has nothing cached; the Cache API would only keep a second copy of every file.
lib.env.useBrowserCache = false;
lib.env.useWasmCache = false;
const ort = lib.env.backends.onnx;
ort.wasm!.wasmPaths = new URL('pkg/@huggingface/transformers/node_modules/onnxruntime-web/dist/', here).href;
// One wasm thread, as browser-onnx-wasm has: figures comparable, and results independent of the core count.
ort.wasm!.numThreads = 1;

/** A model folder's path relative to the page: its parent (the library's localModelPath) and its own name (the model id). */
function split(folder: string): { parent: string; model: string } {
  const parts = folder.split('/').filter((p) => p !== '');
  return { parent: new URL(`${parts.slice(0, -1).join('/')}/`, here).href, model: parts[parts.length - 1] ?? '' };
}

class TransformersJsInPage extends TransformersJsModelRunner {
  protected readonly wholeModel: string;
  private readonly parent: string;
  private readonly modelId: string;

  constructor(
    readonly name: string,
    readonly backend: string,
    private readonly device: PageDevice,
    protected readonly shownFolder: string,
  ) {
    super();
    ({ parent: this.parent, model: this.modelId } = split(shownFolder));
    this.wholeModel = `${this.modelId}/onnx/model.onnx`;
  }

  protected async folderConfig(): Promise<Gpt2Config> {
    const url = `${this.parent}${this.modelId}/config.json`;
    const res = await fetch(url);
    if (!res.ok) throw new CheckpointError(`${url}: HTTP ${res.status}${this.shownFolder === FIXTURE_FOLDER ? ` (${REGENERATE})` : ''}`);
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      throw new CheckpointError(`${url}: not valid JSON (${(e as Error).message})`);
    }
    return folderConfigOf(json, url);
  }

  protected async openModel(): Promise<{ lib: Library; model: PreTrainedModel }> {
    // One runner per page: the library's model path is its own.
    lib.env.localModelPath = this.parent;
    const model = await lib.AutoModelForCausalLM.from_pretrained(this.modelId, { local_files_only: true, dtype: 'fp32', device: this.device });
    return { lib, model };
  }
}

/** The adapter module's default export for one device, on a model folder given by its path relative to the page. */
export function transformersJsInPage(device: PageDevice, folder = FIXTURE_FOLDER) {
  return {
    name: `transformers.js-${device}-in-a-page`,
    runner: async () => {
      // What ran: the library, its onnxruntime-web, the device, and for WebGPU the adapter.
      const what = device === 'wasm' ? `${ort.wasm!.numThreads} wasm thread` : `adapter ${await webgpuAdapterName()}`;
      const backend = `transformers.js ${lib.env.version} web (AutoModelForCausalLM, its own forward), onnxruntime-web ${ort.versions?.web ?? 'unknown'} ${device} fp32 (${what}), ${split(folder).model}/onnx/model.onnx`;
      return new TransformersJsInPage(`transformers.js-${device}`, backend, device, folder);
    },
  };
}

/**
 * Loads transformers.js (@huggingface/transformers) so that it works the same in plain Node, under jest,
 * and inside an adapter bundle that the registry compiled into the temp folder.
 *
 * The package is ESM ("type": "module"), but it also ships a CommonJS build for Node
 * (dist/transformers.node.cjs, its exports' `node.require` condition), so it is `require`d: no dynamic
 * import(), which jest's vm would have to support (--experimental-vm-modules) and which swc would compile
 * back to require anyway.
 *
 * Under jest it is required by the main realm's require, not by jest's: transformers.js creates
 * onnxruntime-node with its own createRequire, so the native binding (and onnxruntime-common's `data
 * instanceof Float32Array` checks) live in Node's main realm, while code required by jest runs in a vm
 * context whose typed-array constructors are others (jestjs/jest#11864; runners/realm.ts has the bridge,
 * which runners/onnx/ort.ts uses too). Loading the whole library in the main realm keeps its Tensor,
 * onnxruntime-common and the binding together; this side then hands it typed arrays of the main realm
 * (toMainRealm) and re-views what it returns (fromMainRealm): same memory, no copy. Outside jest both realms
 * are the same and nothing is re-viewed. runners/onnx/ort.ts itself is not imported here: it loads the
 * project's onnxruntime-node, which transformers.js does not use (it loads its own).
 *
 * The package is resolved from gpt2-spec's package.json (runners/paths.ts packageRoot), where it is a
 * devDependency, not from this file: bundled into an adapter, this file's __filename is the adapter's own,
 * which need not lie in the checkout.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../paths';
import { mainRequire } from '../realm';
import type { Library } from './model-runner';

export type { Library } from './model-runner';

let library: Library | undefined;

/** transformers.js, loaded once, offline: env.allowRemoteModels is false, so nothing is ever fetched from the Hub. */
export function loadLibrary(): Library {
  if (library) return library;
  const lib = mainRequire(join(packageRoot(), 'package.json'))('@huggingface/transformers') as Library;
  lib.env.allowRemoteModels = false;
  lib.env.allowLocalModels = true;
  library = lib;
  return lib;
}

/** The installed versions: transformers.js, and the onnxruntime-node it runs on. */
export function libraryVersions(): { transformersJs: string; onnxruntime: string } {
  const lib = loadLibrary();
  const anchor = join(packageRoot(), 'package.json');
  let onnxruntime = 'unknown';
  try {
    // onnxruntime-node as transformers.js resolves it (its own dependency, 1.30.0 in its package.json).
    const fromLibrary = createRequire(createRequire(anchor).resolve('@huggingface/transformers'));
    onnxruntime = (JSON.parse(readFileSync(fromLibrary.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // the version is for the report only
  }
  return { transformersJs: lib.env.version, onnxruntime };
}

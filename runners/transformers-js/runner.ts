/**
 * The transformers.js runner: gpt2-mini as transformers.js runs it, through its own model class
 * (AutoModelForCausalLM -> GPT2LMHeadModel) and its own forward, from the folder
 * fixtures/transformers-js/gpt2-mini (scripts/fixtures/transformers_js.py writes it: the fixture model's
 * config.json and its torch.onnx.export decoder as onnx/model.onnx), on the library's Node build.
 *
 * The forward, the refusal of another model and the conversions are model-runner.ts's, shared with the
 * runner of the web build in a browser page; this file reads the folder from disk. The components are inside
 * the ONNX graph, so every other method throws NotExposedError; greedy generation follows from forward
 * (runners/generate.ts).
 *
 * The folder holds one model; load() refuses another (compared by config) with a NotExposedError that names
 * the difference. The weights themselves are the ONNX file's: load() does not read the checkpoint's tensors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PreTrainedModel } from '@huggingface/transformers';
import type { Gpt2Config } from '../contract';
import { CheckpointError } from '../errors';
import { fixturesRoot, packageRoot } from '../paths';
import { type Library, libraryVersions, loadLibrary } from './library';
import { folderConfigOf, TransformersJsModelRunner } from './model-runner';

/** The folder the runner loads by default: fixtures/transformers-js/gpt2-mini. */
export const defaultModelFolder = (): string => join(fixturesRoot(), 'transformers-js', 'gpt2-mini');

/** What config.json says, in the contract's words, checked as a checkpoint's config is (parseConfig); it must be a gpt2 one. */
export function folderConfig(folder: string): Gpt2Config {
  const path = join(folder, 'config.json');
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing (run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return folderConfigOf(json, path);
}

/** from_pretrained reads env.localModelPath after awaiting; loads are queued so that two never mix folders. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs `load` with env.localModelPath set to the folder's parent; returns what it returns, one load at a time. */
export function fromFolder<T>(lib: Library, folder: string, load: (id: string) => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    lib.env.localModelPath = `${dirname(resolve(folder))}/`;
    return load(basename(folder));
  });
  queue = run.catch(() => undefined);
  return run;
}

/** A folder as messages show it: relative to the checkout when inside it. */
function shown(folder: string): string {
  try {
    const rel = relative(packageRoot(), folder);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
  } catch {
    return folder;
  }
}

export interface TransformersJsRunnerOptions {
  /** The model folder (default fixtures/transformers-js/gpt2-mini). */
  folder?: string;
}

export class TransformersJsRunner extends TransformersJsModelRunner {
  readonly name = 'transformers.js';
  readonly folder: string;

  constructor(opts: TransformersJsRunnerOptions = {}) {
    super();
    this.folder = resolve(opts.folder ?? defaultModelFolder());
  }

  get backend(): string {
    const v = libraryVersions();
    return `transformers.js ${v.transformersJs} (AutoModelForCausalLM, its own forward), onnxruntime-node ${v.onnxruntime} cpu fp32, ${basename(this.folder)}/onnx/model.onnx`;
  }

  protected get wholeModel(): string {
    return `${basename(this.folder)}/onnx/model.onnx`;
  }

  protected get shownFolder(): string {
    return shown(this.folder);
  }

  protected folderConfig(): Gpt2Config {
    return folderConfig(this.folder);
  }

  protected async openModel(): Promise<{ lib: Library; model: PreTrainedModel }> {
    const onnx = join(this.folder, 'onnx', 'model.onnx');
    if (!existsSync(onnx)) throw new CheckpointError(`${onnx}: missing (run .venv/bin/python scripts/fixtures/transformers_js.py --out fixtures)`);
    const lib = loadLibrary();
    const model = await fromFolder(lib, this.folder, (id) =>
      lib.AutoModelForCausalLM.from_pretrained(id, { local_files_only: true, dtype: 'fp32', device: 'cpu' }),
    );
    return { lib, model };
  }
}

export function createTransformersJsRunner(opts: TransformersJsRunnerOptions = {}): TransformersJsRunner {
  return new TransformersJsRunner(opts);
}

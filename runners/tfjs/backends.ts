/**
 * TensorFlow.js backends: which one runs, how it is registered, and what it is called in the report.
 *
 * Best first: tfjs-node-gpu (libtensorflow with CUDA), tfjs-node (libtensorflow on the CPU), wasm
 * (XNNPACK, SIMD), cpu (pure JavaScript). GPT2_TFJS_BACKEND, or the runner's `backend` option, forces one.
 *
 * One tfjs-core. Every backend registers itself on the tfjs-core that `require('@tensorflow/tfjs-core')`
 * returns here: the wasm and cpu packages import it as a peer, and tfjs-node (-gpu) imports
 * `@tensorflow/tfjs`, which re-exports the same hoisted tfjs-core 4.22 and on which it registers a
 * backend named 'tensorflow'. tfjs-core also keeps its engine and kernel registry on the global object,
 * so even a duplicate copy would register into the same engine; we still check that the backend we
 * asked for is then known to our tfjs-core, and say so if it is not.
 *
 * The engine is process-global: it has one active backend at a time, and this module never changes it
 * except through `activate()`, which a runner calls before each of its calls.
 */
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as TfjsWasm from '@tensorflow/tfjs-backend-wasm';
import { activate, TfjsBackendError } from './engine';

export { activate, TfjsBackendError } from './engine';

export type TfjsBackendChoice = 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** Best first: the order in which the default runner tries the backends. */
export const BACKEND_PREFERENCE: readonly TfjsBackendChoice[] = ['node-gpu', 'node', 'wasm', 'cpu'];

export const BACKEND_ENV = 'GPT2_TFJS_BACKEND';


/** A backend made ready: the name the tfjs engine knows it by, and what the report calls it. */
export interface TfjsBackend {
  choice: TfjsBackendChoice;
  /** The tfjs-core backend name: 'tensorflow' (tfjs-node and tfjs-node-gpu), 'wasm' or 'cpu'. */
  engineName: string;
  /** e.g. 'tfjs 4.22 wasm (simd, 1 thread)'. */
  description: string;
}

const PACKAGES: Record<TfjsBackendChoice, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const INSTALL: Record<TfjsBackendChoice, string> = {
  'node-gpu':
    'it needs Linux with an NVIDIA GPU and CUDA, and a machine with internet access, since its install script downloads libtensorflow: npm install @tensorflow/tfjs-node-gpu',
  node: 'it needs a machine with internet access, since its install script downloads libtensorflow: npm install @tensorflow/tfjs-node',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm',
  cpu: 'npm install @tensorflow/tfjs-backend-cpu',
};

export function isBackendChoice(value: unknown): value is TfjsBackendChoice {
  return typeof value === 'string' && (BACKEND_PREFERENCE as readonly string[]).includes(value);
}

/** The backend GPT2_TFJS_BACKEND forces, if any; a value that names no backend is an error, not ignored. */
export function forcedBackend(env = process.env[BACKEND_ENV]): TfjsBackendChoice | undefined {
  const value = env?.trim();
  if (!value) return undefined;
  if (!isBackendChoice(value)) throw new TfjsBackendError(`${BACKEND_ENV}='${env}' names no tfjs backend: use one of ${BACKEND_PREFERENCE.join(', ')}`);
  return value;
}

/**
 * tfjs's production mode: no "install tfjs-node" banner from the cpu backend, no "kernel already
 * registered" or init-failure warnings. It is a process-wide tfjs flag, set before any backend loads.
 */
function quiet(): void {
  if (!tf.env().getBool('PROD')) tf.enableProdMode();
  // libtensorflow (tfjs-node) logs its CPU-feature and device notes to stderr unless told not to.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
}

const coreVersion = () => tf.version_core.split('.').slice(0, 2).join('.'); // '4.22.0' -> '4.22'

/** Which native package registered 'tensorflow' in this process: tfjs-node and tfjs-node-gpu cannot both. */
let nativeLoaded: 'node' | 'node-gpu' | undefined;

/** Loads the package of a backend, which registers it on the engine; throws a message saying how to install it. */
function register(choice: TfjsBackendChoice): unknown {
  const pkg = PACKAGES[choice];
  if ((choice === 'node' || choice === 'node-gpu') && nativeLoaded && nativeLoaded !== choice) {
    throw new TfjsBackendError(`${pkg} cannot load: ${PACKAGES[nativeLoaded]} already registered the 'tensorflow' backend in this process, and only one of them can`);
  }
  let mod: unknown;
  try {
    // A plain require, so that a missing package (MODULE_NOT_FOUND) or a missing native binary
    // (tfjs-node's "tfjs_binding.node can not be found") is caught here, whatever the loader.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(pkg);
  } catch (e) {
    const why = (e as { code?: string }).code === 'MODULE_NOT_FOUND' ? `${pkg} is not installed` : `${pkg} failed to load (${firstLine(e)})`;
    throw new TfjsBackendError(`tfjs backend '${choice}' is unavailable: ${why}; ${INSTALL[choice]}`);
  }
  if (choice === 'node' || choice === 'node-gpu') nativeLoaded = choice;
  const engineName = engineNameOf(choice);
  if (tf.findBackendFactory(engineName) == null) {
    throw new TfjsBackendError(
      `tfjs backend '${choice}': ${pkg} loaded but registered no '${engineName}' backend on @tensorflow/tfjs-core ${tf.version_core}; ` +
        `it probably uses another copy of tfjs-core: install matching versions (npm ls @tensorflow/tfjs-core) and run npm dedupe`,
    );
  }
  return mod;
}

function engineNameOf(choice: TfjsBackendChoice): string {
  return choice === 'node' || choice === 'node-gpu' ? 'tensorflow' : choice;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Makes `engineName` the engine's active backend, initializing it on first use. */

/** Registers and initializes one backend; throws a TfjsBackendError that says how to install it when it cannot run. */
export async function prepareBackend(choice: TfjsBackendChoice): Promise<TfjsBackend> {
  quiet();
  const mod = register(choice);
  if (choice === 'wasm') {
    // The .wasm binaries sit beside the package's Node entry point (dist/); say so explicitly, so
    // that they are found offline whatever the working directory. A no-op once the backend runs.
    (mod as typeof TfjsWasm).setWasmPaths(`${dirname(require.resolve(PACKAGES.wasm))}/`);
  }
  const engineName = engineNameOf(choice);
  try {
    // Always setBackend here, even when this backend is already the active one: it (re)runs the kernels'
    // setup on the backend instance. Loading a second copy of a backend package (another jest module
    // registry on the same global engine, say) replaces the registered kernels with ones never set up.
    if (!(await tf.setBackend(engineName))) throw new Error(`tf.setBackend('${engineName}') returned false`);
  } catch (e) {
    throw new TfjsBackendError(`tfjs backend '${choice}' is unavailable: ${PACKAGES[choice]} is installed but its backend did not initialize (${firstLine(e)}); ${INSTALL[choice]}`);
  }
  return { choice, engineName, description: await describe(choice, mod) };
}

/** What the report calls the backend, e.g. 'tfjs 4.22 wasm (simd, 1 thread)'. */
async function describe(choice: TfjsBackendChoice, mod: unknown): Promise<string> {
  const head = `tfjs ${coreVersion()}`;
  if (choice === 'cpu') return `${head} cpu (pure JavaScript)`;
  if (choice === 'wasm') {
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    // Ask the backend instance the engine runs, not our copy of the package: the engine is global, and
    // its 'wasm' backend may have been created by another copy (jest can hand a test file the engine
    // its global setup made), whose module state our copy's getThreadsCount() cannot see.
    const instance = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
    const threads = instance.wasm?.tfjs?.getThreadsCount?.() ?? (mod as typeof TfjsWasm).getThreadsCount();
    return `${head} wasm (${simd ? 'simd' : 'no simd'}, ${threads} thread${threads === 1 ? '' : 's'})`;
  }
  const version = (mod as { version?: Record<string, string> })?.version?.[choice === 'node' ? 'tfjs-node' : 'tfjs-node-gpu'];
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  const details = [version && `${PACKAGES[choice].slice('@tensorflow/'.length)} ${version}`, binding?.TF_Version && `libtensorflow ${binding.TF_Version}`].filter(Boolean);
  return `${head} tensorflow${choice === 'node-gpu' ? ' gpu' : ''}${details.length ? ` (${details.join(', ')})` : ''}`;
}

/**
 * The backend a runner gets: the one asked for (option, then GPT2_TFJS_BACKEND), which must load;
 * otherwise the best one that loads here. `tried` says why better ones were passed over.
 */
export async function chooseBackend(asked?: TfjsBackendChoice): Promise<TfjsBackend & { tried: string[] }> {
  if (asked !== undefined && !isBackendChoice(asked)) throw new TfjsBackendError(`unknown tfjs backend '${String(asked)}': use one of ${BACKEND_PREFERENCE.join(', ')}`);
  const forced = asked ?? forcedBackend();
  if (forced) return { ...(await prepareBackend(forced)), tried: [] };
  const tried: string[] = [];
  for (const choice of BACKEND_PREFERENCE) {
    try {
      return { ...(await prepareBackend(choice)), tried };
    } catch (e) {
      tried.push(firstLine(e));
    }
  }
  throw new TfjsBackendError(`no tfjs backend runs here: ${tried.join('; ')}`);
}

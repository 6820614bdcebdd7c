/**
 * The TensorFlow.js runner. `createTfjsRunner()` runs on the best backend here (tfjs-node-gpu,
 * tfjs-node, wasm, cpu); `GPT2_TFJS_BACKEND` or `{ backend }` forces one, and a forced backend that
 * cannot run throws a TfjsBackendError that says how to install it. See docs/tfjs.md.
 */
import { chooseBackend, type TfjsBackendChoice } from './backends';
import { TfjsRunner } from './runner';

export { BACKEND_ENV, BACKEND_PREFERENCE, TfjsBackendError, type TfjsBackendChoice } from './backends';
export { TfjsRunner } from './runner';

export interface TfjsRunnerOptions {
  /** Forces a backend; it wins over GPT2_TFJS_BACKEND. Without either, the best that loads here runs. */
  backend?: TfjsBackendChoice;
  /** The runner's name in reports; by default 'tfjs', or 'tfjs-<backend>' when a backend is given. */
  name?: string;
}

export async function createTfjsRunner(opts: TfjsRunnerOptions = {}): Promise<TfjsRunner> {
  const backend = await chooseBackend(opts.backend);
  return new TfjsRunner(opts.name ?? (opts.backend ? `tfjs-${opts.backend}` : 'tfjs'), backend);
}

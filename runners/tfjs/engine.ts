/**
 * Making a backend tfjs's active one, with no Node APIs: the runner (runner.ts) calls it before each of
 * its calls, in Node and inside a browser page alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Gpt2SpecError } from '../errors';

/** A backend that cannot run here, or a GPT2_TFJS_BACKEND value that names none. */
export class TfjsBackendError extends Gpt2SpecError {}

export async function activate(engineName: string): Promise<void> {
  if (tf.getBackend() === engineName) return;
  if (!(await tf.setBackend(engineName))) throw new TfjsBackendError(`tfjs could not initialize its '${engineName}' backend`);
}

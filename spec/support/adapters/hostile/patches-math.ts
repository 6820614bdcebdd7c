/** Makes every difference look like zero (Math.abs, Number.isFinite patched) and returns zeros from the feed-forward network. */
import { float64 } from '../../../../runners/tensor';
import type { Tensor } from '../../../../runners/contract';
import { referenceWith } from './base';

Math.abs = () => 0;
Math.max = () => 0;
Number.isFinite = () => true;
export default { name: 'patches-math', runner: () => referenceWith('patches-math', { mlp: (x: Tensor) => Promise.resolve(float64(x.shape)) }) };

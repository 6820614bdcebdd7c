/** Spins forever, synchronously, in the feed-forward network: no promise, no timer can interrupt it. */
import { referenceWith } from './base';

const spin = (): never => {
  for (;;);
};
export default { name: 'loop-in-mlp', runner: () => referenceWith('loop-in-mlp', { mlp: spin }) };

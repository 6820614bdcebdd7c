/** Allocates without bound in the feed-forward network, outside V8's heap (typed arrays), touching every page. */
import { referenceWith } from './base';

const hoard: Float64Array[] = [];
const allocate = () => {
  for (;;) hoard.push(new Float64Array(16 * 1024 * 1024).fill(1));
};
export default { name: 'allocates', runner: () => referenceWith('allocates', { mlp: allocate }) };

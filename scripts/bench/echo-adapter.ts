/** A runner whose feed-forward network returns its input untouched: the protocol's own cost, with no work beside it. */
import type { Tensor } from '../../runners/contract';
import { ReferenceRunner } from '../../runners/reference/runner';

export default {
  name: 'echo',
  runner: () => Object.assign(new ReferenceRunner(), { name: 'echo', mlp: (x: Tensor) => Promise.resolve(x) }),
};

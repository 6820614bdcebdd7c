/** A numerically correct runner that refuses bad token ids with a RangeError of its own, not a TokenIdError. */
import type { Tensor } from '../../../runners/contract';
import { ReferenceRunner } from '../../../runners/reference/runner';

class RangeErrorRunner extends ReferenceRunner {
  override async embed(ids: Tensor, pastLength = 0): Promise<Tensor> {
    return super.embed(ids, pastLength).catch((e: Error) => {
      throw e.name === 'TokenIdError' ? new RangeError(e.message) : e;
    });
  }
}

export default { name: 'refuses-with-range-error', runner: () => new RangeErrorRunner('refuses-with-range-error') };

/** An adapter whose embedding throws a plain object, not an Error: it must be reported as such, never crash the judge. */
import { ReferenceRunner } from '../../../runners/reference/runner';

const embed = () => Promise.reject({ message: 42 });
export default { name: 'throws-non-error', runner: () => Object.assign(new ReferenceRunner('throws-non-error'), { embed }) };

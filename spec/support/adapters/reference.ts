/** The reference runner as an adapter module: what a correct third-party runner looks like to the harness. */
import { ReferenceRunner } from '../../../runners/reference/runner';

export default { name: 'reference-adapter', runner: () => new ReferenceRunner() };

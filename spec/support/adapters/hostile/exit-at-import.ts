/** Ends its own process, with status 0, as soon as it is imported. */
import { referenceWith } from './base';

process.exit(0);
export default { name: 'exit-at-import', runner: () => referenceWith('exit-at-import', {}) };

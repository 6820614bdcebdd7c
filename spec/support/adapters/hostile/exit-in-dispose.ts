/** Ends its own process, with status 0, when it is disposed; every computation is correct. */
import { referenceWith } from './base';

export default { name: 'exit-in-dispose', runner: () => referenceWith('exit-in-dispose', { dispose: () => process.exit(0) }) };

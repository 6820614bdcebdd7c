/** Answers the feed-forward network with a promise that never settles. */
import { referenceWith } from './base';

export default { name: 'never-settles', runner: () => referenceWith('never-settles', { mlp: () => new Promise(() => undefined) }) };

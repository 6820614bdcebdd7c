/** The reference runner and tokenizer as an adapter module: what a correct third-party adapter looks like to the harness. */
import { ReferenceRunner } from '../../../runners/reference/runner';
import { loadReferenceTokenizer } from '../../../runners/reference/tokenizer';

export default { name: 'reference-adapter', runner: () => new ReferenceRunner(), tokenizer: () => loadReferenceTokenizer() };

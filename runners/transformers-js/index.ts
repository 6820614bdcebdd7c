/**
 * The transformers.js adapter (@huggingface/transformers 4.x): the first implementation the spec checks
 * that gpt2-spec did not write. An adapter module, as runners/registry.ts's loadAdapter reads one:
 *
 *   GPT2_SPEC_RUNNERS=runners/transformers-js/index.ts npx jest spec/07 spec/08
 *   npx gpt2-spec check --runner runners/transformers-js/index.ts
 *
 * runner     gpt2-mini through transformers.js's own GPT2LMHeadModel.forward (runner.ts)
 * tokenizer  GPT-2's tokenizer through transformers.js's AutoTokenizer (tokenizer.ts)
 * docs/transformers-js.md tells how the folders are made and what transformers.js gets right and wrong.
 */
import { createTransformersJsRunner } from './runner';
import { createTransformersJsTokenizer } from './tokenizer';

export { type Library, libraryVersions, loadLibrary } from './library';
export { bridged, fromMainRealm, toMainRealm } from '../realm';
export { createTransformersJsRunner, defaultModelFolder, folderConfig, TransformersJsRunner, type TransformersJsRunnerOptions } from './runner';
export { createTransformersJsTokenizer, defaultTokenizerFolder, END_OF_TEXT, END_OF_TEXT_ID, loadLibraryTokenizer, TransformersJsTokenizer, VOCAB_SIZE } from './tokenizer';

export default {
  name: 'transformers.js',
  runner: () => createTransformersJsRunner(),
  tokenizer: () => createTransformersJsTokenizer(),
};

/**
 * Published facts about GPT-2's vocabulary, which the tokenizer chapter holds every tokenizer to:
 * 50257 ids, the last of which, 50256, is <|endoftext|>. They are the spec's own, apart from the
 * runners' copy, so that an expected value never comes from the code under test.
 */
export const END_OF_TEXT = '<|endoftext|>';
export const VOCAB_SIZE = 50257;
export const END_OF_TEXT_ID = 50256;

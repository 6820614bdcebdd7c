/**
 * The bugs of the gpt-tokenizer library that runners/gpt-tokenizer works around. The spec checks
 * that the library itself still has each one, on a golden case, so that when a release fixes it the
 * failing check says the workaround can go.
 */
import { decoder as sharedDecoder } from 'gpt-tokenizer/cjs/BytePairEncodingCore';
import { decode, encode } from 'gpt-tokenizer/cjs/encoding/r50k_base';
import { findCase, findDecodeCase } from './cases';
import { sameIds } from './check';

export interface LibraryBug {
  title: string;
  workaround: string;
  /** True while the library still gets the golden wrong. */
  stillThere: () => boolean;
}

/** The library streams every decode through one TextDecoder; a probe starts and ends it clean. */
function isolated<T>(probe: () => T): T {
  sharedDecoder.decode();
  try {
    return probe();
  } finally {
    sharedDecoder.decode();
  }
}

export const gptTokenizerBugs: LibraryBug[] = [
  {
    title: "encode with allowedSpecial 'all' misses <|endoftext|> anywhere but at the start",
    workaround: 'the adapter splits the text on <|endoftext|> itself',
    stillThere: () => {
      const golden = findCase('special-tokens/in-the-middle-special');
      return !sameIds(encode(golden.text, { allowedSpecial: 'all' }), golden.ids);
    },
  },
  {
    title: "encode with allowedSpecial 'all' garbles a <|endoftext|> right after another",
    workaround: 'the adapter splits the text on <|endoftext|> itself',
    stillThere: () => {
      const golden = findCase('special-tokens/repeated-adjacent-special');
      return !sameIds(encode(golden.text, { allowedSpecial: 'all' }), golden.ids);
    },
  },
  {
    title: 'decode drops the bytes of a character cut short at the end',
    workaround: "the adapter decodes ids that are not whole characters from the library's token table",
    stillThere: () => {
      const golden = findDecodeCase('decode-invalid-utf8/truncated-emoji-at-end');
      return isolated(() => decode(golden.ids)) !== golden.text;
    },
  },
  {
    title: 'decode carries those bytes over into the next call',
    workaround: "the adapter decodes ids that are not whole characters from the library's token table",
    stillThere: () => {
      const cut = findDecodeCase('decode-invalid-utf8/lone-lead-byte-of-four');
      const next = findDecodeCase('decode-invalid-utf8/valid-split-over-byte-tokens');
      return isolated(() => {
        decode(cut.ids);
        return decode(next.ids) !== next.text;
      });
    },
  },
  {
    title: 'decode loses a cut character that a whole-character token follows',
    workaround: "the adapter decodes ids that are not whole characters from the library's token table",
    stillThere: () => {
      const golden = findDecodeCase('decode-invalid-utf8/truncated-emoji-then-ascii');
      return isolated(() => decode(golden.ids)) !== golden.text;
    },
  },
];

/**
 * encoder.py's bpe(), re-typed on strings, with no cache, no ids and no queue: the plain definition that
 * the reference's fast merge (ids, hash table, scan and queue, cache, windows) is checked against.
 *
 *   while True:
 *       bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float('inf')))
 *       if bigram not in self.bpe_ranks: break
 *       ... merge every occurrence of bigram, left to right ...
 */
import type { BpeFiles } from '../../../runners/reference/tokenizer';
import { textToByteChars } from '../../../runners/reference/tokenizer-bytes';
import { splitIntoPreTokens } from '../../../runners/reference/tokenizer-pretokenize';

export class BpeOracle {
  private readonly ranks = new Map<string, number>();
  private readonly vocab: Readonly<Record<string, number>>;

  constructor(files: BpeFiles) {
    this.vocab = files.vocab;
    files.merges.forEach(([left, right], rank) => {
      if (!this.ranks.has(`${left} ${right}`)) this.ranks.set(`${left} ${right}`, rank);
    });
  }

  /** The merged symbols of one pre-token's stand-in characters. */
  bpe(chars: string): string[] {
    let word = Array.from(chars);
    for (;;) {
      let best: string | undefined;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [`${word[i]} ${word[i + 1]}`, rank];
      }
      if (best === undefined) return word;
      const [first, second] = best.split(' ') as [string, string];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else merged.push(word[i++]!);
      }
      word = merged;
    }
  }

  /** The ids of text with no special token: the reference's pre-tokens, each merged by bpe(). */
  encode(text: string): number[] {
    return splitIntoPreTokens(text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')).flatMap((preToken) => this.bpe(textToByteChars(preToken)).map((symbol) => this.vocab[symbol]!));
  }
}

/**
 * Tokenizer throughput, for each built-in tokenizer (or those in GPT2_SPEC_TOKENIZERS):
 *   - about 1 MB of English prose, made here from a seeded generator, so every run reads the same text;
 *   - a run of 100 000 copies of one character, where a quadratic merge loop shows.
 * Not a test: it prints numbers and checks only that every tokenizer gives the same ids.
 *
 *   node -r esbuild-register scripts/bench-tokenizer.ts
 *   node -r esbuild-register scripts/bench-tokenizer.ts --long 100 [--repeats 3]
 *
 * --long MB: the reference tokenizer alone on MB megabytes of one letter, of spaces and of seeded random
 * bytes (decoded with U+FFFD for invalid UTF-8, as `tokenize --replace-invalid` reads them): its encode
 * in process, then the command end to end (`node bin/gpt2-spec.js tokenize`, the text on standard input,
 * the JSON array of ids on standard output, which must hold the ids encode gave). Run `npm ci` first.
 */
import { performance } from 'node:perf_hooks';
import type { Gpt2Tokenizer } from '../runners/contract';
import { TokenizerError } from '../runners/errors';
import { selectTokenizers } from '../runners/tokenizers';
import { seededRandom } from '../runners/weights/seeded';
import { benchLong } from './bench-tokenizer-long';
import { median } from './bench/timing';


const SENTENCES = [
  'The {noun} of {place} was older than anyone in the village could remember.',
  'In {year}, {name} walked {number} miles to {place} and did not once complain of the cold.',
  '"I shall not go back," said {name}, "not for all the {noun}s in {place}."',
  "It wasn't the {noun} that frightened them; it was the silence after it.",
  'They counted {number} {noun}s on the road, and {number} more beyond the bridge.',
  'Whatever {name} had meant by it, the letter of {year} said nothing more.',
  'Rain fell on {place} for {number} days, and the river rose above its banks.',
  '{name} laughed, put down the {noun}, and asked whether supper was ready yet.',
  'Some said the {noun} had come from {place}; others, that it had always been there.',
  'By the end of {year} the old mill had closed, and the {noun}s were sold at auction.',
];
const WORDS: Record<string, string[]> = {
  noun: ['lantern', 'harbour', 'orchard', 'carriage', 'sparrow', 'ledger', 'chimney', 'meadow', 'compass', 'violin'],
  place: ['Ashford', 'the northern moors', 'Kingsbridge', 'the valley', 'Port Elwyn', 'the old quarter', 'Marlow'],
  name: ['Eleanor', 'Mr. Thwaite', 'young Tobias', 'the widow Hale', 'Captain Rourke', 'Margaret', 'Old Jem'],
};

export function englishText(targetBytes: number, seed = 1859): string {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const sentenceCount = 3 + Math.floor(random() * 5);
    const paragraph: string[] = [];
    for (let i = 0; i < sentenceCount; i++) {
      paragraph.push(
        pick(SENTENCES).replace(/\{(\w+)\}/g, (_, slot: string) => {
          if (slot === 'year') return String(1800 + Math.floor(random() * 120));
          if (slot === 'number') return String(2 + Math.floor(random() * 400));
          return pick(WORDS[slot] as string[]);
        }),
      );
    }
    const text = `${paragraph.join(' ')}\n\n`;
    parts.push(text);
    bytes += Buffer.byteLength(text);
  }
  return parts.join('');
}

function time<T>(run: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = run();
  return { ms: performance.now() - start, result };
}

const mbPerSecond = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(2);

/**
 * Encodes the text once with cold caches, then `repeats` more times (the tokenizers remember the
 * pre-tokens they have seen, so a repeat of a long run measures only the cache), then decodes it.
 */
function benchText(tokenizer: Gpt2Tokenizer, label: string, text: string, repeats: number): number[] {
  const bytes = Buffer.byteLength(text);
  const cold = time(() => tokenizer.encode(text));
  const warm: number[] = [];
  for (let i = 0; i < repeats; i++) warm.push(time(() => tokenizer.encode(text)).ms);
  const decoded = time(() => tokenizer.decode(cold.result));
  if (decoded.result !== text) throw new Error(`${tokenizer.name}: decode(encode(${label})) is not the text`);
  const warmPart = repeats > 0 ? `, again ${median(warm).toFixed(1).padStart(7)} ms (${mbPerSecond(bytes, median(warm)).padStart(6)} MB/s)` : '';
  console.log(
    `  ${label.padEnd(22)} ${String(cold.result.length).padStart(7)} ids | encode ${cold.ms.toFixed(1).padStart(8)} ms (${mbPerSecond(bytes, cold.ms).padStart(6)} MB/s)${warmPart}` +
      ` | decode ${decoded.ms.toFixed(1).padStart(6)} ms (${mbPerSecond(bytes, decoded.ms).padStart(6)} MB/s)`,
  );
  return cold.result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const long = argv.indexOf('--long');
  if (long >= 0) {
    const repeats = argv.indexOf('--repeats');
    return benchLong(Number(argv[long + 1]), repeats >= 0 ? Number(argv[repeats + 1]) : 3);
  }
  const { tokenizers, unavailable } = await selectTokenizers();
  for (const { name, reason } of unavailable) console.log(`${name}: not measured, it did not load (${reason})`);
  const english = englishText(1_000_000);
  const runs = { "'a' x 100 000": 'a'.repeat(100_000), "' ' x 100 000": ' '.repeat(100_000), "'\\n' x 100 000": '\n'.repeat(100_000) };
  console.log(`English prose: ${Buffer.byteLength(english)} bytes; node ${process.version}`);
  const idsByInput = new Map<string, { by: string; ids: number[] }>();
  const same = (label: string, by: string, ids: number[]) => {
    const first = idsByInput.get(label);
    if (!first) idsByInput.set(label, { by, ids });
    else if (first.ids.length !== ids.length || first.ids.some((id, i) => id !== ids[i])) console.log(`  ! ${by} and ${first.by} give different ids for ${label}`);
  };
  for (const tokenizer of tokenizers) {
    console.log(`${tokenizer.name}:`);
    same('English prose', tokenizer.name, benchText(tokenizer, 'English prose, ~1 MB', english, 3));
    for (const [label, text] of Object.entries(runs)) {
      try {
        same(label, tokenizer.name, benchText(tokenizer, label, text, 0));
      } catch (error) {
        // The adapters' guard refuses a long run without a word break (runners/tokenizer-chunks.ts): a figure of its own.
        if (!(error instanceof TokenizerError)) throw error;
        console.log(`  ${label.padEnd(22)} refused: ${error.message.split(';')[0]}`);
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

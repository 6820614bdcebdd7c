/**
 * `gpt2-spec generate`: continues a prompt token by token on any runner, printing each token as it
 * comes. Greedy by default; --temperature with --top-k and --seed samples instead, reproducibly.
 */
import { join } from 'node:path';
import type { Gpt2Runner, Gpt2Tokenizer, Tensor } from '../../runners/contract';
import { SequenceTooLongError } from '../../runners/errors';
import { generate as generateTokens, greedyNext, type NextTokens } from '../../runners/generate';
import { runnerSource } from '../../runners/registry';
import { BROWSER_FLAGS, browserRunners, withBrowserDefault } from './browser';
import { seededRandom } from '../../runners/weights/seeded';
import { fixturesDir, loadManifest } from '../../spec/support/fixtures';
import { formatHelp, num, parseArgs, str, UsageError, type FlagSpec } from './args';
import { loadWeightsArg, promptIds, tokenizerFor } from './inputs';

const FLAGS: FlagSpec[] = [
  { name: 'weights', type: 'string', value: 'DIR', help: 'a Hugging Face GPT-2 checkpoint folder (config.json, model.safetensors)' },
  { name: 'model', type: 'string', value: 'NAME', help: 'a shipped fixture model instead, e.g. gpt2-tiny' },
  { name: 'runner', type: 'string', value: 'NAME|PATH', help: 'the runner to generate with (default: reference)' },
  { name: 'prompt', type: 'string', value: 'TEXT', help: 'the text to continue' },
  { name: 'ids', type: 'string', value: 'JSON', help: 'token ids to continue instead of a prompt' },
  { name: 'max-new-tokens', type: 'number', value: 'N', help: 'how many tokens to add (default 20; stops at n_positions)' },
  { name: 'temperature', type: 'number', value: 'T', help: 'sample from softmax(logits / T) instead of taking the argmax' },
  { name: 'top-k', type: 'number', value: 'K', help: 'with --temperature: sample among the K most likely tokens only' },
  { name: 'seed', type: 'number', value: 'S', help: 'with --temperature: the random seed (default 0), for a reproducible sample' },
  ...BROWSER_FLAGS,
];

export const generateHelp = () =>
  formatHelp(
    'gpt2-spec generate (--weights DIR | --model NAME) [--runner NAME] (--prompt TEXT | --ids JSON) [--max-new-tokens N] [--temperature T --top-k K --seed S]',
    "Continues a prompt with a runner, printing each new token as it comes (greedy by default), using the KV cache.\nText is tokenized with the checkpoint's vocab.json/merges.txt when it has them, else with GPT-2's.",
    FLAGS,
  );


/** Samples from softmax(logits / temperature) of the last position, among the top k when given. */
export function sampleNext(logits: Tensor, temperature: number, topK: number | undefined, random: () => number): number {
  const V = logits.shape[2]!;
  const row = logits.data.subarray(logits.data.length - V);
  let order = Array.from({ length: V }, (_, v) => v);
  if (topK !== undefined && topK < V) order = order.sort((a, b) => row[b]! - row[a]! || a - b).slice(0, topK);
  const max = Math.max(...order.map((v) => row[v]!));
  const weights = order.map((v) => Math.exp((row[v]! - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = random() * total;
  for (let i = 0; i < order.length; i++) if ((u -= weights[i]!) <= 0) return order[i]!;
  return order[order.length - 1]!;
}

export async function generate(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(withBrowserDefault(argv), FLAGS, 'gpt2-spec generate');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}' (give the text with --prompt)`);
  const weightsDir = str(flags, 'weights');
  const model = str(flags, 'model');
  if (!weightsDir === !model) throw new UsageError('give either --weights DIR or --model NAME');
  let dir = weightsDir;
  if (model) {
    const models = loadManifest().models;
    const info = Object.hasOwn(models, model) ? models[model] : undefined; // own names only: not __proto__ or toString
    if (typeof info?.path !== 'string') throw new UsageError(`no fixture model '${model}': the shipped ones are ${Object.keys(models).join(', ')}`);
    dir = join(fixturesDir(), info.path);
  }
  if (str(flags, 'prompt') === undefined && str(flags, 'ids') === undefined) throw new UsageError('give the text to continue with --prompt TEXT (or --ids JSON)');
  const maxNew = num(flags, 'max-new-tokens') ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new UsageError('--max-new-tokens needs a whole number ≥ 1');
  const temperature = num(flags, 'temperature');
  if (temperature !== undefined && !(temperature > 0)) throw new UsageError('--temperature needs a number > 0');
  const topK = num(flags, 'top-k');
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new UsageError('--top-k needs a whole number ≥ 1');
  if (temperature === undefined && (topK !== undefined || num(flags, 'seed') !== undefined)) throw new UsageError('--top-k and --seed only apply with --temperature');

  const weights = loadWeightsArg(dir!);
  const prompt = promptIds(flags, dir, weights.config.vocabSize, '');
  const room = weights.config.nPositions - prompt.length;
  if (room < 1) throw new SequenceTooLongError(`the prompt has ${prompt.length} tokens: no room to continue within n_positions ${weights.config.nPositions}`);
  const tokenizer = weights.config.vocabSize === 50257 || str(flags, 'ids') === undefined ? tokenizerFor(dir) : undefined;
  const runner: Gpt2Runner = await runnerSource(browserRunners(flags, [str(flags, 'runner') ?? 'reference'])[0]!).create();
  try {
    await runner.load(weights);
    const random = seededRandom(num(flags, 'seed') ?? 0); // seeded, so that a sample can be repeated
    const next: NextTokens = temperature === undefined ? greedyNext : (logits) => [sampleNext(logits, temperature, topK, random)];
    const steps = Math.min(maxNew, room);
    const out = tokenizer ? textStream(tokenizer, prompt) : undefined;
    if (!out) process.stdout.write(`${JSON.stringify(prompt)} `);
    await generateTokens(runner, [prompt], steps, next, (ids) => (out ? out.push(ids) : process.stdout.write(`${JSON.stringify(ids)} `)));
    out?.flush();
    process.stdout.write('\n');
    if (steps < maxNew) process.stderr.write(`gpt2-spec generate: stopped after ${steps} tokens at n_positions ${weights.config.nPositions}\n`);
  } finally {
    await runner.dispose();
  }
  return 0;
}

/**
 * Prints text as tokens come. A character can span tokens (an emoji is several byte-level tokens), so the
 * whole sequence is decoded each time and only the new part printed, held back while it ends in U+FFFD.
 */
function textStream(tokenizer: Gpt2Tokenizer, prompt: number[]) {
  const ids = [...prompt];
  let printed = '';
  const emit = (final: boolean) => {
    const text = tokenizer.decode(ids);
    if (!final && text.endsWith('\uFFFD')) return;
    process.stdout.write(text.slice(printed.length));
    printed = text;
  };
  emit(false);
  return { push: (more: number[]) => (ids.push(...more), emit(false)), flush: () => emit(true) };
}

/**
 * `gpt2-spec compare`: the differential mode, for checkpoints without shipped goldens. The float64
 * reference and each runner get the same inputs, component by component in data-flow order, each
 * component fed the reference's output of the stage before (as the spec feeds goldens), and the
 * first component and layer where a runner leaves tolerance is named. Then a walk through the KV cache: a
 * prefill and cached calls, a multi-token one among them, each runner on its own cache.
 */
import type { Gpt2Runner, KvCache, LayerNormSite, Tensor } from '../../runners/contract';
import { ReferenceRunner } from '../../runners/reference/runner';
import { runnerSource, selectedRunnerIds } from '../../runners/registry';
import { ids as idsTensor, tensor } from '../../runners/tensor';
import { describeThrown } from '../../runners/protocol/remote-errors';
import { timeLimited } from '../../runners/time-limit';
import { firstLine, shown } from '../report/shown';
import { compareTensors, describeComparison } from '../../spec/support/compare';
import { tolerance } from '../../spec/support/fixtures';
import { formatHelp, list, parseArgs, str, UsageError, type FlagSpec } from './args';
import { loadWeightsArg, promptIds } from './inputs';
import { BROWSER_FLAGS, browserRunners, withBrowserDefault } from './browser';

const FLAGS: FlagSpec[] = [
  { name: 'weights', type: 'string', value: 'DIR', help: 'a Hugging Face GPT-2 checkpoint folder: config.json and model.safetensors (required)' },
  { name: 'runner', type: 'string', repeat: true, value: 'NAME|PATH', help: 'the runners to compare with the reference (default: every built-in runner but the reference)' },
  { name: 'prompt', type: 'string', value: 'TEXT', help: "the input text (default: 'The cat sat on the mat'), tokenized with the checkpoint's vocab.json/merges.txt or GPT-2's" },
  { name: 'ids', type: 'string', value: 'JSON', help: 'token ids instead of a prompt, e.g. [464, 3290]' },
  ...BROWSER_FLAGS,
];

export const compareHelp = () =>
  formatHelp(
    'gpt2-spec compare --weights DIR [--runner NAME|PATH]... [--prompt TEXT | --ids JSON]',
    'Compares runners with the float64 reference on a checkpoint that has no goldens, building block by building block,\nand names the first component and layer where each runner leaves tolerance.\nExit status: 0 when every runner stays within tolerance, 1 when one leaves it, 2 on a usage or set-up error.',
    FLAGS,
  );

interface Step {
  component: string;
  layer?: number;
  tensor: string;
  /** A trace field, which a runner may leave out (not exposed); any other step must answer a tensor. */
  optional?: boolean;
  run: (r: Gpt2Runner) => Promise<Tensor | undefined>;
}

/** The steps in data-flow order; each runner gets the reference's input for that step. */
async function planSteps(reference: Gpt2Runner, nLayer: number, input: Tensor): Promise<{ steps: Step[]; expected: Map<Step, Tensor> }> {
  const steps: Step[] = [];
  const expected = new Map<Step, Tensor>();
  // One traced attention call per runner and layer serves all seven attention steps.
  const traced = new WeakMap<Gpt2Runner, Map<number, ReturnType<Gpt2Runner['attention']>>>();
  const attention = (r: Gpt2Runner, x: Tensor, layer: number) => {
    const byLayer = traced.get(r) ?? new Map();
    traced.set(r, byLayer);
    if (!byLayer.has(layer)) byLayer.set(layer, r.attention(x, layer, { trace: true }));
    return byLayer.get(layer)!;
  };
  const add = async (step: Step) => {
    const want = await step.run(reference);
    steps.push(step);
    expected.set(step, want!);
    return want!;
  };
  let h = await add({ component: 'embed', tensor: 'embed.output', run: (r) => r.embed(input) });
  for (let i = 0; i < nLayer; i++) {
    const x = h;
    const ln1 = await add({ component: 'layer_norm', layer: i, tensor: `h.${i}.ln_1.output`, run: (r) => r.layerNorm(x, `h.${i}.ln_1` as LayerNormSite) });
    for (const [field, component] of [['query', 'attention.qkv'], ['key', 'attention.qkv'], ['value', 'attention.qkv'], ['scores', 'attention.scores'], ['weights', 'attention.weights'], ['context', 'attention.context']] as const) {
      await add({ component, layer: i, tensor: `h.${i}.attn.${field}`, optional: true, run: async (r) => (await attention(r, ln1, i)).trace?.[field] });
    }
    const attn = await add({ component: 'attention.output', layer: i, tensor: `h.${i}.attn.output`, run: async (r) => (await attention(r, ln1, i)).output });
    const residual: Tensor = { dtype: 'float64', shape: x.shape, data: Float64Array.from(x.data, (v, j) => v + attn.data[j]!) };
    const ln2 = await add({ component: 'layer_norm', layer: i, tensor: `h.${i}.ln_2.output`, run: (r) => r.layerNorm(residual, `h.${i}.ln_2` as LayerNormSite) });
    await add({ component: 'mlp.output', layer: i, tensor: `h.${i}.mlp.output`, run: (r) => r.mlp(ln2, i) });
    h = await add({ component: 'block', layer: i, tensor: `h.${i}.output`, run: (r) => r.block(x, i) });
  }
  const last = h;
  const lnf = await add({ component: 'layer_norm', tensor: 'ln_f.output', run: (r) => r.layerNorm(last, 'ln_f') });
  await add({ component: 'lm_head', tensor: 'logits', run: (r) => r.lmHead(lnf) });
  await add({ component: 'forward.logits', tensor: 'logits (whole forward)', run: async (r) => (await r.forward(input)).logits });
  for (const step of cacheWalk(input)) await add(step);
  return { steps, expected };
}

/**
 * The cache walk: the prompt fed as a prefill, then cached calls of one token, one token and the rest (a
 * multi-token call after a cache), each runner on its own cache. Each call's logits and returned cache are steps.
 */
function cacheWalk(input: Tensor): Step[] {
  const ids = Array.from(input.data);
  const prefill = Math.max(1, ids.length - 4);
  const cuts = [0, prefill, ...[prefill + 1, prefill + 2].filter((c) => c < ids.length), ids.length].filter((c, k, a) => k === 0 || c > a[k - 1]!);
  const calls = new WeakMap<Gpt2Runner, Map<number, Promise<{ logits: Tensor; present: KvCache }>>>();
  const call = (r: Gpt2Runner, k: number): Promise<{ logits: Tensor; present: KvCache }> => {
    const byCall = calls.get(r) ?? new Map();
    calls.set(r, byCall);
    if (!byCall.has(k)) {
      const past = k === 0 ? Promise.resolve(undefined) : call(r, k - 1).then((o) => o.present);
      byCall.set(k, past.then((p) => r.forward(idsTensor([ids.slice(cuts[k], cuts[k + 1])]), p)));
    }
    return byCall.get(k)!;
  };
  const steps: Step[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const what = `${k === 0 ? 'prefill' : `cached call ${k}`} of tokens ${cuts[k]}..${cuts[k + 1]! - 1}`;
    steps.push({ component: 'forward.logits', tensor: `${what}: logits`, run: async (r) => (await call(r, k)).logits });
    steps.push({ component: 'forward.present', tensor: `${what}: the cache it returns`, run: async (r) => flatCache((await call(r, k)).present) });
  }
  return steps;
}

/** A cache's keys and values of every layer as one tensor [2, nLayer, ...], to compare in one step. */
function flatCache(c: KvCache): Tensor {
  const parts = [...c.keys, ...c.values];
  const data = new Float64Array(parts.reduce((n, t) => n + t.data.length, 0));
  parts.reduce((at, t) => (data.set(t.data, at), at + t.data.length), 0);
  return tensor(parts[0]?.dtype ?? 'float64', [2, c.keys.length, ...(parts[0]?.shape ?? [0])], data); // a ShapeError when the layers differ
}

/** Runs every step on one runner, with a progress line each: where it first leaves tolerance, if it does, and how many steps it compared and did not expose. */
async function firstDivergence(runner: Gpt2Runner, steps: Step[], expected: Map<Step, Tensor>, log: (s: string) => void): Promise<{ first?: string; compared: number; notExposed: number }> {
  log(`  ${shown(runner.name)} (${shown(runner.backend)}):`);
  let first: string | undefined;
  let compared = 0;
  let notExposed = 0;
  for (const [n, step] of steps.entries()) {
    const where = `${step.component}${step.layer === undefined ? '' : ` in layer ${step.layer}`}`;
    const progress = (what: string) => log(`    [${n + 1}/${steps.length}] ${step.tensor}: ${what}`);
    let actual: Tensor | undefined;
    try {
      actual = await step.run(runner);
    } catch (e) {
      const thrown = describeThrown(e);
      if (thrown.name === 'NotExposedError') {
        notExposed++;
        continue;
      }
      const why = firstLine(`${thrown.name}: ${thrown.message}`);
      first ??= `${where} (${step.tensor}): threw ${why}`;
      progress(`ERROR ${why}`);
      continue;
    }
    if (actual === undefined) {
      // A trace field left out is not exposed; any other step that answers nothing has failed.
      if (step.optional) notExposed++;
      else {
        first ??= `${where} (${step.tensor}): answered nothing`;
        progress('ERROR answered nothing');
      }
      continue;
    }
    compared++;
    const tol = tolerance(step.component, (actual as Tensor).dtype ?? 'float32');
    const c = compareTensors(actual, expected.get(step)!, tol);
    progress(`${c.pass ? 'ok' : 'OUTSIDE'} (${c.problem ?? `${(c.usage * 100).toPrecision(3)}% of tolerance`})`);
    if (!c.pass) first ??= `${where} (${describeComparison(step.tensor, c, tol).split('\n').join('; ')})`;
  }
  return { first, compared, notExposed };
}

export async function compare(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(withBrowserDefault(argv), FLAGS, 'gpt2-spec compare');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const dir = str(flags, 'weights');
  if (!dir) throw new UsageError('compare needs --weights DIR (a checkpoint folder with config.json and model.safetensors)');
  const weights = loadWeightsArg(dir);
  const ids = promptIds(flags, dir, weights.config.vocabSize, 'The cat sat on the mat');
  const asked = browserRunners(flags, list(flags, 'runner'));
  const names = asked.length ? asked : selectedRunnerIds('').ids.filter((n) => n !== 'reference');
  const sources = names.map(runnerSource); // an unknown name or a missing adapter file: exit 2

  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`gpt2-spec compare: ${weights.config.nLayer} layers, D ${weights.config.nEmbd}, V ${weights.config.vocabSize}; ${ids.length} tokens ${JSON.stringify(ids.slice(0, 16))}${ids.length > 16 ? '…' : ''}`);
  log('  running the float64 reference…');
  const reference = new ReferenceRunner();
  await reference.load(weights);
  const input = idsTensor([ids]);
  const { steps, expected } = await planSteps(reference, weights.config.nLayer, input);
  await reference.dispose();

  // Exit 0 when every runner that ran stayed within tolerance, 1 when one left it or compared nothing, 2 when none ran.
  let ran = 0;
  let anyOutside = false;
  for (const source of sources) {
    let runner: Gpt2Runner | undefined;
    try {
      runner = timeLimited(await source.create());
      await runner.load(weights);
    } catch (e) {
      const { name, message } = describeThrown(e);
      process.stdout.write(`${shown(source.id)}: unavailable: ${firstLine(`${name}: ${message}`)}\n`);
      await runner?.dispose().catch(() => undefined);
      continue;
    }
    ran++;
    try {
      const { first, compared, notExposed } = await firstDivergence(runner, steps, expected, log);
      const exposedNote = notExposed ? ` (${notExposed} steps not exposed)` : '';
      const summary = first ? `first leaves tolerance at ${first}` : compared === 0 ? `nothing compared: every step was not exposed${exposedNote}` : `within tolerance at every step${exposedNote}`;
      process.stdout.write(`${shown(runner.name)}: ${shown(summary)}\n`);
      if (first || compared === 0) anyOutside = true;
    } finally {
      await runner.dispose().catch((e: unknown) => {
        process.stdout.write(`${shown(runner!.name)}: dispose() failed: ${firstLine(describeThrown(e).message)}\n`);
        anyOutside = true;
      });
    }
  }
  if (ran === 0) {
    process.stderr.write('gpt2-spec compare: no runner could run this checkpoint (each one is listed above with its reason)\n');
    return 2;
  }
  return anyOutside ? 1 : 0;
}

/**
 * Finds out, once per test run, which selected runners load here and what each exposes: the contract's
 * methods (an adapter may raise NotExposedError) and the attention trace's optional fields.
 * The spec files read the result synchronously, so that an unavailable runner or a field that is not
 * exposed becomes a skipped test whose title says why, never a silent pass.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Gpt2Runner } from '../../runners/contract';
import { NotExposedError } from '../../runners/errors';
import { builtinRunners, runnerSource, selectedRunnerIds } from '../../runners/registry';
import { float64, ids } from '../../runners/tensor';
import { START_LIMIT_MS } from '../../runners/protocol/process-runner';
import { componentTimeLimitMs, timeLimited, withTimeLimit } from '../../runners/time-limit';
import { loadModel, modelNames } from './fixtures';

export const METHODS = ['embed', 'layerNorm', 'attention', 'mlp', 'block', 'lmHead', 'forward'] as const;
export const TRACE_FIELDS = ['query', 'key', 'value', 'scores', 'weights', 'context'] as const;
export type Capability = (typeof METHODS)[number] | `trace.${(typeof TRACE_FIELDS)[number]}`;

export interface RunnerState {
  id: string;
  explicit: boolean;
  status: 'available' | 'unavailable';
  name?: string;
  backend?: string;
  reason?: string;
  /** The error's name when the runner is unavailable: a usage mistake (AdapterError) or a crash (RunnerCrashError, ...). */
  reasonName?: string;
  notExposed: Capability[];
  /** Fixture models this runner cannot run (e.g. an exported decoder runs only the model it was exported from), with why. */
  unsupportedModels: Record<string, string>;
}

const isNotExposed = (e: unknown) => e instanceof NotExposedError || (e as Error)?.name === 'NotExposedError';

/** Calls each method once on a tiny input; NotExposedError means "not exposed", anything else is for the spec to judge. */
async function probeCapabilities(r: Gpt2Runner, width: number): Promise<Capability[]> {
  const missing: Capability[] = [];
  const attempt = async <T>(name: Capability, call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (e) {
      if (isNotExposed(e)) missing.push(name);
      return undefined;
    }
  };
  // Any [1,3,D] activation will do for the probe: the embedding's when it is exposed, a ramp otherwise.
  const x = (await attempt('embed', () => r.embed(ids([[1, 2, 3]])))) ?? float64([1, 3, width], Array.from({ length: 3 * width }, (_, i) => Math.sin(i)));
  await attempt('layerNorm', () => r.layerNorm(x, 'ln_f'));
  const attended = await attempt('attention', () => r.attention(x, 0, { trace: true }));
  // Only a call that answered can leave a trace field out; one that threw is the spec's to report.
  if (attended) for (const f of TRACE_FIELDS) if (attended.trace?.[f] === undefined) missing.push(`trace.${f}`);
  await attempt('mlp', () => r.mlp(x, 0));
  await attempt('block', () => r.block(x, 0));
  await attempt('lmHead', () => r.lmHead(x));
  await attempt('forward', () => r.forward(ids([[1, 2, 3]])));
  return missing;
}

/** How many runner processes are probed at once: one a core (two at least, as each waits for its process to start), four at most. */
const PROCESSES_AT_ONCE = Math.max(2, Math.min(4, availableParallelism()));

export async function probeRunners(): Promise<RunnerState[]> {
  const { ids: selected, explicit } = selectedRunnerIds();
  const models = modelNames().sort((a, b) => loadModel(a).config.vocabSize - loadModel(b).config.vocabSize);
  // The built-in runners share this process (the tfjs backends, one ONNX Runtime), so they are probed one after another,
  // first: their computing would hold up the answers of runner processes past their time limits. Then the runners in
  // processes of their own, a few at a time. The states keep the selection's order.
  const states: RunnerState[] = new Array(selected.length);
  const at = (builtin: boolean) => selected.map((id, i) => ({ id, i })).filter(({ id }) => Object.hasOwn(builtinRunners, id) === builtin);
  const probeInto = async ({ id, i }: { id: string; i: number }) => {
    states[i] = await probeRunner(id, explicit, models);
  };
  await inTurn(at(true), 1, probeInto);
  // GPT2_SPEC_IN_PROCESS=1 (for a debugger) loads adapters into this process too: one after another then.
  await inTurn(at(false), process.env.GPT2_SPEC_IN_PROCESS === '1' ? 1 : PROCESSES_AT_ONCE, probeInto);
  return states;
}

/** `fn` over `items`, at most `width` at a time. */
async function inTurn<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

async function probeRunner(id: string, explicit: boolean, models: string[]): Promise<RunnerState> {
  const state: RunnerState = { id, explicit, status: 'available', notExposed: [], unsupportedModels: {} };
  let probed = false;
  try {
    // A short limit for the calls: the probe only makes tiny ones, and a hanging adapter should not stall the run.
    // Creating gets the start-up limit: a runner process may take a while to start (a Python importing torch).
    const limit = Math.min(componentTimeLimitMs(), 10_000);
    const created = withTimeLimit(Promise.resolve(runnerSource(id).create()), Math.max(componentTimeLimitMs(), START_LIMIT_MS + 5000), `creating ${id}`);
    // One instance for every model: a runner in another process starts once.
    const runner = timeLimited(await created, limit);
    state.name = runner.name;
    try {
      for (const model of models) {
        try {
          await runner.load(loadModel(model));
          state.backend = runner.backend;
          if (!probed) state.notExposed = await probeCapabilities(runner, loadModel(model).config.nEmbd);
          probed = true;
        } catch (e) {
          if (!isNotExposed(e)) throw e;
          state.unsupportedModels[model] = (e as Error).message;
        }
      }
    } finally {
      await runner.dispose().catch(() => undefined);
    }
    if (!probed) throw new Error(`runs none of the fixture models (${Object.values(state.unsupportedModels).join('; ')})`);
  } catch (e) {
    state.status = 'unavailable';
    state.reason = ((e as Error)?.message ?? String(e)).split('\n')[0];
    state.reasonName = (e as Error)?.name;
  }
  return state;
}

export const STATE_ENV = 'GPT2_SPEC_STATE';

export function writeRunnerStates(path: string, states: RunnerState[]): void {
  writeFileSync(path, JSON.stringify(states, null, 2));
}

let cached: RunnerState[] | undefined;

/** The probe's result, written by the global setup; a spec file run without it probes nothing and fails loudly. */
export function runnerStates(): RunnerState[] {
  if (cached) return cached;
  const path = process.env[STATE_ENV];
  if (!path) throw new Error(`${STATE_ENV} is not set: run the spec through jest, whose global setup probes the runners`);
  cached = JSON.parse(readFileSync(path, 'utf8')) as RunnerState[];
  return cached;
}

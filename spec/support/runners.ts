/**
 * Runs one spec over every selected runner, the way tfjs's describeWithFlags runs a suite over every
 * backend: the runner's name is in each test's title, so a failure says which runner failed.
 */
import { afterAll, describe, it } from '@jest/globals';
import type { Gpt2Runner, Gpt2Weights, KvCache, Tensor } from '../../runners/contract';
import { loadCheckpoint } from '../../runners/weights/checkpoint';
import { runnerSource } from '../../runners/registry';
import { timeLimited } from '../../runners/time-limit';
import { loadModel, type GoldenCase } from './fixtures';
import { forwardCases } from './goldens';
import { type Capability, runnerStates } from './probe';
import { record } from './record';

export interface RunnerUnderTest {
  /** The runner's name, as the report shows it. */
  name: string;
  backend: string;
  /** The runner loaded with a fixture model; one instance per model, created on first use and disposed after the file. */
  on(model: string): Promise<Gpt2Runner>;
  /** The runner loaded with a checkpoint folder outside the fixtures (e.g. the pretrained gpt2). */
  onCheckpoint(dir: string): Promise<Gpt2Runner>;
  exposes(capability: Capability): boolean;
  /** The forward cases of the models this runner runs; the others become skipped tests that say why. */
  forwardCases(): GoldenCase[];
  /** Whether this runner runs the given fixture model. */
  runs(model: string): boolean;
  /** forward() of a case's input ids, run once per case and shared by the tests that read it. */
  forwardOf(c: GoldenCase): Promise<{ logits: Tensor; present: KvCache }>;
}

/**
 * `needs` names the contract methods the whole describe relies on; a runner that does not expose one of
 * them gets a single skipped test saying so (and a "not exposed" record for `component`), not failures.
 */
export function describeEachRunner(title: string, needs: { methods: Capability[]; component: string }, body: (runner: RunnerUnderTest) => void): void {
  for (const state of runnerStates()) {
    if (state.status === 'unavailable') {
      describe(`${title} [${state.id}]`, () => {
        // A runner asked for by name must load; a default one that cannot is shown as skipped, with the reason.
        if (state.explicit) {
          it(`loads the ${state.id} runner`, () => {
            throw new Error(`${state.id} is unavailable: ${state.reason}`);
          });
        } else {
          it.skip(`is not checked on ${state.id}: unavailable here (${state.reason})`, () => undefined);
        }
      });
      continue;
    }
    const missing = needs.methods.filter((m) => state.notExposed.includes(m));
    if (missing.length > 0) {
      describe(`${title} [${state.name}]`, () => {
        record({ runner: state.name!, component: needs.component, case: 'all', status: 'not-exposed', reason: `${state.name} does not expose ${missing.join(', ')}` });
        it.skip(`is not checked on ${state.name}: not exposed (${missing.join(', ')})`, () => undefined);
      });
      continue;
    }
    describe(`${title} [${state.name}]`, () => {
      const instances = new Map<string, Promise<Gpt2Runner>>();
      const forwards = new Map<string, Promise<{ logits: Tensor; present: KvCache }>>();
      const loaded = (key: string, weights: () => Gpt2Weights): Promise<Gpt2Runner> => {
        let r = instances.get(key);
        if (!r) {
          r = (async () => {
            const created = timeLimited(await runnerSource(state.id).create());
            // A runner whose load fails is released at once: nobody else holds it to dispose it later.
            await created.load(weights()).catch(async (e: unknown) => {
              await created.dispose().catch(() => undefined);
              throw e;
            });
            return created;
          })();
          instances.set(key, r);
        }
        return r;
      };
      const runner: RunnerUnderTest = {
        name: state.name!,
        backend: state.backend!,
        on: (model) => loaded(model, () => loadModel(model)),
        onCheckpoint: (dir) => loaded(`checkpoint:${dir}`, () => loadCheckpoint(dir)),
        exposes: (capability) => !state.notExposed.includes(capability),
        forwardCases: () => forwardCases().filter((c) => runner.runs(c.info.model)),
        runs: (model) => state.unsupportedModels[model] === undefined,
        forwardOf: (c) => {
          let f = forwards.get(c.id);
          if (!f) forwards.set(c.id, (f = runner.on(c.info.model).then((r) => r.forward(c.get('input_ids')))));
          return f;
        },
      };
      for (const [model, why] of Object.entries(state.unsupportedModels)) {
        it.skip(`is not checked on the ${model} cases: ${why}`, () => undefined);
      }
      const disposeAll = async () => {
        const loaded = await Promise.all([...instances.values()].map((r) => r.catch(() => undefined)));
        instances.clear();
        for (const r of loaded) await r?.dispose();
      };
      // A filter (-t, --only) may leave the dispose test out: the runners are released all the same.
      afterAll(() => disposeAll().catch(() => undefined));
      body(runner);
      it('releases what it loaded with dispose()', async () => {
        const outcome = await disposeAll().then(() => undefined, (e: unknown) => e);
        if (outcome === undefined) return;
        const reason = `dispose() failed: ${(outcome as Error)?.message ?? String(outcome)}`;
        record({ runner: state.name!, component: 'dispose', case: 'all', status: 'error', reason });
        throw new Error(reason);
      });
    });
  }
}

/**
 * A test that needs one capability of the runner: when the runner does not expose it, the test is
 * skipped with "not exposed" in its title and recorded as such, never passed.
 */
export function itWhenExposed(
  runner: RunnerUnderTest,
  capability: Capability | Capability[],
  where: { component: string; case: string },
  title: string,
  fn: () => Promise<void>,
): void {
  const missing = [capability].flat().filter((c) => !runner.exposes(c));
  if (missing.length === 0) {
    it(title, fn);
    return;
  }
  record({ runner: runner.name, component: where.component, case: where.case, tensor: missing.join(', '), status: 'not-exposed', reason: `${runner.name} does not expose ${missing.join(', ')}` });
  it.skip(`${title} (not exposed by ${runner.name}: ${missing.join(', ')})`, () => undefined);
}

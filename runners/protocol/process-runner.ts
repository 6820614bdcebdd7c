/**
 * A runner in another process, behind the Gpt2Runner contract: each contract call is one protocol
 * request (docs/protocol.md). The comparison, the tolerances and the goldens stay in this process; the
 * runner's process only ever sees inputs and sends back tensors.
 *
 * Faults are contained here: a process that exits, crashes, breaks the framing or runs out of memory
 * fails the call in flight and is started again for the next one (a new hello, the last load). A method
 * that crashed it twice, and a runner that crashed eight times, fail at once for the rest of the run
 * (faults.ts). A call past its time limit kills the process, and that method fails at once from then on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttentionTrace, Gpt2Runner, Gpt2Weights, KvCache, LayerNormSite, Tensor } from '../contract';
import { NotExposedError, RunnerBrokenError } from '../errors';
import { isTensor } from '../tensor';
import { componentTimeLimitMs, TimeLimitError } from '../time-limit';
import { hfConfigJson } from '../weights/checkpoint';
import { writeSafetensors } from '../weights/safetensors';
import { removeOnExit, removeTemporary, RunnerProcess, type RunnerCommand } from './child';
import { CRASHES_BEFORE_BROKEN, faultsOf, METHOD_CRASHES_BEFORE_BROKEN, noteFault } from './faults';
import { PROTOCOL_VERSION, ProtocolError } from './frame';
import { RUNNER_METHODS, TOKENIZER_METHODS } from './wire';
import { typedRemoteError } from './remote-errors';

export { RUNNER_METHODS, TOKENIZER_METHODS } from './wire';
const KNOWN_METHODS = new Set<string>([...RUNNER_METHODS, ...TOKENIZER_METHODS]);

export interface Hello {
  name: string;
  backend: string;
  exposes: string[];
  wantsWeights: boolean;
}

/** How long a runner process may take to start and answer hello, whatever the per-call limit. */
export const START_LIMIT_MS = 60_000;

/** Marks a runner that enforces its own per-call time limit, so that timeLimited() leaves it alone. */
export const OWN_TIME_LIMIT = Symbol.for('gpt2-spec.ownTimeLimit');

const harness = `gpt2-spec ${(require('../../package.json') as { version: string }).version}`;

/** Checks a hello answer: the protocol version, and a name, a backend and a list of methods. */
function readHello(cmd: RunnerCommand, r: Record<string, unknown>): Hello {
  if (r.protocol !== PROTOCOL_VERSION) throw new ProtocolError(`${cmd.label} speaks protocol ${JSON.stringify(r.protocol)}; this harness speaks ${PROTOCOL_VERSION}`);
  if (typeof r.name !== 'string' || r.name === '') throw new ProtocolError(`${cmd.label}: hello gave no name`);
  if (typeof r.backend !== 'string') throw new ProtocolError(`${cmd.label}: hello gave no backend`);
  if (!Array.isArray(r.exposes) || !r.exposes.every((m) => typeof m === 'string')) throw new ProtocolError(`${cmd.label}: hello's 'exposes' is not a list of method names`);
  const unknown = r.exposes.filter((m) => !KNOWN_METHODS.has(m as string));
  if (unknown.length > 0) throw new ProtocolError(`${cmd.label}: hello exposes unknown methods ${unknown.join(', ')}`);
  return { name: r.name, backend: r.backend, exposes: r.exposes as string[], wantsWeights: r.weights === true };
}

/**
 * A connection to one runner command that survives the process: calls go to the live process, a dead
 * one is started again first, and the run's fault ledger decides what fails at once.
 */
export class RunnerConnection {
  private process?: RunnerProcess;
  private replay?: { method: string; params: Record<string, unknown> };
  hello!: Hello;

  private constructor(readonly cmd: RunnerCommand, private readonly limitMs: number) {}

  static async open(cmd: RunnerCommand, limitMs = componentTimeLimitMs()): Promise<RunnerConnection> {
    const c = new RunnerConnection(cmd, limitMs);
    await c.live();
    return c;
  }

  /** Calls a method; `replayed` marks the call (load) that a restarted process must see again first. */
  async call(method: string, params: Record<string, unknown>, opts: { replayed?: boolean } = {}): Promise<Record<string, unknown>> {
    this.failFast(method);
    const proc = await this.live();
    try {
      const result = await proc.call(method, params, this.limitMs);
      if (opts.replayed) this.replay = { method, params };
      return result;
    } catch (e) {
      if (!proc.alive) noteFault(this.cmd.label, { kind: e instanceof TimeLimitError ? 'timeout' : 'crash', method, message: (e as Error).message });
      throw typedRemoteError(e);
    }
  }

  /** Ends the process: a shutdown request, then stdin closed, then a kill. */
  async close(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (!proc?.alive) return;
    await proc.call('shutdown', {}, 1000).catch(() => undefined);
    await proc.close();
  }

  stderr(): string {
    return this.process?.stderr() ?? '';
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  private failFast(method: string): void {
    const faults = faultsOf(this.cmd.label);
    const first = (f: { message: string }) => f.message.split('\n')[0];
    if (faults.crashes.length >= CRASHES_BEFORE_BROKEN) {
      throw new RunnerBrokenError(`${this.cmd.label} is broken: it crashed ${faults.crashes.length} times in this run (last: ${first(faults.crashes.at(-1)!)})`);
    }
    const crashes = faults.crashesOf(method);
    if (crashes.length >= METHOD_CRASHES_BEFORE_BROKEN) {
      throw new RunnerBrokenError(`${this.cmd.label} ${method}() is not called again in this run: it crashed the runner ${crashes.length} times (last: ${first(crashes.at(-1)!)})`);
    }
    const timedOut = faults.timedOut(method);
    if (timedOut) throw new TimeLimitError(`${this.cmd.label} ${method}() is not called again in this run: an earlier call timed out (${timedOut.message.split('\n')[0]})`);
  }

  /** The live process: started (with hello, and the last load replayed) when there is none. */
  private async live(): Promise<RunnerProcess> {
    if (this.process?.alive) return this.process;
    this.failFast('hello');
    const proc = new RunnerProcess(this.cmd);
    this.process = proc;
    try {
      // Starting is not the implementation's work (a node, a Python, a compile): it gets at least START_LIMIT_MS (importing torch on a busy machine takes half a minute).
      this.hello = readHello(this.cmd, await proc.call('hello', { protocol: PROTOCOL_VERSION, harness }, Math.max(this.limitMs, START_LIMIT_MS)));
      if (this.replay) await proc.call(this.replay.method, this.replay.params, this.limitMs);
    } catch (e) {
      noteFault(this.cmd.label, { kind: 'crash', method: 'hello', message: (e as Error).message });
      proc.kill(e as Error);
      throw typedRemoteError(e);
    }
    return proc;
  }
}

const tensorOut = (r: Record<string, unknown>, key: string, what: string): Tensor => {
  if (!isTensor(r[key])) throw new ProtocolError(`${what}: the answer has no tensor '${key}'`);
  return r[key] as Tensor;
};

const cacheOut = (r: Record<string, unknown>, what: string): KvCache => {
  const present = r.present as { keys?: unknown; values?: unknown } | undefined;
  const list = (v: unknown) => Array.isArray(v) && v.every(isTensor);
  if (!present || !list(present.keys) || !list(present.values)) throw new ProtocolError(`${what}: the answer has no 'present' with lists of 'keys' and 'values' tensors`);
  return present as KvCache;
};

export class ProcessRunner implements Gpt2Runner {
  readonly [OWN_TIME_LIMIT] = true;
  private tempCheckpoint?: string;
  backend: string;

  private constructor(private readonly connection: RunnerConnection) {
    this.backend = connection.hello.backend;
  }

  static async start(cmd: RunnerCommand, limitMs = componentTimeLimitMs()): Promise<ProcessRunner> {
    return new ProcessRunner(await RunnerConnection.open(cmd, limitMs));
  }

  /** The runner process's id, while one runs. */
  get pid(): number | undefined {
    return this.connection.pid;
  }

  get name(): string {
    return this.connection.hello.name;
  }

  async load(weights: Gpt2Weights): Promise<void> {
    const path = weights.dir ?? this.writeTemporaryCheckpoint(weights);
    const params: Record<string, unknown> = { path, config: hfConfigJson(weights.config) };
    if (this.connection.hello.wantsWeights) params.weights = Object.fromEntries(weights.names().map((n) => [n, weights.get(n)]));
    const r = await this.connection.call('load', params, { replayed: true });
    if (typeof r.backend === 'string') this.backend = r.backend;
  }

  async embed(ids: Tensor, pastLength = 0): Promise<Tensor> {
    return tensorOut(await this.request('embed', { ids, pastLength }), 'output', `${this.name} embed`);
  }

  async layerNorm(x: Tensor, site: LayerNormSite): Promise<Tensor> {
    return tensorOut(await this.request('layerNorm', { x, site }), 'output', `${this.name} layerNorm`);
  }

  async attention(x: Tensor, layer: number, opts?: { trace?: boolean }): Promise<{ output: Tensor; trace?: AttentionTrace }> {
    const r = await this.request('attention', { x, layer, trace: opts?.trace === true });
    const trace = typeof r.trace === 'object' && r.trace !== null ? (r.trace as AttentionTrace) : undefined;
    return { output: tensorOut(r, 'output', `${this.name} attention`), trace };
  }

  async mlp(x: Tensor, layer: number): Promise<Tensor> {
    return tensorOut(await this.request('mlp', { x, layer }), 'output', `${this.name} mlp`);
  }

  async block(x: Tensor, layer: number): Promise<Tensor> {
    return tensorOut(await this.request('block', { x, layer }), 'output', `${this.name} block`);
  }

  async lmHead(x: Tensor): Promise<Tensor> {
    return tensorOut(await this.request('lmHead', { x }), 'output', `${this.name} lmHead`);
  }

  async forward(ids: Tensor, past?: KvCache): Promise<{ logits: Tensor; present: KvCache }> {
    const r = await this.request('forward', past ? { ids, past: { keys: past.keys, values: past.values } } : { ids });
    return { logits: tensorOut(r, 'logits', `${this.name} forward`), present: cacheOut(r, `${this.name} forward`) };
  }

  async dispose(): Promise<void> {
    try {
      // A dispose that fails is reported; the process is ended and the files removed all the same.
      await this.connection.call('dispose', {}).finally(() => this.connection.close());
    } finally {
      if (this.tempCheckpoint) removeTemporary(this.tempCheckpoint);
    }
  }

  /** The tail of the runner's stderr, for a report. */
  stderr(): string {
    return this.connection.stderr();
  }

  private request(method: (typeof RUNNER_METHODS)[number], params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.connection.hello.exposes.includes(method)) return Promise.reject(new NotExposedError(`${this.name} does not expose ${method}`));
    return this.connection.call(method, params);
  }

  /** Weights built in memory have no folder: write one for the runner to load, removed on dispose. */
  private writeTemporaryCheckpoint(weights: Gpt2Weights): string {
    if (!this.tempCheckpoint) {
      this.tempCheckpoint = mkdtempSync(join(process.env.GPT2_SPEC_TMP ?? tmpdir(), 'gpt2-spec-weights-'));
      removeOnExit(this.tempCheckpoint);
    }
    const tensors = Object.fromEntries(weights.names().map((n) => [n, weights.get(n)]));
    writeFileSync(join(this.tempCheckpoint, 'config.json'), JSON.stringify(hfConfigJson(weights.config)));
    writeFileSync(join(this.tempCheckpoint, 'model.safetensors'), writeSafetensors(tensors));
    return this.tempCheckpoint;
  }
}


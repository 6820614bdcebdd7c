/**
 * The runner protocol (docs/protocol.md): the implementation under test runs in a process of its own,
 * and the judge (goldens, tolerances, comparison) stays here. These tests are the hostile user: runners
 * that exit, loop, hoard memory, patch globals and print, each of which must fail, never pass.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdapterError } from '../runners/adapter-module';
import { MemoryLimitError, NotExposedError, RunnerBrokenError, RunnerCrashError, TokenIdError } from '../runners/errors';
import { packageRoot } from '../runners/paths';
import { runnerCommand, splitCommandLine } from '../runners/protocol/commands';
import { decodeFrame, encodeFrame, FrameReader, ProtocolError } from '../runners/protocol/frame';
import { ProcessRunner } from '../runners/protocol/process-runner';
import { runnerSource } from '../runners/registry';
import { float32, float64, ids, int32 } from '../runners/tensor';
import { TimeLimitError } from '../runners/time-limit';
import { weightsFromRecord } from '../runners/weights/checkpoint';
import { bundled } from './support/bundle';
import { cli } from './support/cli';
import { loadModel } from './support/fixtures';
import { outsideProject } from './support/outside-project';
import { tempDir } from './support/temp';

const HOSTILE = join(packageRoot(), 'spec/support/adapters/hostile');
const hostile = (name: string) => join(HOSTILE, `${name}.ts`);
const mini = () => loadModel('gpt2-mini');
const x = () => float64([1, 3, mini().config.nEmbd], Array.from({ length: 3 * mini().config.nEmbd }, (_, i) => Math.sin(i)));

/** A runner process for one adapter, with a short time limit and a small memory limit. */
async function started(adapter: string, limits: { ms?: number; mib?: number } = {}): Promise<ProcessRunner> {
  const cmd = { ...runnerCommand(adapter, 'runner'), memoryLimitMiB: limits.mib ?? 4096 };
  const runner = await ProcessRunner.start(cmd, limits.ms ?? 10_000);
  await runner.load(mini());
  return runner;
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

describe('The runner protocol: the implementation under test runs in a process of its own', () => {
  describe('a frame is a JSON header with the tensors beside it as raw little-endian bytes', () => {
    it('gives back every tensor, nested anywhere, with its dtype, shape and exact bits', () => {
      const body = { id: 1, result: { logits: float32([1, 2], [0.1, -0]), present: { keys: [float64([1], [Math.PI])], values: [int32([2], [-1, 7])] } } };
      const frame = encodeFrame(body);
      const [message] = new FrameReader().push(frame);
      expect(message).toEqual(body);
      expect(Object.is((message as typeof body).result.logits.data[1], -0)).toBe(true);
    });

    it('places every tensor at an offset that is a multiple of 8, so a reader can view it in place', () => {
      const frame = encodeFrame({ a: int32([1], [1]), b: float64([1], [2]) });
      const header = JSON.parse(frame.subarray(16, 16 + frame.readUInt32LE(4)).toString('utf8'));
      expect(header.b.offset % 8).toBe(0);
    });

    it('reads a frame that arrives in pieces of any size, and several frames in one piece', () => {
      const frames = Buffer.concat([encodeFrame({ n: 1, t: float64([3], [1, 2, 3]) }), encodeFrame({ n: 2 })]);
      const reader = new FrameReader();
      const got = [...frames].flatMap((byte) => reader.push(Buffer.from([byte])));
      expect(got.map((m) => m.n)).toEqual([1, 2]);
    });

    it('starts every frame with G2SP, so that a stray print fails at its first byte', () => {
      expect(() => new FrameReader().push(Buffer.from('Results: 999 pass\n'))).toThrow(ProtocolError);
      expect(() => new FrameReader().push(Buffer.from('R'))).toThrow(/G2SP/);
    });

    it('refuses a tensor that runs past the payload, or sits at an offset that is not a multiple of 8', () => {
      const header = (t: object) => Buffer.from(JSON.stringify({ t }));
      expect(() => decodeFrame(header({ dtype: 'float64', shape: [2], offset: 0 }), Buffer.alloc(8))).toThrow(/runs past/);
      expect(() => decodeFrame(header({ dtype: 'float32', shape: [1], offset: 4 }), Buffer.alloc(16))).toThrow(/multiple of 8/);
      expect(() => decodeFrame(header({ dtype: 'float16', shape: [1], offset: 0 }), Buffer.alloc(8))).toThrow(/dtype/);
    });
  });

  describe('a runner is named by a command line, a runner file or an adapter module', () => {
    it('splits a cmd: line as a shell splits words', () => {
      expect(splitCommandLine(`python3 "my impl.py" --bits 32 'a b'`)).toEqual(['python3', 'my impl.py', '--bits', '32', 'a b']);
      expect(runnerCommand('cmd:python3 impl.py', 'runner')).toMatchObject({ command: 'python3', args: ['impl.py'] });
    });

    it('runs a runner file from its own folder, with its environment and memory limit', () => {
      const file = join(tempDir('gpt2-spec-runner-file-'), 'mine.runner.json');
      writeFileSync(file, JSON.stringify({ command: ['python3', 'impl.py'], env: { A: '1' }, memoryLimitMiB: 512 }));
      expect(runnerCommand(file, 'runner')).toMatchObject({ command: 'python3', cwd: join(file, '..'), env: { A: '1' }, memoryLimitMiB: 512 });
    });

    it('refuses a runner file with unknown keys, no command list or a bad memory limit, naming the problem', () => {
      const file = join(tempDir('gpt2-spec-runner-file-'), 'bad.runner.json');
      const refused = (content: unknown) => {
        writeFileSync(file, JSON.stringify(content));
        return () => runnerCommand(file, 'runner');
      };
      expect(refused({ command: ['x'], cmd: 'y' })).toThrow(/unknown keys cmd/);
      expect(refused({ command: [] })).toThrow(/'command' must be a non-empty list/);
      expect(refused({ command: ['x'], memoryLimitMiB: -1 })).toThrow(/'memoryLimitMiB'/);
      expect(refused({ command: 'python3 impl.py' })).toThrow(AdapterError);
      expect(() => runnerCommand('cmd:  ', 'runner')).toThrow(/names no command/);
    });
  });

  describe('a runner in its own process answers through the same contract', () => {
    it('returns its tensors, and its errors by name: a TokenIdError there is a TokenIdError here', async () => {
      const runner = await started(join(packageRoot(), 'spec/support/adapters/reference.ts'));
      expect((await runner.embed(ids([[1, 2, 3]]))).shape).toEqual([1, 3, mini().config.nEmbd]);
      await expect(runner.embed(ids([[mini().config.vocabSize]]))).rejects.toBeInstanceOf(TokenIdError);
      await runner.dispose();
    });

    it('writes weights built in memory to a temporary checkpoint for the runner, and removes it on dispose', async () => {
      const w = mini();
      const inMemory = weightsFromRecord(w.config, Object.fromEntries(w.names().map((n) => [n, w.get(n)])));
      const runner = await ProcessRunner.start(runnerCommand(join(packageRoot(), 'spec/support/adapters/reference.ts'), 'runner'));
      const before = readdirSync(process.env.GPT2_SPEC_TMP!).filter((n) => n.startsWith('gpt2-spec-weights-'));
      await runner.load(inMemory);
      expect(readdirSync(process.env.GPT2_SPEC_TMP!).filter((n) => n.startsWith('gpt2-spec-weights-')).length).toBe(before.length + 1);
      await runner.dispose();
      expect(readdirSync(process.env.GPT2_SPEC_TMP!).filter((n) => n.startsWith('gpt2-spec-weights-'))).toEqual(before);
    });

    it('reports a method the runner leaves out as not exposed, without asking it', async () => {
      const runner = await started(outsideProject());
      await expect(runner.mlp(x(), 0)).rejects.toBeInstanceOf(NotExposedError);
      await runner.dispose();
    });
  });

  describe('a runner cannot end, hang, exhaust or fool the judge', () => {
    it('fails a call whose process exits, names the exit, starts it again, and stops calling a method that crashed it twice', async () => {
      const runner = await started(hostile('exit-in-mlp'));
      const first = await failure(runner.mlp(x(), 0));
      expect(first).toBeInstanceOf(RunnerCrashError);
      expect(first?.message).toMatch(/exited with status 0 during mlp\(\)/);
      expect((await runner.embed(ids([[1]]))).shape).toEqual([1, 1, mini().config.nEmbd]);
      await expect(runner.mlp(x(), 0)).rejects.toBeInstanceOf(RunnerCrashError);
      await expect(runner.mlp(x(), 0)).rejects.toBeInstanceOf(RunnerBrokenError);
      await runner.dispose();
    });

    it.each(['loop-in-mlp', 'never-settles'])('kills %s at the time limit, and fails that method at once after', async (name) => {
      const runner = await started(hostile(name), { ms: 2000 });
      const t0 = Date.now();
      await expect(runner.mlp(x(), 0)).rejects.toBeInstanceOf(TimeLimitError);
      expect(Date.now() - t0).toBeLessThan(8000);
      const t1 = Date.now();
      await expect(runner.mlp(x(), 0)).rejects.toThrow(/an earlier call timed out/);
      expect(Date.now() - t1).toBeLessThan(500);
      await runner.dispose();
    });

    it('kills a runner that allocates past its memory limit, and names the limit', async () => {
      const runner = await started(hostile('allocates'), { mib: 300, ms: 20_000 });
      const e = await failure(runner.mlp(x(), 0));
      expect(e).toBeInstanceOf(MemoryLimitError);
      expect(e?.message).toMatch(/over its memory limit of 300 MiB/);
      await runner.dispose();
    });

    it("keeps the judge's Math its own: a runner that patches Math.abs changes nothing here", async () => {
      const runner = await started(hostile('patches-math'));
      const out = await runner.mlp(x(), 0);
      expect([Math.abs(-2), Math.max(1, 3), Number.isFinite(NaN)]).toEqual([2, 3, false]);
      expect([...out.data].every((v) => v === 0)).toBe(true);
      await runner.dispose();
    });

    it("keeps the adapter's console output on stderr, and fails a runner that writes on the protocol's stdout", async () => {
      const printing = await started(hostile('prints'));
      await printing.mlp(x(), 0);
      expect(printing.stderr()).toContain('Results: 999 pass');
      await printing.dispose();
      const writing = await started(hostile('writes-fd1'));
      await expect(writing.mlp(x(), 0)).rejects.toThrow(/broke the protocol during mlp\(\): expected a frame starting with G2SP/);
      await writing.dispose();
    });

    it('reports an exit during dispose as a failed dispose', async () => {
      const runner = await started(hostile('exit-in-dispose'));
      await expect(runner.dispose()).rejects.toThrow(/exited with status 0 during dispose\(\)/);
    });

    it.each(['SIGTERM', 'SIGINT'] as const)('kills its runner processes, and removes their temporary files, when it is ended by %s', async (signal) => {
      const runFolder = tempDir('gpt2-spec-signal-');
      const pidFile = join(runFolder, 'pid');
      const script = [
        `const { runnerSource } = require(${JSON.stringify(bundled('runners/registry.ts'))});`,
        `runnerSource(${JSON.stringify(hostile('loop-in-mlp'))}).create().then((r) => {`,
        `  require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(r.pid));`,
        `  setInterval(() => undefined, 1000);`,
        `});`,
      ].join('\n');
      const env = { ...process.env, GPT2_SPEC_TMP: runFolder };
      const harness = spawn(process.execPath, ['-e', script], { cwd: packageRoot(), stdio: 'ignore', env });
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(pid)).toBe(true);
      const runnerFolders = () => readdirSync(runFolder).filter((name) => name.startsWith('gpt2-spec-runner-'));
      expect(runnerFolders()).toHaveLength(1);
      harness.kill(signal);
      await new Promise((resolve) => harness.once('exit', resolve));
      await until(() => !alive(pid));
      expect(runnerFolders()).toEqual([]);
    });
  });

  describe('gpt2-spec check, over hostile adapters', () => {
    it('exits 1 when the adapter ends its own process at import, and says why', () => {
      const r = cli(['check', '--runner', hostile('exit-at-import'), '--only', 'embed', '--timeout', '5']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/exited with status 0 during hello\(\)/);
      expect(r.stdout).not.toMatch(/\bPASS\b/);
    });

    it('exits 1 and names the failed row of each: an exit, a loop, a promise that never settles, a hoard, a patched Math, fake output', () => {
      const names = ['exit-in-mlp', 'loop-in-mlp', 'never-settles', 'allocates', 'patches-math', 'prints', 'exit-in-dispose'];
      const json = join(tempDir('gpt2-spec-hostile-'), 'report.json');
      const args = ['check', ...names.flatMap((n) => ['--runner', hostile(n)]), '--only', 'mlp', '--timeout', '2'];
      const r = cli([...args, '--memory-limit', '400', '--json', json], { timeoutMs: 240_000 });
      expect(r.code).toBe(1);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { runners: { name: string; status: string }[]; results: { runner: string; component: string; status: string }[] };
      // In the order they were given, though their processes were probed side by side ('prints' puts a fake PASS in its name).
      expect(report.runners.map((x) => x.name.split('\n')[0])).toEqual(names);
      expect(report.runners.map((x) => x.status)).toEqual(names.map(() => 'fail'));
      const failedRows = (runner: string) => new Set(report.results.filter((x) => x.runner === runner && x.status !== 'pass').map((x) => x.component));
      for (const runner of report.runners.slice(0, 6)) expect([runner.name, failedRows(runner.name).has('mlp.output')]).toEqual([runner.name, true]);
      expect(failedRows('exit-in-dispose')).toEqual(new Set(['dispose']));
      // Control characters are shown, never sent to the terminal, and nothing the runners printed is on stdout.
      expect(r.stdout).not.toMatch(/\u001b/);
      expect(r.stdout).toContain('prints\\n\\x1b[32mPASS\\x1b[0m');
      expect(r.stdout).not.toMatch(/^Results: 999/m);
    });

    it('passes an adapter outside the checkout that imports a package of its own and gpt2-spec', () => {
      const r = cli(['check', '--runner', outsideProject(), '--only', 'embed']);
      expect(r.stdout).toMatch(/own-embedding\s+PASS/);
      expect(r.code).toBe(0);
    });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

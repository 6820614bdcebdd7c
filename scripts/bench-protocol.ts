/**
 * What running a runner out of process costs: the time of one call, the tensor copy rate, and the whole
 * spec on one JavaScript runner in process against out of process.
 *
 *   node -r esbuild-register scripts/bench-protocol.ts [--calls N] [--skip-spec]
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Gpt2Runner } from '../runners/contract';
import { packageRoot } from '../runners/paths';
import { runnerSource } from '../runners/registry';
import { float64, ids } from '../runners/tensor';
import { loadCheckpoint } from '../runners/weights/checkpoint';
import { median } from './bench/timing';

const root = packageRoot();
const args = process.argv.slice(2);
const calls = Number(args[args.indexOf('--calls') + 1]) || 2000;

async function timeCalls(r: Gpt2Runner, n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await call(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

const rate = (bytes: number, ms: number) => `${(bytes / 1e9 / (ms / 1000)).toFixed(2)} GB/s`;

/**
 * The ceiling: the same bytes through a bare pipe to a child node that echoes them once whole, with no
 * framing, decoding or runner behind it.
 */
async function rawPipeMs(bytes: number, n: number): Promise<number> {
  const echo = `let n=0,c=[];process.stdin.on('data',d=>{c.push(d);n+=d.length;if(n>=${bytes}){const a=Buffer.concat(c);c=[];n=0;process.stdout.write(a)}})`;
  const child = spawn(process.execPath, ['-e', echo], { stdio: ['pipe', 'pipe', 'inherit'] });
  const payload = Buffer.alloc(bytes, 1);
  const once = () =>
    new Promise<void>((resolve) => {
      let got = 0;
      const onData = (d: Buffer) => {
        got += d.length;
        if (got < bytes) return;
        child.stdout.off('data', onData);
        resolve();
      };
      child.stdout.on('data', onData);
      child.stdin.write(payload);
    });
  const times: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    if (i >= 3) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  child.kill();
  return median(times);
}

async function perCall(): Promise<void> {
  const weights = loadCheckpoint(join(root, 'fixtures/models/gpt2-mini'));
  const inProcess = await runnerSource('reference').create();
  const outOfProcess = await runnerSource(join(root, 'scripts/bench/echo-adapter.ts')).create();
  await inProcess.load(weights);
  await outOfProcess.load(weights);
  const one = ids([[1]]);
  const a = await timeCalls(inProcess, calls, () => inProcess.embed(one));
  const b = await timeCalls(outOfProcess, calls, () => outOfProcess.embed(one));
  console.log(`one call, embed of 1 token (median of ${calls}): in process ${(a * 1000).toFixed(0)} µs, out of process ${(b * 1000).toFixed(0)} µs: the protocol adds ${((b - a) * 1000).toFixed(0)} µs`);
  for (const mb of [1, 16, 128]) {
    const D = weights.config.nEmbd;
    const T = Math.round((mb * 2 ** 20) / 8 / D);
    const x = float64([1, T, D]);
    const n = mb >= 128 ? 9 : mb >= 16 ? 40 : 200;
    const ms = await timeCalls(outOfProcess, n, () => outOfProcess.mlp(x, 0));
    const bytes = 2 * x.data.byteLength; // there and back
    const pipe = await rawPipeMs(x.data.byteLength, n);
    console.log(`a ${mb} MiB tensor there and back (median of ${n}): ${ms.toFixed(1)} ms, ${rate(bytes, ms)}; the bare pipe, same bytes: ${pipe.toFixed(1)} ms, ${rate(bytes, pipe)}`);
  }
  await inProcess.dispose();
  await outOfProcess.dispose();
}

function wholeSpec(label: string, runner: string, env: Record<string, string> = {}): number {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-r', 'esbuild-register', join(root, 'scripts/cli/main.ts'), 'check', '--runner', runner], {
    cwd: root,
    env: { ...process.env, GPT2_SPEC_CLI_MAIN: '1', ...env },
    encoding: 'utf8',
  });
  const s = (Date.now() - t0) / 1000;
  console.log(`check --runner ${label}: ${s.toFixed(1)} s, exit ${r.status}`);
  return s;
}

(async () => {
  await perCall();
  if (args.includes('--skip-spec')) return;
  const adapter = join(root, 'spec/support/adapters/reference.ts');
  const inProc = wholeSpec('reference-adapter, in process (GPT2_SPEC_IN_PROCESS=1)', adapter, { GPT2_SPEC_IN_PROCESS: '1' });
  const outProc = wholeSpec('reference-adapter, out of process', adapter);
  console.log(`the whole spec out of process takes ${(outProc / inProc).toFixed(2)}× the time in process`);
})();

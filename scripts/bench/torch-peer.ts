/**
 * The PyTorch peer for the benchmarks: finds a Python with torch and transformers (GPT2_SPEC_PYTHON when
 * set, else the fixtures venv that `npm run fixtures:venv` builds, else python3), and runs scripts/bench/torch_peer.py
 * on a checkpoint folder in a child process, so that its memory and threads are its own; the benchmark
 * asks it for one measurement at a time, in alternation with its own.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../runners/paths';

export interface PeerInfo {
  peer: string;
  attention: string;
  threads: number;
  cpuCapability: string;
  blas: string;
  openblasCoretype: string | null;
  loadSeconds: number;
  peakRssMB: number;
}

export interface PeerDecode {
  promptSeconds: number;
  decodeSeconds: number;
  tokensPerSecond: number;
  medianStepSeconds: number;
}

/** A Python that imports torch and transformers, or why there is none. */
export function findTorchPython(): { python: string } | { skipped: string } {
  const candidates = [process.env.GPT2_SPEC_PYTHON, join(packageRoot(), '.venv', 'bin', 'python'), 'python3'].filter((p): p is string => !!p);
  const reasons: string[] = [];
  for (const python of candidates) {
    if (python.includes('/') && !existsSync(python)) {
      reasons.push(`${python}: not found`);
      continue;
    }
    const probe = spawnSync(python, ['-c', 'import torch, transformers'], { encoding: 'utf8' });
    if (probe.status === 0) return { python };
    reasons.push(`${python}: ${probe.error?.message ?? (probe.stderr.trim().split('\n').at(-1) || `exit ${probe.status}`)}`);
  }
  return { skipped: `no Python with torch and transformers (${reasons.join('; ')}); npm run fixtures:venv builds one` };
}

/** The peer as a child process, asked for one measurement at a time (scripts/bench/torch_peer.py). */
export class TorchPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(python: string, checkpoint: string, threads: number) {
    const script = join(packageRoot(), 'scripts', 'bench', 'torch_peer.py');
    this.child = spawn(python, [script, '--checkpoint', checkpoint, '--threads', String(threads)]);
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async ask<T>(request: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error(`the torch peer stopped: ${this.stderr.trim().split('\n').slice(-5).join('\n')}`);
    return JSON.parse(line.value) as T;
  }

  /** Seconds of one forward over the benchmark's prompt `seed` of T tokens. */
  async prefill(T: number, seed: number): Promise<number> {
    return (await this.ask<{ seconds: number }>({ op: 'prefill', T, seed })).seconds;
  }

  /** The median seconds of `runs` float32 matmuls [M,K]·[K,N] in torch (scripts/bench/matmul.ts has ORT's). */
  async matmul(M: number, K: number, N: number, runs: number): Promise<number> {
    return (await this.ask<{ seconds: number }>({ op: 'matmul', M, K, N, runs })).seconds;
  }

  decode(newTokens: number): Promise<PeerDecode> {
    return this.ask({ op: 'decode', newTokens });
  }

  info(): Promise<PeerInfo> {
    return this.ask({ op: 'info' });
  }

  close(): void {
    this.child.stdin.end();
  }
}

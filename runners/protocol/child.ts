/**
 * One runner process, seen from the harness: it is started from a command line, asked one request at a
 * time over stdin/stdout (frame.ts), and killed, with its whole process group, when a call runs past
 * its time limit or the group's resident memory passes its limit. Its stderr is kept, the tail in
 * memory and up to a cap in the run's folder, for the reports. Nothing it prints reaches our stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLimitError, RunnerCrashError } from '../errors';
import { TimeLimitError } from '../time-limit';
import { encodeFrameParts, FrameReader, ProtocolError } from './frame';
import { StderrLog } from './stderr-log';

export interface RunnerCommand {
  /** How the selection named the runner: its identity in messages and in the run's fault ledger. */
  label: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  memoryLimitMiB: number;
}

export const DEFAULT_MEMORY_LIMIT_MIB = 4096;
const STDERR_TAIL_BYTES = 4096;
const MEMORY_POLL_MS = 250;

/** The error a runner answered with, by its own name. */
export class RemoteError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  id: number;
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

const live = new Set<ChildProcess>();
const temporary = new Set<string>();
let exitHooked = false;

/** Files and folders removed when we go, however we go; removed earlier by whoever is done with them. */
export function removeOnExit(path: string): void {
  hookExit();
  temporary.add(path);
}

export function removeTemporary(path: string): void {
  rmSync(path, { recursive: true, force: true });
  temporary.delete(path);
}

/** Kills every runner process we started, and removes our temporary files, when we go, however we go. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = () => {
    for (const child of live) killGroup(child);
    for (const path of temporary) rmSync(path, { recursive: true, force: true });
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export class RunnerProcess {
  private readonly child: ChildProcess;
  private readonly reader = new FrameReader();
  private pending?: Pending;
  private nextId = 1;
  private stderrTail = '';
  private readonly stderrLog: StderrLog;
  private ended?: RunnerCrashError;
  private killedFor?: Error;

  constructor(readonly cmd: RunnerCommand) {
    hookExit();
    // A temp folder for the process (the Node host compiles adapters into it), removed when it ends.
    const tmp = mkdtempSync(join(process.env.GPT2_SPEC_TMP ?? tmpdir(), 'gpt2-spec-runner-'));
    temporary.add(tmp);
    const env = { ...process.env, ...cmd.env, GPT2_SPEC_CHILD_TMP: tmp };
    // Its own process group (detached), so that a time-out kills whatever it started too.
    this.child = spawn(cmd.command, cmd.args, { cwd: cmd.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    live.add(this.child);
    this.child.once('close', () => removeTemporary(tmp));
    // An idle runner process must not keep us alive: a call in flight has its time-limit timer for that.
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
    this.stderrLog = new StderrLog(cmd.label);
    this.child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => this.onStderr(chunk));
    this.child.stdin!.on('error', () => undefined); // a dead child's stdin; its exit is reported instead
    this.child.on('error', (e) => this.end(new RunnerCrashError(`${cmd.label} could not be started: ${e.message}`)));
    this.child.on('exit', (code, signal) => {
      live.delete(this.child);
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      this.end(this.killedFor ?? new RunnerCrashError(`${cmd.label} ${how}${this.pending ? ` during ${this.pending.method}()` : ''}${this.stderrSuffix()}`));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** The last few KB the process wrote to stderr. */
  stderr(): string {
    return this.stderrTail;
  }

  /** Sends one request and waits for its answer, at most `limitMs`. */
  call(method: string, params: Record<string, unknown>, limitMs: number): Promise<Record<string, unknown>> {
    if (this.ended) return Promise.reject(this.ended);
    if (this.pending) return Promise.reject(new ProtocolError(`${this.cmd.label}: ${method}() while ${this.pending.method}() is in flight`));
    const id = this.nextId++;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending = { id, method, resolve, reject };
      const timer = setTimeout(() => {
        this.kill(new TimeLimitError(`${this.cmd.label} ${method}() did not finish within ${limitMs / 1000} s, and was killed`));
      }, limitMs);
      const memory = this.cmd.memoryLimitMiB > 0 ? setInterval(() => this.checkMemory(method), MEMORY_POLL_MS) : undefined;
      const done = () => {
        clearTimeout(timer);
        if (memory) clearInterval(memory);
      };
      this.pending.resolve = (r) => (done(), resolve(r));
      this.pending.reject = (e) => (done(), reject(e));
      for (const part of encodeFrameParts({ id, method, params })) this.child.stdin!.write(part);
    });
  }

  /** Asks the process to exit, and kills it if it has not within a second. */
  async close(): Promise<void> {
    if (this.ended) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // Held while we wait for it: an unref'd child would let the event loop empty, and the process end, mid-run.
    this.child.ref();
    this.child.stdin!.end();
    const timer = setTimeout(() => this.kill(new RunnerCrashError(`${this.cmd.label} did not exit when its stdin closed`)), 1000);
    await exited;
    clearTimeout(timer);
  }

  kill(reason: Error): void {
    this.killedFor ??= reason;
    killGroup(this.child);
    // The exit event follows; fail the call now in case the process group ignores us for a moment.
    this.end(this.killedFor);
  }

  private onStdout(chunk: Buffer): void {
    let messages: Record<string, unknown>[];
    try {
      messages = this.reader.push(chunk);
    } catch (e) {
      this.kill(new RunnerCrashError(`${this.cmd.label} broke the protocol${this.pending ? ` during ${this.pending.method}()` : ''}: ${(e as Error).message}${this.stderrSuffix()}`));
      return;
    }
    for (const message of messages) this.onMessage(message);
  }

  private onMessage(message: Record<string, unknown>): void {
    const pending = this.pending;
    if (!pending || message.id !== pending.id) {
      this.kill(new RunnerCrashError(`${this.cmd.label} broke the protocol: an answer with id ${JSON.stringify(message.id)} when ${pending ? `${pending.id} (${pending.method})` : 'none'} was awaited`));
      return;
    }
    this.pending = undefined;
    if (message.error !== undefined) {
      const e = message.error as { name?: unknown; message?: unknown } | null;
      const name = typeof e?.name === 'string' && e.name !== '' ? e.name : 'Error';
      pending.reject(new RemoteError(name, typeof e?.message === 'string' ? e.message : JSON.stringify(e?.message ?? e)));
    } else if (typeof message.result === 'object' && message.result !== null && !Array.isArray(message.result)) {
      pending.resolve(message.result as Record<string, unknown>);
    } else {
      pending.reject(new ProtocolError(`${this.cmd.label} answered ${pending.method}() with neither an object 'result' nor an 'error'`));
    }
  }

  private onStderr(chunk: Buffer): void {
    this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    this.stderrLog.append(chunk);
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.trimEnd().split('\n').slice(-5).join('\n');
    return tail ? `; stderr ends:\n${tail}` : '';
  }

  private checkMemory(method: string): void {
    const mib = groupRssMiB(this.child.pid!);
    if (mib > this.cmd.memoryLimitMiB) {
      this.kill(new MemoryLimitError(`${this.cmd.label} ${method}() used ${Math.round(mib)} MiB, over its memory limit of ${this.cmd.memoryLimitMiB} MiB, and was killed`));
    }
  }

  private end(error: Error): void {
    if (this.ended) return;
    this.ended = error instanceof RunnerCrashError ? error : new RunnerCrashError(error.message);
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/** The resident memory of every process in a process group, from /proc (Linux); 0 where /proc is not there. */
export function groupRssMiB(pgid: number): number {
  let kib = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // Fields after the command name, which is in parentheses and may hold spaces: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'latin1');
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // The process ended while we looked.
    }
  }
  return kib / 1024;
}

/** Whether a path is a regular file (for runner files and adapter modules). */
export const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

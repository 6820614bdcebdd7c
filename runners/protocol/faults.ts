/**
 * What went wrong with each runner process during one run: its timed-out methods and its crashes.
 * Shared by every jest worker of the run through an append-only file in the run's folder
 * (GPT2_SPEC_TMP), so that a hanging method costs one time limit in the whole run, not one per test
 * file. Without a run folder (a single command such as compare) the ledger lives in memory.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** After this many crashes of one method in a run, that method fails at once for the rest of it. */
export const METHOD_CRASHES_BEFORE_BROKEN = 2;
/** After this many crashes in all, the whole runner is broken: every remaining call fails at once. */
export const CRASHES_BEFORE_BROKEN = 8;

export interface Fault {
  kind: 'timeout' | 'crash';
  method: string;
  message: string;
}

export interface FaultSummary {
  /** The method's earlier time-out, when it had one. */
  timedOut(method: string): Fault | undefined;
  /** Crashes that count against the runner: a process that ends in dispose or shutdown has done its work. */
  crashes: Fault[];
  crashesOf(method: string): Fault[];
}

const memory = new Map<string, Fault[]>();
const ENDINGS = new Set(['dispose', 'shutdown']);

export const runKey = (label: string): string => createHash('sha256').update(label).digest('hex').slice(0, 16);

/** Where a runner's files for this run go (its faults and its stderr), or undefined outside a run. */
export function runFolder(kind: 'faults' | 'stderr'): string | undefined {
  const root = process.env.GPT2_SPEC_TMP;
  if (!root) return undefined;
  const dir = join(root, kind);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function noteFault(label: string, fault: Fault): void {
  const dir = runFolder('faults');
  if (!dir) {
    memory.set(label, [...(memory.get(label) ?? []), fault]);
    return;
  }
  // One short line per append: atomic on a local file system, so workers never interleave.
  appendFileSync(join(dir, `${runKey(label)}.jsonl`), `${JSON.stringify(fault)}\n`);
}

export function faultsOf(label: string): FaultSummary {
  const dir = runFolder('faults');
  let faults = memory.get(label) ?? [];
  const file = dir && join(dir, `${runKey(label)}.jsonl`);
  if (file && existsSync(file)) {
    faults = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Fault);
  }
  return {
    timedOut: (method) => faults.find((f) => f.kind === 'timeout' && f.method === method),
    crashes: faults.filter((f) => f.kind === 'crash' && !ENDINGS.has(f.method)),
    crashesOf: (method) => faults.filter((f) => f.kind === 'crash' && f.method === method),
  };
}

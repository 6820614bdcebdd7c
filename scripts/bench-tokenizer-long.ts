/**
 * bench-tokenizer's long mode (--long MB): the reference tokenizer on megabytes of one letter, of spaces
 * and of seeded random bytes, in process and through the command, whose output must hold the same ids.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../runners/paths';
import { loadReferenceTokenizer } from '../runners/reference/tokenizer';
import { seededRandom } from '../runners/weights/seeded';
import { decodeInput } from './cli/tokenize';
import { median } from './bench/timing';

/** The inputs, as the bytes given on standard input. */
export function longInputs(megabytes: number, seed = 1859): [label: string, bytes: Buffer][] {
  const n = Math.round(megabytes * 1e6);
  const random = seededRandom(seed);
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(random() * 256);
  return [
    ["one letter ('a')", Buffer.alloc(n, 'a')],
    ['spaces', Buffer.alloc(n, ' ')],
    ['random bytes', bytes],
  ];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * Checks that a file holds the JSON array of `ids` and a newline, reading it a megabyte at a time (the
 * array of 100 million ids is longer than the longest string V8 makes). Returns what is wrong, or ''.
 */
export function checkIdsFile(path: string, ids: readonly number[]): string {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let state: 'open' | 'first' | 'number' | 'after' | 'end' | 'done' = 'open';
    let value = -1;
    let count = 0;
    let offset = 0;
    const close = () => {
      if (value < 0) return 'an empty number';
      if (ids[count] !== value) return `id ${count} is ${value}, encode gave ${ids[count]}`;
      count++;
      value = -1;
      return '';
    };
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
      for (let i = 0; i < read; i++, offset++) {
        const c = chunk[i]!;
        let problem = '';
        if (state === 'open') {
          if (c !== 0x5b) return `byte ${offset}: expected '['`;
          state = 'first';
        } else if (c >= 0x30 && c <= 0x39 && (state === 'first' || state === 'number')) {
          value = (value < 0 ? 0 : value * 10) + (c - 0x30);
          state = 'number';
        } else if (c === 0x2c && state === 'number') {
          problem = close();
        } else if (c === 0x5d && (state === 'number' || (state === 'first' && ids.length === 0))) {
          if (state === 'number') problem = close();
          state = 'end';
        } else if (c === 0x0a && state === 'end') {
          state = 'done';
        } else {
          return `byte ${offset}: unexpected ${JSON.stringify(String.fromCharCode(c))}`;
        }
        if (problem) return problem;
      }
    }
    if (state !== 'done') return 'the output ends early';
    if (count !== ids.length) return `${count} ids, encode gave ${ids.length}`;
    return '';
  } finally {
    closeSync(fd);
  }
}

export async function benchLong(megabytes: number, repeats: number): Promise<void> {
  if (!(megabytes > 0) || !(repeats >= 1)) throw new Error('--long takes a size in megabytes, --repeats a count of at least 1');
  const cli = join(packageRoot(), 'bin/gpt2-spec.js');
  const dir = join(tmpdir(), `gpt2-spec-bench-long-${process.pid}`);
  const input = join(dir, 'input');
  const output = join(dir, 'output.json');
  console.log(`reference tokenizer, ${megabytes} MB inputs, median of ${repeats}; node ${process.version}`);
  mkdirSync(dir, { recursive: true });
  try {
    for (const [label, bytes] of longInputs(megabytes)) {
      const text = decodeInput(bytes, true);
      const encodeMs: number[] = [];
      let ids: number[] = [];
      for (let r = 0; r < repeats; r++) {
        ids = []; // let the last run's ids go first
        const fresh = loadReferenceTokenizer(); // a cold cache each time
        const start = performance.now();
        ids = fresh.encode(text);
        encodeMs.push(performance.now() - start);
      }
      writeFileSync(input, bytes);
      const cliMs: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const inFd = openSync(input, 'r');
        const outFd = openSync(output, 'w');
        const start = performance.now();
        const run = spawnSync(process.execPath, [cli, 'tokenize', '--replace-invalid'], { stdio: [inFd, outFd, 'pipe'], encoding: 'utf8' });
        cliMs.push(performance.now() - start);
        closeSync(inFd);
        closeSync(outFd);
        if (run.status !== 0) throw new Error(`${label}: tokenize exited ${run.status} (${run.signal ?? ''}): ${run.stderr}`);
      }
      const problem = checkIdsFile(output, ids);
      console.log(
        `  ${label.padEnd(18)} ${String(ids.length).padStart(10)} ids | encode ${seconds(median(encodeMs)).padStart(8)} | ` +
          `tokenize command ${seconds(median(cliMs)).padStart(8)} (runs: ${cliMs.map(seconds).join(', ')})` +
          (problem ? `\n  ! the command's output is not encode's ids: ${problem}` : ''),
      );
      if (problem) process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

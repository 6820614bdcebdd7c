/**
 * Each runner's stderr over a run, kept in the run's folder: one file per runner, its label on the
 * first line, capped in size. The report reads them back by label.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFolder, runKey } from './faults';

/** How much of a runner's stderr a run keeps, and how much of its end a report shows. */
export const STDERR_FILE_CAP_BYTES = 256 * 1024;
export const STDERR_REPORT_CHARS = 2000;

export class StderrLog {
  private readonly file?: string;
  private written = 0;

  constructor(label: string) {
    const dir = runFolder('stderr');
    if (!dir) return;
    this.file = join(dir, `${runKey(label)}.log`);
    if (!existsSync(this.file)) appendFileSync(this.file, `${JSON.stringify(label)}\n`);
  }

  append(chunk: Buffer): void {
    if (!this.file || this.written >= STDERR_FILE_CAP_BYTES) return;
    const part = chunk.subarray(0, STDERR_FILE_CAP_BYTES - this.written);
    appendFileSync(this.file, part);
    this.written += part.length;
  }
}

/** The end of each runner's stderr in this run, by label. */
export function runnerStderr(): Record<string, string> {
  const dir = runFolder('stderr');
  if (!dir) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    const text = readFileSync(join(dir, name), 'utf8');
    const newline = text.indexOf('\n');
    const body = text.slice(newline + 1);
    if (body.trim() !== '') out[JSON.parse(text.slice(0, newline)) as string] = body.slice(-STDERR_REPORT_CHARS);
  }
  return out;
}

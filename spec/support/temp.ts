/**
 * Temporary folders for tests, all inside one folder per test run (GPT2_SPEC_TMP, made by the global
 * setup and removed by the global teardown), so that a run leaves nothing behind.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): string {
  const parent = process.env.GPT2_SPEC_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, prefix));
}

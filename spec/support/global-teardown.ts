/** Jest global teardown: remove the run's temporary folder (see temp.ts). */
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.GPT2_SPEC_TMP;
  if (dir && /gpt2-spec-run-/.test(dir)) rmSync(dir, { recursive: true, force: true });
}

/** Jest global setup: probe the selected runners once and share the result with every test file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifiedFixtures } from './fixture-integrity';
import { probeRunners, STATE_ENV, writeRunnerStates } from './probe';

export default async function globalSetup(): Promise<void> {
  // Before any result: fixtures that do not match their manifest (or a manifest that is not the pinned one) stop the run.
  process.env.GPT2_SPEC_FIXTURE_IDENTITY = JSON.stringify(verifiedFixtures());
  // The command line probed the runners already, in this run's folder (scripts/cli/check.ts).
  if (process.env.GPT2_SPEC_PROBED === '1' && process.env.GPT2_SPEC_TMP && process.env[STATE_ENV]) return;
  // One folder for the run's temporary files: the test workers inherit the variable, the teardown removes it.
  process.env.GPT2_SPEC_TMP = mkdtempSync(join(tmpdir(), 'gpt2-spec-run-'));
  const path = join(mkdtempSync(join(tmpdir(), 'gpt2-spec-')), 'runners.json');
  writeRunnerStates(path, await probeRunners());
  process.env[STATE_ENV] = path;
}

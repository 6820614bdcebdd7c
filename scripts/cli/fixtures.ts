/** `gpt2-spec fixtures verify`: checks every file of the fixtures against the sha256 in the manifest. */
import { resolve } from 'node:path';
import { FixtureError } from '../../runners/errors';
import { fixturesDir, loadManifest, verifyFixtureHashes } from '../../spec/support/fixtures';
import { formatHelp, parseArgs, str, UsageError, type FlagSpec } from './args';

const FLAGS: FlagSpec[] = [{ name: 'fixtures', type: 'string', value: 'DIR', help: 'the fixtures folder (default: the shipped fixtures)' }];

export const fixturesHelp = () => formatHelp('gpt2-spec fixtures verify [--fixtures DIR]', 'Checks the sha256 of every file the fixture manifest lists.\nExit status: 0 when all match, 1 when one differs or is missing, 2 on a usage error.', FLAGS);

export async function fixtures(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify') throw new UsageError(sub ? `unknown fixtures command '${sub}': the one there is is 'verify'` : "fixtures needs a command: 'gpt2-spec fixtures verify'");
  const { flags, positional } = parseArgs(rest, FLAGS, 'gpt2-spec fixtures verify');
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  if (str(flags, 'fixtures')) process.env.GPT2_SPEC_FIXTURES = resolve(str(flags, 'fixtures')!);
  let bad: ReturnType<typeof verifyFixtureHashes>;
  try {
    bad = verifyFixtureHashes();
  } catch (e) {
    if (e instanceof FixtureError) throw new UsageError(e.message);
    throw e;
  }
  const total = Object.keys(loadManifest().files).length;
  for (const b of bad) process.stdout.write(`${b.problem}: ${b.file}\n`);
  process.stdout.write(`${total - bad.length} of ${total} fixture files match the manifest in ${fixturesDir()}\n`);
  return bad.length ? 1 : 0;
}

/**
 * `--browser [chromium]` and `--chromium PATH`, shared by check, compare and generate: the adapter
 * modules named by --runner run inside a page of headless Chromium (docs/browser.md) instead of a node.
 */
import { resolve } from 'node:path';
import { CHROMIUM_ENV } from '../../runners/browser/chromium';
import { BROWSER_PREFIX, COMMAND_PREFIX, RUNNER_FILE_SUFFIX } from '../../runners/protocol/commands';
import { builtinRunners, looksLikePath } from '../../runners/registry';
import { str, UsageError, type FlagSpec, type Flags } from './args';

const BROWSERS = ['chromium'];

export const BROWSER_FLAGS: FlagSpec[] = [
  { name: 'browser', type: 'string', value: '[chromium]', help: 'run the adapter modules given with --runner inside a page of headless Chromium (docs/browser.md)' },
  { name: 'chromium', type: 'string', value: 'PATH', help: `the Chromium to start (default: ${CHROMIUM_ENV}, else chromium on the PATH)` },
];

/** `--browser` may stand alone: it then means --browser chromium. */
export function withBrowserDefault(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]!);
    if (argv[i] === '--') {
      out.push(...argv.slice(i + 1));
      break;
    }
    if (argv[i] === '--browser' && (i + 1 >= argv.length || argv[i + 1]!.startsWith('-'))) out.push('chromium');
  }
  return out;
}

/** Sets GPT2_SPEC_CHROMIUM from --chromium, and turns each adapter module into a browser entry when --browser is given. */
export function browserRunners(flags: Flags, runners: string[]): string[] {
  const chromium = str(flags, 'chromium');
  if (chromium !== undefined) process.env[CHROMIUM_ENV] = resolve(chromium);
  const browser = str(flags, 'browser');
  if (browser === undefined) return runners;
  if (!BROWSERS.includes(browser)) throw new UsageError(`--browser ${browser}: the browsers are ${BROWSERS.join(', ')}`);
  if (runners.length === 0) throw new UsageError('--browser needs an adapter module given with --runner');
  return runners.map((r) => {
    if (Object.hasOwn(builtinRunners, r) || r.startsWith(BROWSER_PREFIX)) return r;
    if (r.startsWith(COMMAND_PREFIX) || r.endsWith(RUNNER_FILE_SUFFIX) || !looksLikePath(r)) throw new UsageError(`--browser runs adapter modules (.ts, .js, .mjs); ${r} is not one`);
    return `${BROWSER_PREFIX}${resolve(r)}`;
  });
}

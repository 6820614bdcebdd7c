/**
 * Finding Chromium, and the flags it is started with. No browser is downloaded: gpt2-spec drives the
 * Chromium installed here (`apt-get install -y chromium`), named by --chromium PATH, GPT2_SPEC_CHROMIUM,
 * or found on the PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Gpt2SpecError } from '../errors';

export const CHROMIUM_ENV = 'GPT2_SPEC_CHROMIUM';
const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
export const INSTALL_HINT = `install it (apt-get install -y chromium), or name it with --chromium PATH or ${CHROMIUM_ENV}=PATH`;

/** No Chromium here: the browser runners are unavailable, and this says how to get one. */
export class BrowserUnavailableError extends Gpt2SpecError {}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The Chromium to start: GPT2_SPEC_CHROMIUM when set (and it must be there), else the first on the PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[CHROMIUM_ENV];
  if (named) {
    if (!executable(named)) throw new BrowserUnavailableError(`${CHROMIUM_ENV}=${named} is not an executable file; ${INSTALL_HINT}`);
    return named;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  throw new BrowserUnavailableError(`no Chromium found on the PATH (${NAMES.join(', ')}); ${INSTALL_HINT}`);
}

/**
 * Headless, as root, on a closed network: no sandbox, no background connections (a refused one stalls
 * start-up), a fresh profile. `gpu` gives the page WebGL2 and WebGPU on SwiftShader, on the CPU;
 * without it the GPU process is off (wasm and JavaScript need none).
 */
export function chromiumFlags(opts: { userDataDir: string; gpu: boolean }): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-dev-shm-usage',
    '--mute-audio',
    // No crash reports. Chromium still starts its crashpad handler, outside our process group (setsid); it
    // exits by itself when the browser does (--disable-crashpad-for-testing would stop it, but breaks navigation).
    '--disable-crash-reporter',
    '--disable-breakpad',
    `--user-data-dir=${opts.userDataDir}`,
    '--remote-debugging-port=0',
    ...(opts.gpu ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu'] : ['--disable-gpu']),
    'about:blank',
  ];
}

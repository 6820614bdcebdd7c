/**
 * Loading an adapter module in this process: TypeScript or JavaScript, ESM or CommonJS, compiled with
 * esbuild so that it loads the same way everywhere. The harness never does this with an adapter under
 * test: the Node host (runners/protocol/host.ts) does it in the adapter's own process.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Gpt2Runner, Gpt2SpecAdapter } from './contract';
import { Gpt2SpecError } from './errors';

export class AdapterError extends Gpt2SpecError {}

export type RunnerFactory = () => Gpt2Runner | Promise<Gpt2Runner>;

export type AdapterModule = Gpt2SpecAdapter;

/**
 * Loads an adapter module: TypeScript or JavaScript, ESM or CommonJS. Anything but a .cjs file is first
 * compiled to one CommonJS file with esbuild (its packages left as imports), so the same adapter loads
 * the same way under jest, in the command line, and in plain Node.
 * The default export is either { name, runner?, tokenizer? } or a bare runner factory.
 */
export async function loadAdapter(path: string): Promise<AdapterModule> {
  let mod: Record<string, unknown>;
  try {
    if (path.endsWith('.cjs')) mod = require(path);
    else {
      // Once required, the compiled file is no longer needed: Node keeps the module in memory.
      const compiledFile = compileAdapter(path);
      try {
        mod = require(compiledFile);
      } finally {
        rmSync(compiledFile, { force: true });
      }
    }
  } catch (e) {
    throw new AdapterError(`adapter ${path} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  let exported: unknown = mod.default ?? mod;
  // A CommonJS module compiled from ESM puts its default export one level down.
  if (typeof exported === 'object' && exported !== null && 'default' in exported) exported = (exported as { default: unknown }).default;
  if (typeof exported === 'function') return { name: path, runner: exported as RunnerFactory };
  if (typeof exported === 'object' && exported !== null && typeof (exported as AdapterModule).name === 'string') {
    const a = exported as AdapterModule;
    if (a.runner !== undefined && typeof a.runner !== 'function') throw new AdapterError(`adapter ${path}: 'runner' must be a function returning a Gpt2Runner`);
    if (a.tokenizer !== undefined && typeof a.tokenizer !== 'function') throw new AdapterError(`adapter ${path}: 'tokenizer' must be a function returning a Gpt2Tokenizer`);
    return a;
  }
  throw new AdapterError(`adapter ${path}: the default export must be { name, runner?, tokenizer? } or a function returning a Gpt2Runner`);
}

/**
 * Compiles an adapter to one CommonJS file in the temp folder (esbuild takes milliseconds, and a fresh build
 * sees every edit, to the adapter and to the files it imports). The compiled file resolves its packages,
 * __dirname and __filename as the adapter's own file would, wherever it is written.
 */
function compileAdapter(path: string): string {
  const key = createHash('sha256').update(path).digest('hex').slice(0, 16);
  // A runner process gets a folder of its own from the harness, removed when it ends however it ends.
  const out = join(process.env.GPT2_SPEC_CHILD_TMP ?? join(tmpdir(), 'gpt2-spec-adapters'), `${basename(path).replace(/\W/g, '_')}-${key}-${process.pid}.cjs`);
  const here = JSON.stringify(dirname(path));
  const banner = [
    `__filename = ${JSON.stringify(path)}; __dirname = ${here};`,
    `module.paths.unshift(...require('node:module')._nodeModulePaths(${here}));`,
  ].join(' ');
  // esbuild is required here, not at the top, so that loading built-in runners never needs it.
  const esbuild = require('esbuild') as typeof import('esbuild');
  try {
    esbuild.buildSync({ entryPoints: [path], outfile: out, bundle: true, format: 'cjs', platform: 'node', target: 'node20', packages: 'external', banner: { js: banner }, logLevel: 'silent' });
  } catch (e) {
    // The first error, where it is: file:line:column and esbuild's message.
    const first = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw e;
    const at = first.location ? `${resolve(first.location.file)}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new AdapterError(`${at}${first.text}`);
  }
  return out;
}


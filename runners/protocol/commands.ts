/**
 * From a selection entry to the command line of a runner process:
 *   cmd:COMMAND ARGS…     a command line, split as a shell splits words (quotes group them);
 *   FILE.runner.json      a runner file: { command: [...], cwd?, env?, memoryLimitMiB? };
 *   FILE.ts/.js/.mjs/.cjs an adapter module, served by the Node host (host.ts) in a child `node`;
 *   browser:FILE          an adapter module served inside a page of headless Chromium (runners/browser/).
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AdapterError } from '../adapter-module';
import { packageRoot } from '../paths';
import { DEFAULT_MEMORY_LIMIT_MIB, isFile, type RunnerCommand } from './child';

export const COMMAND_PREFIX = 'cmd:';
/** `browser:PATH`: an adapter module run inside a page of headless Chromium (docs/browser.md). */
export const BROWSER_PREFIX = 'browser:';
export const RUNNER_FILE_SUFFIX = '.runner.json';

/** The memory limit of a runner process: GPT2_SPEC_MEMORY_LIMIT_MIB, or 4096 MiB, room for GPT-2 small twice over. */
export function memoryLimitMiB(env = process.env.GPT2_SPEC_MEMORY_LIMIT_MIB): number {
  const n = Number(env);
  return env !== undefined && env !== '' && Number.isFinite(n) && n > 0 ? n : DEFAULT_MEMORY_LIMIT_MIB;
}

/** Splits a command line into words: spaces separate, single and double quotes group, a backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new AdapterError(`the command line ${JSON.stringify(line)} has an unclosed ${quote}`);
  if (inWord) words.push(word);
  return words;
}

const isCommandEntry = (entry: string) => entry.startsWith(COMMAND_PREFIX);

/** A runner process's command for a selection entry that is not a built-in name; throws AdapterError when it names nothing usable. */
export function runnerCommand(entry: string, kind: 'runner' | 'tokenizer'): RunnerCommand {
  if (isCommandEntry(entry)) {
    const words = splitCommandLine(entry.slice(COMMAND_PREFIX.length));
    if (words.length === 0) throw new AdapterError(`'${entry}' names no command`);
    return { label: entry, command: words[0]!, args: words.slice(1), cwd: process.cwd(), env: {}, memoryLimitMiB: memoryLimitMiB() };
  }
  if (entry.startsWith(BROWSER_PREFIX)) return browserCommand(entry.slice(BROWSER_PREFIX.length), kind, { gpu: true, label: entry });
  const path = adapterPath(entry);
  if (path.endsWith(RUNNER_FILE_SUFFIX)) return runnerFile(path, entry);
  const limit = memoryLimitMiB();
  return {
    label: entry,
    command: process.execPath,
    // V8's heap gets the same limit, so that a runaway JavaScript heap ends in a clear crash, sooner.
    args: [`--max-old-space-size=${limit}`, bundledScript('host'), path, kind],
    cwd: process.cwd(),
    env: {},
    memoryLimitMiB: limit,
  };
}

function adapterPath(entry: string): string {
  const path = isAbsolute(entry) ? entry : resolve(process.cwd(), entry);
  if (!existsSync(path)) throw new AdapterError(`adapter module ${entry} does not exist`);
  if (!isFile(path)) throw new AdapterError(`${entry} is not a file`);
  return path;
}

/**
 * The browser host (runners/browser/browser-host.ts) serving an adapter module inside headless Chromium.
 * `gpu` gives the page WebGL and WebGPU on SwiftShader; without it the GPU process is off. `folder`: one
 * more folder the host serves to the page, read-only, at folder/PATH (GPT2_SPEC_BROWSER_FOLDER).
 */
export function browserCommand(entry: string, kind: 'runner' | 'tokenizer', opts: { gpu: boolean; label?: string; folder?: string }): RunnerCommand {
  const path = adapterPath(entry);
  if (path.endsWith(RUNNER_FILE_SUFFIX)) throw new AdapterError(`${entry}: a runner file cannot run in a browser; give an adapter module (.ts, .js, .mjs)`);
  return {
    label: opts.label ?? `${BROWSER_PREFIX}${entry}`,
    command: process.execPath,
    args: [bundledScript('browser-host'), path, kind, opts.gpu ? 'gpu' : 'no-gpu'],
    cwd: process.cwd(),
    env: opts.folder ? { GPT2_SPEC_BROWSER_FOLDER: resolve(opts.folder) } : {},
    // The limit counts the browser's processes too: they run in the host's process group.
    memoryLimitMiB: memoryLimitMiB(),
  };
}

function runnerFile(path: string, entry: string): RunnerCommand {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AdapterError(`runner file ${entry}: not valid JSON (${(e as Error).message})`);
  }
  const f = json as { command?: unknown; cwd?: unknown; env?: unknown; memoryLimitMiB?: unknown };
  const bad = (what: string) => new AdapterError(`runner file ${entry}: ${what}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const known = new Set(['command', 'cwd', 'env', 'memoryLimitMiB']);
  const extra = Object.keys(json).filter((k) => !known.has(k));
  if (extra.length > 0) throw bad(`unknown keys ${extra.join(', ')} (it may have command, cwd, env, memoryLimitMiB)`);
  if (!Array.isArray(f.command) || f.command.length === 0 || !f.command.every((w) => typeof w === 'string' && w !== '')) throw bad("'command' must be a non-empty list of strings");
  if (f.cwd !== undefined && typeof f.cwd !== 'string') throw bad("'cwd' must be a string");
  const env = f.env ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === 'string')) throw bad("'env' must be an object of strings");
  if (f.memoryLimitMiB !== undefined && !(typeof f.memoryLimitMiB === 'number' && f.memoryLimitMiB > 0)) throw bad("'memoryLimitMiB' must be a number > 0");
  const words = f.command as string[];
  return {
    label: entry,
    command: words[0]!,
    args: words.slice(1),
    cwd: resolve(dirname(path), (f.cwd as string | undefined) ?? '.'),
    env: env as Record<string, string>,
    memoryLimitMiB: (f.memoryLimitMiB as number | undefined) ?? memoryLimitMiB(),
  };
}

const bundles = new Map<string, string>();
/** The sources of the scripts that do not live beside this file. */
const SOURCES_ELSEWHERE: Record<string, string> = { 'browser-host': '../browser/browser-host.ts', 'tokenize-worker': '../../scripts/cli/tokenize-worker.ts' };

/**
 * The plain-JavaScript file of one of the package's own processes and threads (the Node host, the tokenizer
 * bridge's worker, the browser host, the tokenize command's second thread). The package's build puts them
 * beside its bundle in dist/; run from the TypeScript sources (under jest, or esbuild-register), they are
 * bundled once per process into the temp folder.
 */
export function bundledScript(name: 'host' | 'sync-worker' | 'browser-host' | 'tokenize-worker'): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, `${name}.js`);
  let out = bundles.get(name);
  if (!out) {
    // A build cache inside the package, not a temp file: the bundle's packages resolve from there.
    const dir = join(packageRoot(), 'node_modules', '.cache', 'gpt2-spec');
    mkdirSync(dir, { recursive: true });
    out = join(dir, `${name}.js`);
    const fresh = join(dir, `${name}-${process.pid}.js`);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const source = join(__dirname, SOURCES_ELSEWHERE[name] ?? `${name}.ts`);
    esbuild.buildSync({ entryPoints: [source], outfile: fresh, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'silent' });
    // Built afresh by each process and renamed into place: concurrent builds of the same sources agree.
    renameSync(fresh, out);
    bundles.set(name, out);
  }
  return out;
}

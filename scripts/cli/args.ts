/** A small flag parser: --name value, --name=value, repeated flags, and one clear UsageError for anything else. */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  name: string;
  /** 'boolean' flags take no value. */
  type: 'string' | 'number' | 'boolean';
  repeat?: boolean;
  value?: string;
  help: string;
}

export type Flags = Record<string, string | number | boolean | (string | number)[] | undefined>;

/** `program` is how the user calls it, e.g. 'gpt2-spec check', for the messages. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], program: string): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && arg !== '-h') throw new UsageError(`unknown flag ${arg} for '${program}' (see ${program} --help)`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown flag --${name} for '${program}' (see ${program} --help)`);
    let raw: string | undefined;
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    let value: string | number = raw;
    if (spec.type === 'number') {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} needs a number, got '${raw}'`);
    }
    if (spec.repeat) flags[name] = [...((flags[name] as (string | number)[] | undefined) ?? []), value];
    else if (flags[name] !== undefined) throw new UsageError(`--${name} given twice`);
    else flags[name] = value;
  }
  return { flags, positional };
}

export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => [`--${s.name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}${s.repeat ? ' ...' : ''}`, s.help]);
  const width = Math.max(...rows.map(([f]) => f!.length), 10) + 2;
  return [`usage: ${usage}`, '', description, '', ...(rows.length ? ['options:', ...rows.map(([f, h]) => `  ${f!.padEnd(width)}${h}`)] : []), `  ${'--help'.padEnd(width)}show this help`, ''].join('\n');
}

export const str = (f: Flags, name: string): string | undefined => f[name] as string | undefined;
export const num = (f: Flags, name: string): number | undefined => f[name] as number | undefined;
export const list = (f: Flags, name: string): string[] => (f[name] as string[] | undefined) ?? [];

/** An output file's path checked before any work is done: a report that cannot be written is a usage error, not a crash at the end. */
export function checkWritable(path: string, flag: string): void {
  const folder = dirname(resolve(path));
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(`--${flag} ${path}: cannot be written (${folder} is not a writable folder)`);
  }
  if (existsSync(path) && (statSync(path).isDirectory() || !isWritable(path))) throw new UsageError(`--${flag} ${path}: cannot be written (a folder, or read-only)`);
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TypeScript entry point of the package bundled to one JavaScript file, as `npm run build` bundles the command
 * (esbuild, a fraction of a second), once per test worker and entry: a test that starts it in a child process then
 * starts it as the built package would, instead of compiling the sources again under esbuild-register each time.
 * Built from the sources, so every edit is seen and no build is needed first.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../runners/paths';
import { bundledScript } from '../../runners/protocol/commands';

const built = new Map<string, string>();

/** The bundle of `entry` (a path from the package root), in the build cache beside the runner host's. */
export function bundled(entry: string): string {
  let out = built.get(entry);
  if (out) return out;
  // The runner host and the workers beside it: a bundle finds them in its own folder (bundledScript).
  const dir = dirname(bundledScript('host'));
  bundledScript('sync-worker');
  bundledScript('tokenize-worker');
  mkdirSync(dir, { recursive: true });
  out = join(dir, entry.replace(/\.ts$/, '.js').replace(/\//g, '-'));
  const fresh = `${out.slice(0, -'.js'.length)}-${process.pid}.js`;
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ entryPoints: [join(packageRoot(), entry)], outfile: fresh, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'silent' });
  // Built afresh by each worker and renamed into place, as bundledScript does: concurrent builds of the same sources agree.
  renameSync(fresh, out);
  built.set(entry, out);
  return out;
}

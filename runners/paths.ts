/** Where the package's own files are, wherever its code runs from (the sources, the bundle in dist/, an adapter bundle). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const isOurPackage = (dir: string): boolean => {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'gpt2-spec';
  } catch {
    return false; // another package's unreadable package.json on the way up is not ours
  }
};

let root: string | undefined;

/**
 * The folder holding gpt2-spec's package.json, found by walking up from, in turn:
 *   - this module's folder: runners/ in the sources, dist/ in the built bundle; in an adapter the registry
 *     compiled into the temp folder, the adapter's own folder (its banner sets __dirname), so that an adapter
 *     inside the checkout finds it too;
 *   - the entry script's folder and the working directory: an adapter outside the checkout that bundles
 *     these sources by a relative path has its own folder as __dirname, outside the checkout, while the
 *     command that loads it (bin/gpt2-spec.js, or jest from the checkout's node_modules) is inside it, and
 *     usually the working directory too.
 */
export function packageRoot(): string {
  if (root) return root;
  const entry = require.main?.filename ?? process.argv[1];
  const starts = [__dirname, entry ? dirname(resolve(entry)) : undefined, process.cwd()].filter((s): s is string => s !== undefined);
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (isOurPackage(dir)) return (root = dir);
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find gpt2-spec's package.json above ${[...new Set(starts)].join(', ')}`);
}

/** The fixtures folder: GPT2_SPEC_FIXTURES when set, else the checkout's fixtures/. */
export function fixturesRoot(): string {
  return resolve(process.env.GPT2_SPEC_FIXTURES ?? join(packageRoot(), 'fixtures'));
}

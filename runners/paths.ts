/** Where the package's own files are, wherever its code runs from (the sources, or the bundle in dist/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The folder holding gpt2-spec's package.json, found by walking up from this module. */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'gpt2-spec') return (root = dir);
    if (dirname(dir) === dir) throw new Error(`cannot find gpt2-spec's package.json above ${__dirname}`);
  }
}
